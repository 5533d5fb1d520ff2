/** `npm run consumer`: one consumer worker process with its ops endpoints. SIGTERM/SIGINT stop it cleanly and exit. */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { runProcess } from '../process/run.js';
import { createConsumerProcess } from './process.js';

const config = loadConfig();
const logger = createLogger(config, 'consumer');
const proc = createConsumerProcess({
  config,
  logger,
  // kafkajs gave up: exit non-zero so the supervisor restarts the process from the committed offsets.
  onFatal: () => {
    void proc.stop().finally(() => process.exit(1));
  },
});
await runProcess(proc, logger);

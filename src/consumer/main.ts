/** `npm run consumer`: one consumer worker process. SIGTERM/SIGINT stop it cleanly and exit. */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { runProcess } from '../process/run.js';
import { createConsumerWorker } from './worker.js';

const config = loadConfig();
const logger = createLogger(config, 'consumer');
const worker = createConsumerWorker({
  config,
  logger,
  // kafkajs gave up: exit non-zero so the supervisor restarts the process from the committed offsets.
  onFatal: () => {
    void worker.stop().finally(() => process.exit(1));
  },
});
await runProcess(worker, logger);

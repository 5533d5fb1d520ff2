/** `npm run consumer`: one consumer worker process with its ops endpoints. SIGTERM/SIGINT stop it cleanly and exit. */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { runProcess } from '../process/run.js';
import { createConsumerProcess } from './process.js';
import { missingNodeFlags } from './node.flags.js';

const config = loadConfig();
const logger = createLogger(config, 'consumer');
// NODE_OPTIONS is Node's own variable, not a setting of this project's (src/config.ts).
// eslint-disable-next-line no-restricted-properties
const missing = missingNodeFlags(process.execArgv, process.env.NODE_OPTIONS ?? '');
if (missing.length > 0) {
  logger.warn(
    { missing },
    'started without the Node options of src/consumer/node.flags.ts: it works, with more time in GC',
  );
}
const proc = createConsumerProcess({
  config,
  logger,
  // kafkajs gave up: exit non-zero so the supervisor restarts the process from the committed offsets.
  onFatal: () => {
    void proc.stop().finally(() => process.exit(1));
  },
});
await runProcess(proc, logger);

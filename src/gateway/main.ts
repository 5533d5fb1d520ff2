/** `npm run gateway`: one gateway process. SIGTERM/SIGINT drain it and exit. */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createGateway } from './app.js';
import { runProcess } from '../process/run.js';

const config = loadConfig();
const logger = createLogger(config, 'gateway');
await runProcess(createGateway({ config, logger }), logger);

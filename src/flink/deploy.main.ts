/**
 * `npm run flink:deploy [-- --replace [--fresh]]`: submits the processing job
 * (flink/fitbit-processing.sql) unless a job of the configured name is already alive.
 * `--replace` stops that job with a savepoint and starts the new one from it (open windows keep
 * their readings); `--fresh` cancels instead, and the new job resumes from the consumer group's
 * committed offsets with empty windows.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { deployJob, flinkClients } from './deploy.js';
import { jobSettingsFrom } from './job-sql.js';

const USAGE = 'usage: npm run flink:deploy [-- --replace [--fresh]]';
const OPTIONS = {
  replace: { type: 'boolean' },
  fresh: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number> {
  let flags: { replace?: boolean; fresh?: boolean; help?: boolean };
  try {
    // Strict: an unknown flag or a stray argument is refused, not ignored.
    flags = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.fresh && !flags.replace) {
    console.error(`--fresh only applies with --replace\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const settings = jobSettingsFrom(config);
  const started = Date.now();
  const result = await deployJob(flinkClients(config), settings, {
    replace: flags.replace === true,
    keepState: flags.fresh !== true,
    log: (m) => console.log(`[flink] ${m}`),
  });
  const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  switch (result.action) {
    case 'unchanged':
      console.log(
        `[flink] ${settings.jobName}: already ${result.state} as ${result.jobId}; nothing submitted (--replace to resubmit)`,
      );
      break;
    case 'submitted':
    case 'replaced':
      console.log(`[flink] ${settings.jobName}: ${result.action}, ${result.state} as ${result.jobId} after ${took}`);
      console.log(`[flink] ${config.flink.restUrl}/#/job/running/${result.jobId}/overview`);
      break;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = typeof err === 'object' && err !== null && 'code' in err ? ` [${String(err.code)}]` : '';
    console.error(`[flink] deploy failed${code}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

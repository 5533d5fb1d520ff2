/**
 * `npm run flink:deploy [-- --replace [--fresh]]`: submits the processing job
 * (flink/fitbit-processing.sql) unless a job of the configured name is already alive.
 * `--replace` stops that job with a savepoint and starts the new one from it (open windows keep
 * their readings); `--fresh` cancels instead, and the new job resumes from the consumer group's
 * committed offsets with empty windows.
 */
import { loadConfig } from '../config.js';
import { deployJob, flinkClients } from './deploy.js';
import { jobSettingsFrom } from './job-sql.js';

const USAGE = 'usage: npm run flink:deploy [-- --replace [--fresh]]';
const FLAGS = new Set(['--replace', '--fresh', '--help', '-h']);

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !FLAGS.has(a));
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (unknown.length > 0 || (argv.includes('--fresh') && !argv.includes('--replace'))) {
    console.error(
      `${unknown.length > 0 ? `unknown argument(s) ${unknown.join(' ')}` : '--fresh only applies with --replace'}\n${USAGE}`,
    );
    return 2;
  }
  const config = loadConfig();
  const settings = jobSettingsFrom(config);
  const started = Date.now();
  const result = await deployJob(flinkClients(config), settings, {
    replace: argv.includes('--replace'),
    keepState: !argv.includes('--fresh'),
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

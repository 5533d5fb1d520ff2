/**
 * `npm run build`: the gateway, the worker and their tools compiled to JavaScript under build/
 * (tsconfig.build.json), plus what the compiled code loads beside itself: the producer thread's
 * entry module, and the dashboard's and GraphiQL's browser assets prebuilt under dist/ (the
 * compiled gateway serves those; it does not bundle at run time). `npm start` runs build/.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

function run(title: string, command: string, args: string[]): void {
  console.log(`== ${title}`);
  const res = spawnSync(command, args, { stdio: 'inherit' });
  if (res.status !== 0) {
    console.error(`${title} failed (exit ${res.status ?? res.signal})`);
    process.exit(1);
  }
}

rmSync('build', { recursive: true, force: true });
run('compile (tsc -p tsconfig.build.json)', 'node_modules/.bin/tsc', ['-p', 'tsconfig.build.json']);
copyFileSync('src/ingest/producer.thread.boot.mjs', 'build/ingest/producer.thread.boot.mjs');
run('dashboard assets', 'node_modules/.bin/tsx', ['src/dashboard/build.main.ts']);
run('GraphiQL assets', 'node_modules/.bin/tsx', ['src/graphiql/build.main.ts']);
console.log('built: npm start (gateway), npm run start:consumer (worker)');

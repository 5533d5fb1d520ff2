/**
 * Nothing before the cluster files (the first of them brings the cluster up, see cluster.ts); after
 * the run, the cluster is stopped if the tests started it, so CI and a developer's machine end with
 * only the default stack running.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createStackContext } from '../../stack/lib/context.js';
import { stopProcess } from '../../stack/lib/process.js';
import { services } from '../../stack/services/index.js';
import { STARTED_BY_TESTS } from './cluster.js';

export default function setup(): () => Promise<void> {
  return async () => {
    const ctx = createStackContext(() => undefined, { ...process.env, STACK_PROFILE: 'cluster' });
    const note = join(ctx.paths.run, STARTED_BY_TESTS);
    if (!existsSync(note)) return;
    for (const s of [...services].reverse()) {
      if (s.stop) await s.stop(ctx);
      else for (const p of [...s.processes(ctx)].reverse()) await stopProcess(ctx.paths, p);
    }
    rmSync(note, { force: true });
    console.log('[cluster] stopped (it was started by the tests)');
  };
}

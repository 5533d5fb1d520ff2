/**
 * Brings the cluster profile up before the cluster tests (fetching nothing new: the artifacts are
 * the default stack's) and stops it afterwards, unless it was already running when the run began,
 * in which case it is left as it was found.
 */
import { bringUp, createStackContext } from '../../stack/lib/context.js';
import { runningPid } from '../../stack/lib/process.js';
import { services } from '../../stack/services/index.js';
import { useClusterEnvironment } from './environment.js';

export default async function setup(): Promise<() => Promise<void>> {
  useClusterEnvironment();
  const ctx = createStackContext((m) => console.log(`[cluster] ${m}`));
  const wasRunning = services.every((s) => s.processes(ctx).every((p) => runningPid(ctx.paths, p) !== undefined));
  const started = Date.now();
  for (const s of services) await s.fetch(ctx);
  // One service after another: too many JVMs starting at once on two cores miss their RPC
  // systems' start-up timeouts.
  for (const s of services) {
    try {
      await bringUp(ctx, s);
    } catch (err) {
      throw new Error(`the cluster is not up: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  console.log(`[cluster] up in ${((Date.now() - started) / 1000).toFixed(1)} s (${ctx.paths.root})`);
  return async () => {
    if (wasRunning) return;
    for (const s of [...services].reverse()) await s.stop?.(ctx);
    console.log('[cluster] stopped');
  };
}

/**
 * Before integration, end-to-end, fault and browser tests: make sure the real stack is up (fetching
 * artifacts on a fresh machine). Idempotent and quick when `npm run stack:up` already ran; the stack
 * is left running afterwards (`npm run stack:down` stops it).
 */
import { bringUp, createStackContext } from '../stack/lib/context.js';
import { services } from '../stack/services/index.js';

export default async function setup(): Promise<void> {
  const ctx = createStackContext((m) => console.log(`[stack] ${m}`));
  for (const s of services) await s.fetch(ctx);
  const results = await Promise.allSettled(services.map((s) => bringUp(ctx, s)));
  const failed = results.flatMap((r) =>
    r.status === 'rejected' ? [String(r.reason instanceof Error ? r.reason.message : r.reason)] : [],
  );
  if (failed.length > 0) throw new Error(`the stack is not up:\n${failed.join('\n')}`);
}

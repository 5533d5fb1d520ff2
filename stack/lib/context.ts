/** The stack's context from the environment, for the CLI and for tests that stop and restart services. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { stackPaths, waitUntilReady } from './process.js';
import type { ServiceDefinition, StackContext } from './service.js';

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function createStackContext(
  log: (m: string) => void = (m) => console.log(`[stack] ${m}`),
  env?: Record<string, string | undefined>,
): StackContext {
  const config = loadConfig(env);
  return { config, paths: stackPaths(config.stack.dir, config.stack.distDir), repoDir, log };
}

/** Starts one service (if needed) and waits until it answers and its setup ran. */
export async function bringUp(ctx: StackContext, s: ServiceDefinition): Promise<number> {
  const started = Date.now();
  await s.start(ctx);
  await waitUntilReady(ctx.paths, s.name, () => s.probe(ctx), s.startTimeoutMs, s.processes(ctx));
  await s.afterStart?.(ctx);
  return Date.now() - started;
}

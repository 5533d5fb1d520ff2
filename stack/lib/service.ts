/**
 * What every service of the local stack provides. `stack/cli.ts` drives them: fetch artifacts,
 * start (unless already running), wait until a real request succeeds, then any post-start setup.
 */
import type { Config } from '../../src/config.js';
import type { Paths } from './process.js';

export interface StackContext {
  config: Config;
  paths: Paths;
  /** Repository root (where package.json lives). */
  repoDir: string;
  log: (message: string) => void;
}

export interface ServiceDefinition {
  /** Short name, also the prefix of its pid and log files. */
  name: string;
  /** Names of the processes it starts (pid files under run/, logs under logs/). */
  processes(ctx: StackContext): string[];
  /** Makes the artifacts available locally; a second call downloads nothing. */
  fetch(ctx: StackContext): Promise<void>;
  /** Starts whatever is not running yet. Must not start a second copy. */
  start(ctx: StackContext): Promise<void>;
  /** Resolves once the service answers a real request; rejects with a readable reason otherwise. */
  probe(ctx: StackContext): Promise<void>;
  /** How long `probe` may keep failing after start before the start counts as failed. */
  startTimeoutMs: number;
  /** Setup that needs the running service (topics, databases). Idempotent. */
  afterStart?(ctx: StackContext): Promise<void>;
  /** Where it listens, for the summary that `stack:up` prints. */
  endpoints(ctx: StackContext): Record<string, string>;
  /** Stops what this stack started (by recorded pid). Defaults to stopping `processes()` in reverse. */
  stop?(ctx: StackContext): Promise<void>;
}

/**
 * The environment of the cluster tests and the soak: the cluster profile, its own state folder,
 * and the artifacts of the default stack. Whatever STACK_DIR names is taken as the default stack
 * (the artifacts' home), never as the cluster's state, so the two stacks cannot share pid files.
 */
import { join, resolve } from 'node:path';

export const REPO_DIR = resolve(import.meta.dirname, '..', '..');

export function clusterEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const defaultStackDir = env.STACK_DIR ?? join(REPO_DIR, '.stack');
  return {
    STACK_PROFILE: 'cluster',
    STACK_DIR: env.CLUSTER_STACK_DIR ?? join(REPO_DIR, '.stack-cluster'),
    STACK_DIST_DIR: env.STACK_DIST_DIR ?? join(defaultStackDir, 'dist'),
  };
}

/** Sets the cluster's environment on this process (global setup, the soak), before any config is read. */
export function useClusterEnvironment(): void {
  Object.assign(process.env, clusterEnvironment());
}

/**
 * Benchmarked gateways run as deployed: NODE_ENV=production (graphql-js skips its development
 * checks, GraphiQL and introspection are off) with authentication on. The rate limit is off because
 * one load generator is one subject.
 */
import { signToken } from '../../src/auth/sign.js';
import { CONSUMER_NODE_FLAGS } from '../../src/consumer/node.flags.js';

const secret = 'bench-secret-bench-secret-bench-secret';

export const productionEnv: Record<string, string> = {
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: secret,
  RATE_LIMIT_PER_SECOND: '0',
};

/** An admin token the gateways started with `productionEnv` accept. */
export function benchToken(): Promise<string> {
  return signToken({ sub: 'bench-client', roles: ['admin'] }, { secret });
}

/** Space-separated Node options as a list (BENCH_*_NODE_FLAGS). */
function nodeFlagsOf(value: string): string[] {
  return value.split(' ').filter(Boolean);
}

/**
 * Node options for every benchmarked gateway (and the reads bench's bare handler), from
 * BENCH_GATEWAY_NODE_FLAGS (space-separated, e.g. `--max-semi-space-size=64`): to compare V8
 * settings in the same run. None by default: gateways run with Node's defaults.
 */
export const gatewayNodeFlags: readonly string[] = nodeFlagsOf(process.env.BENCH_GATEWAY_NODE_FLAGS ?? '');

/**
 * BENCH_CPU_PROF_DIR=<dir>: every benchmarked process (gateways, workers, the query bench's gateway
 * child) writes a V8 CPU profile into dir when it exits, for `--cpu-prof` analysis.
 */
export const profileNodeFlags: readonly string[] = process.env.BENCH_CPU_PROF_DIR
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`]
  : [];

/**
 * Node options for every benchmarked consumer worker: the ones it is deployed with
 * (src/consumer/node.flags.ts) unless BENCH_WORKER_NODE_FLAGS replaces them (space-separated, ''
 * for Node's defaults), to compare V8 settings in the same run.
 */
export const workerNodeFlags: readonly string[] =
  process.env.BENCH_WORKER_NODE_FLAGS === undefined
    ? CONSUMER_NODE_FLAGS
    : nodeFlagsOf(process.env.BENCH_WORKER_NODE_FLAGS);

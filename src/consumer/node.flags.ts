/**
 * The Node options the consumer worker process runs with: every launcher of `src/consumer/main.ts`
 * (package.json's `consumer` and `start:consumer`, compose.yml, `npm run dev`, the benchmarks'
 * processes) passes these; tests/unit/consumer-node-flags.test.ts holds the static ones to this list.
 *
 * Why a larger young generation: a fetched batch (up to CONSUMER_MAX_BYTES_PER_PARTITION, about
 * 16,000 messages) stays alive from the fetch until its COPY has committed, with its kafkajs
 * message objects and planned rows. With V8's default 16 MiB semi-spaces a scavenge came four or
 * five times per batch and found nearly all of the young generation alive, so it copied the batch
 * again each time (then promoted it): 55 scavenges of 5-120 ms, a quarter of the wall time, for
 * 200,000 readings. With 64 MiB there were 12, half the pause time in all, and the worker spent
 * about a quarter less CPU a row and stored 10-30% more rows a second (bench/ANALYSIS.md, worker).
 * The cost is resident memory: at most 2 x (64 - 16) = 96 MiB more young generation per process.
 *
 * V8 reads these once, when it sets the heap up: `v8.setFlagsFromString` at run time does not
 * resize it, so they belong on the command line (or NODE_OPTIONS).
 */
export const CONSUMER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * The flags of `wanted` (CONSUMER_NODE_FLAGS unless given) this process was not started with,
 * neither on its command line nor in NODE_OPTIONS: the worker logs them at start, since it then
 * runs slower, not wrong; the worker bench starts itself again with them.
 */
export function missingNodeFlags(
  execArgv: readonly string[],
  nodeOptions: string,
  wanted: readonly string[] = CONSUMER_NODE_FLAGS,
): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)]);
  return wanted.filter((f) => !given.has(f));
}

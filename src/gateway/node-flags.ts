/**
 * The Node options a gateway process runs with, on top of the launcher's own.
 *
 * `--max-semi-space-size=64` (MiB; V8's default here is 16): a `series` or `seriesColumns` answer
 * of 1,440 points allocates 1-2 MB on its way through pg, graphql-jit and JSON, and 16 requests in
 * flight fill a default young generation every few requests while their data is still alive, so
 * every scavenge copies it and promotes much of it to the old generation. With room for a few
 * dozen requests most of it dies young: the gateway's CPU a `seriesColumns` request fell by about
 * a fifth in bench/query.bench.ts (bench/ANALYSIS.md, "query"), for up to about 150 MiB more
 * resident memory at peak. The consumer worker gained nothing from it (its batches wait in the
 * write lanes and survive anyway), so it keeps the defaults.
 *
 * V8 lays out its heap when the process starts (`v8.setFlagsFromString` cannot change this
 * later), so every launcher passes them: package.json (`start`, `gateway`), compose.yml,
 * scripts/dev.ts and the benchmarks' gateways. tests/unit/node-flags.test.ts keeps the literal
 * copies in package.json and compose.yml equal to this list.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * Trino 476 started without the Python launcher: one JVM (a coordinator that also runs tasks) in
 * the default profile; a coordinator that only plans plus a worker in the cluster profile.
 *
 * Layout: the server from stack/trino/pom.xml under `.stack/dist/trino` (lib/, plugin/), and a
 * generated etc/ under `.stack/data/trino` (config.properties, log.properties, catalog/ copied from
 * the repository's trino/catalog on every start). Node properties go on the command line as -D
 * flags, as Trino's launcher does. Catalog files read their hosts from environment variables
 * (`${ENV:...}`), which the start sets from the project configuration; compose.yml sets the same
 * variables for its containers.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import { findJdk, javaBin } from '../lib/java.js';
import { fetchWithMaven } from '../lib/maven.js';
import { marker, runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';

const NAME = 'trino';
/** Trino 476 is compiled for Java 24 and refuses older runtimes. */
const MIN_JAVA_MAJOR = 24;

/** One Trino server: the coordinator, or a worker that registers with it. */
export interface TrinoNode {
  /** Process name: `trino` for the coordinator, `trino-worker` (then `-2`, `-3`...) for workers. */
  name: string;
  coordinator: boolean;
  port: number;
  nodeId: string;
}

/** The coordinator, then `trino.workers` workers on consecutive ports from `trino.workerPort`. */
export function trinoNodes(config: Config): TrinoNode[] {
  const workers = Array.from({ length: config.trino.workers }, (_, i) => ({
    name: i === 0 ? `${NAME}-worker` : `${NAME}-worker-${i + 1}`,
    coordinator: false,
    port: config.trino.workerPort + i,
    nodeId: `fitbit-local-worker-${i + 1}`,
  }));
  return [{ name: NAME, coordinator: true, port: config.trino.port, nodeId: 'fitbit-local-1' }, ...workers];
}

function dirs(ctx: StackContext, node: TrinoNode = trinoNodes(ctx.config)[0] as TrinoNode) {
  const dist = join(ctx.paths.dist, NAME);
  // The coordinator keeps the folder it always had, so an existing stack keeps its state.
  const home = node.coordinator ? join(ctx.paths.data, NAME) : join(ctx.paths.data, node.name);
  return {
    dist,
    lib: join(dist, 'lib'),
    plugins: join(dist, 'plugin'),
    home,
    etc: join(home, 'etc'),
    catalogs: join(home, 'etc', 'catalog'),
    nodeData: join(home, 'node'),
  };
}

/** The JDK to run Trino with: TRINO_JAVA_HOME, else the newest suitable one under /usr/lib/jvm. */
export function trinoJavaHome(
  config: Config,
  search: () => string | undefined = () => findJdk(MIN_JAVA_MAJOR),
): string {
  const home = config.stack.trinoJavaHome ?? search();
  if (!home) {
    throw new Error(
      `Trino 476 needs Java ${MIN_JAVA_MAJOR} or newer and none was found under /usr/lib/jvm; ` +
        'install one (e.g. Temurin 25) or set TRINO_JAVA_HOME',
    );
  }
  return home;
}

export interface PostgresJdbc {
  url: string;
  user: string;
  password: string;
}

/**
 * postgres://user:pass@host:port/db?sslmode=... -> what the PostgreSQL connector wants. User and
 * password leave the URL because the catalog file takes them as separate properties; query
 * parameters are kept, since pgjdbc names them as libpq does (sslmode, application_name...).
 */
export function postgresJdbc(databaseUrl: string): PostgresJdbc {
  const u = new URL(databaseUrl);
  const host = u.hostname || '127.0.0.1';
  const port = u.port || '5432';
  const database = u.pathname.replace(/^\//, '') || 'postgres';
  return {
    url: `jdbc:postgresql://${host}:${port}/${database}${u.search}`,
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
  };
}

/** The variables that trino/catalog/*.properties substitute (`${ENV:...}`). */
export function catalogEnvironment(config: Config, repoDir: string): Record<string, string> {
  const pg = postgresJdbc(config.postgres.url);
  return {
    TRINO_PG_JDBC_URL: pg.url,
    TRINO_PG_USER: pg.user,
    TRINO_PG_PASSWORD: pg.password,
    TRINO_KAFKA_NODES: config.kafka.brokers.join(','),
    TRINO_KAFKA_TABLE_DIR: join(repoDir, 'trino', 'kafka'),
    TRINO_LAKE_WAREHOUSE: `s3://${config.lake.s3.bucket}/warehouse`,
    TRINO_S3_ENDPOINT: config.lake.s3.endpoint,
    TRINO_S3_REGION: config.lake.s3.region,
    TRINO_S3_ACCESS_KEY: config.lake.s3.accessKey,
    TRINO_S3_SECRET_KEY: config.lake.s3.secretKey,
  };
}

function writeEtc(ctx: StackContext, node: TrinoNode): void {
  const d = dirs(ctx, node);
  const { host, port } = ctx.config.trino;
  mkdirSync(d.catalogs, { recursive: true });
  mkdirSync(d.nodeData, { recursive: true });
  writeFileSync(
    join(d.etc, 'config.properties'),
    [
      `coordinator=${node.coordinator}`,
      // With workers, the coordinator only plans and schedules, as in a production cluster.
      ...(node.coordinator ? [`node-scheduler.include-coordinator=${ctx.config.trino.workers === 0}`] : []),
      `http-server.http.port=${node.port}`,
      `discovery.uri=http://${host}:${port}`,
      // Sized for a 2 GB heap on a shared 2-core machine: the aggregates read one metric over a
      // bounded range, so a query past these limits is a mistake to stop, not to spill.
      'query.max-memory=1GB',
      'query.max-memory-per-node=768MB',
      '',
    ].join('\n'),
  );
  writeFileSync(join(d.etc, 'log.properties'), ['io.trino=INFO', 'io.airlift=WARN', ''].join('\n'));
  // Copied, not linked, so the running server keeps the set it started with even while the
  // repository's files are edited; a catalog removed from the repository disappears here too.
  for (const f of readdirSync(d.catalogs)) rmSync(join(d.catalogs, f), { force: true });
  const source = join(ctx.repoDir, 'trino', 'catalog');
  for (const f of readdirSync(source).filter((n) => n.endsWith('.properties'))) {
    copyFileSync(join(source, f), join(d.catalogs, f));
  }
}

/** JVM flags from Trino's container image (jvm.config), plus the node properties. */
function jvmArgs(ctx: StackContext, node: TrinoNode): string[] {
  const d = dirs(ctx, node);
  // A coordinator that runs no tasks needs less, but still query.max-memory-per-node plus Trino's 30% headroom.
  const heap = node.coordinator && ctx.config.trino.workers > 0 ? '-Xmx1536M' : '-Xmx2G';
  return [
    marker(node.name),
    heap,
    '-XX:InitialRAMPercentage=2',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:+HeapDumpOnOutOfMemoryError',
    `-XX:HeapDumpPath=${d.home}`,
    '-XX:-OmitStackTraceInFastThrow',
    '-XX:ReservedCodeCacheSize=256M',
    '-XX:PerMethodRecompilationCutoff=10000',
    '-XX:PerBytecodeRecompilationCutoff=10000',
    '-Djdk.attach.allowAttachSelf=true',
    '-Djdk.nio.maxCachedBufferSize=2000000',
    '-XX:+EnableDynamicAgentLoading',
    '-XX:+UnlockDiagnosticVMOptions',
    '-XX:G1NumCollectionsKeepPinned=10000000',
    // Silences the JDK 24+ warnings about JNA and Unsafe that would otherwise open every log.
    '--enable-native-access=ALL-UNNAMED',
    '--sun-misc-unsafe-memory-access=allow',
    '-Dfile.encoding=UTF-8',
    '-Dnode.environment=fitbit_local',
    `-Dnode.id=${node.nodeId}`,
    `-Dnode.data-dir=${d.nodeData}`,
    `-Dconfig=${join(d.etc, 'config.properties')}`,
    `-Dlog.levels-file=${join(d.etc, 'log.properties')}`,
    `-Dcatalog.config-dir=${d.catalogs}`,
    `-Dplugin.dir=${d.plugins}`,
    '-cp',
    `${d.lib}/*`,
    'io.trino.server.TrinoServer',
  ];
}

interface StatementPage {
  nextUri?: string;
  data?: unknown[][];
  error?: { message: string; errorName?: string };
}

/**
 * Runs one statement over the REST protocol and returns its rows. The probe does not use
 * src/trino so that the stack stays usable when the gateway's code does not compile.
 */
async function runStatement(server: string, sql: string, timeoutMs: number): Promise<unknown[][]> {
  const signal = AbortSignal.timeout(timeoutMs);
  const headers = { 'X-Trino-User': 'fitbit-stack', 'X-Trino-Source': 'fitbit-stack-probe' };
  let res = await fetch(`${server}/v1/statement`, { method: 'POST', body: sql, headers, signal });
  const rows: unknown[][] = [];
  for (;;) {
    if (!res.ok) throw new Error(`${new URL(res.url).pathname} answered HTTP ${res.status}`);
    const page = (await res.json()) as StatementPage;
    if (page.error) throw new Error(`${page.error.errorName ?? 'error'}: ${page.error.message}`);
    rows.push(...(page.data ?? []));
    if (!page.nextUri) return rows;
    res = await fetch(page.nextUri, { headers, signal });
  }
}

/** Starts one server unless it runs; the fault tests use it to bring back a worker they killed. */
export function startTrinoNode(ctx: StackContext, node: TrinoNode): void {
  if (runningPid(ctx.paths, node.name) !== undefined) return;
  const d = dirs(ctx, node);
  for (const needed of [d.lib, ...['postgresql', 'kafka', 'iceberg'].map((p) => join(d.plugins, p))]) {
    if (!existsSync(needed)) throw new Error(`trino: ${needed} is missing; run \`npm run stack:fetch\` first`);
  }
  writeEtc(ctx, node);
  spawnDetached(ctx.paths, {
    name: node.name,
    command: javaBin(trinoJavaHome(ctx.config)),
    args: jvmArgs(ctx, node),
    cwd: d.home,
    env: catalogEnvironment(ctx.config, ctx.repoDir),
  });
}

/** Workers the coordinator counts as active. */
export async function activeTrinoWorkers(server: string): Promise<number> {
  const rows = await runStatement(
    server,
    "SELECT count(*) FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'",
    10_000,
  );
  return Number(rows[0]?.[0] ?? 0);
}

export const trino: ServiceDefinition = {
  name: NAME,
  // Cold start is 15-20 s on an idle 2-core machine; it takes far longer while Kafka and Flink
  // start beside it and compete for the same cores.
  startTimeoutMs: 600_000,
  processes: (ctx) => trinoNodes(ctx.config).map((n) => n.name),
  async fetch(ctx) {
    await fetchWithMaven(join(ctx.repoDir, 'stack', 'trino', 'pom.xml'), dirs(ctx).dist, ctx.log);
  },
  async start(ctx) {
    for (const node of trinoNodes(ctx.config)) startTrinoNode(ctx, node);
  },
  async probe(ctx) {
    const server = ctx.config.trino.server;
    const info = await fetch(`${server}/v1/info`, { signal: AbortSignal.timeout(2_000) });
    if (!info.ok) throw new Error(`/v1/info answered HTTP ${info.status}`);
    if (((await info.json()) as { starting?: boolean }).starting !== false) throw new Error('Trino is still starting');
    const workers = ctx.config.trino.workers;
    if (workers > 0) {
      const active = await activeTrinoWorkers(server);
      if (active < workers) throw new Error(`${active} of ${workers} Trino workers active yet`);
    }
    const rows = await runStatement(server, 'SELECT 1', 10_000);
    if (rows[0]?.[0] !== 1) throw new Error(`SELECT 1 returned ${JSON.stringify(rows)}`);
  },
  endpoints(ctx) {
    const workers = trinoNodes(ctx.config).filter((n) => !n.coordinator);
    return {
      http: ctx.config.trino.server,
      ui: `${ctx.config.trino.server}/ui/`,
      ...(workers.length > 0
        ? { workers: workers.map((w) => `http://${ctx.config.trino.host}:${w.port}`).join(',') }
        : {}),
    };
  },
  async stop(ctx) {
    // SIGTERM runs Trino's shutdown hooks (queries fail fast, no grace period needed here).
    for (const node of [...trinoNodes(ctx.config)].reverse()) await stopProcess(ctx.paths, node.name, 20_000);
  },
};

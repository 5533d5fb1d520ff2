/**
 * Apache Flink 1.20 as local JVMs: a standalone session JobManager, one TaskManager (two in the
 * cluster profile, each with its own RPC and data ports, picked by the OS) and the SQL Gateway, all on loopback and all running from the one `lib/` that stack/flink/pom.xml
 * assembles (flink-dist is not on the reachable Maven mirror, so there are no Flink shell scripts
 * either). Everything the scripts would have computed is written out here instead: the conf dir,
 * the memory flags and the JDK 17 module flags.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchWithMaven } from '../lib/maven.js';
import { javaBin } from '../lib/java.js';
import { logFile, marker, runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';

const NAME = 'flink';
const JOBMANAGER = 'flink-jobmanager';
const TASKMANAGER = 'flink-taskmanager';
const SQL_GATEWAY = 'flink-sql-gateway';

const MAIN_CLASS: Record<string, string> = {
  [JOBMANAGER]: 'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint',
  [TASKMANAGER]: 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner',
  [SQL_GATEWAY]: 'org.apache.flink.table.gateway.SqlGateway',
};

/**
 * Flink's own `env.java.opts.all` for JDK 17: Kryo, the planner's code generation and the RPC
 * layer reflect into these packages and fail at runtime (not at start) without them.
 */
const JDK17_FLAGS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.net=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.text=ALL-UNNAMED',
  '--add-opens=java.base/java.time=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
];

/**
 * Memory budget in MiB. The TaskManager's components add up to about 1.4 GiB of process memory;
 * its -Xmx is framework + task heap and its direct memory limit is the off-heap parts plus the
 * network buffers, which is the arithmetic Flink's BashJavaUtils would have done.
 */
const MEMORY = {
  jobManager: { heap: 512, offHeap: 128, metaspace: 256, overhead: 192 },
  taskManager: {
    frameworkHeap: 128,
    taskHeap: 512,
    frameworkOffHeap: 128,
    taskOffHeap: 0,
    network: 64,
    // Only RocksDB state and batch operators use managed memory; this job keeps heap state.
    managed: 128,
    metaspace: 256,
    overhead: 192,
  },
  sqlGatewayHeap: 512,
} as const;

function dirs(ctx: StackContext) {
  const dist = join(ctx.paths.dist, NAME);
  const home = join(ctx.paths.data, NAME);
  return {
    dist,
    lib: join(dist, 'lib'),
    home,
    conf: join(home, 'conf'),
    checkpoints: join(home, 'checkpoints'),
    savepoints: join(home, 'savepoints'),
    tmp: join(home, 'tmp'),
    plugins: join(home, 'plugins'),
    templates: join(ctx.repoDir, 'stack', 'flink', 'conf'),
  };
}

function hostAndPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

/** Replaces every `${NAME}` in a template; a name without a value is a bug in this file, so it throws. */
function render(template: string, values: Record<string, string | number>, file: string): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${file}: no value for \${${key}}`);
    return String(v);
  });
}

function writeConf(ctx: StackContext): void {
  const d = dirs(ctx);
  for (const dir of [d.conf, d.checkpoints, d.savepoints, d.tmp, d.plugins]) mkdirSync(dir, { recursive: true });
  const rest = hostAndPort(ctx.config.flink.restUrl);
  const gateway = hostAndPort(ctx.config.flink.sqlGatewayUrl);
  const jm = MEMORY.jobManager;
  const tm = MEMORY.taskManager;
  const mb = (n: number): string => `${n}m`;
  const values = {
    HOST: rest.host,
    RPC_PORT: ctx.config.flink.rpcPort,
    REST_PORT: rest.port,
    SQL_GATEWAY_HOST: gateway.host,
    SQL_GATEWAY_PORT: gateway.port,
    JM_HEAP: mb(jm.heap),
    JM_OFF_HEAP: mb(jm.offHeap),
    JM_METASPACE: mb(jm.metaspace),
    JM_OVERHEAD: mb(jm.overhead),
    TM_SLOTS: ctx.config.flink.taskSlots,
    HEARTBEAT_TIMEOUT_MS: ctx.config.flink.taskManagers > 1 ? 15_000 : 50_000,
    TM_CPU_CORES: 2,
    TM_FRAMEWORK_HEAP: mb(tm.frameworkHeap),
    TM_TASK_HEAP: mb(tm.taskHeap),
    TM_FRAMEWORK_OFF_HEAP: mb(tm.frameworkOffHeap),
    TM_TASK_OFF_HEAP: mb(tm.taskOffHeap),
    TM_NETWORK: mb(tm.network),
    TM_MANAGED: mb(tm.managed),
    TM_METASPACE: mb(tm.metaspace),
    TM_OVERHEAD: mb(tm.overhead),
    PARALLELISM: ctx.config.flink.parallelism,
    CHECKPOINT_DIR: `file://${d.checkpoints}`,
    SAVEPOINT_DIR: `file://${d.savepoints}`,
    TMP_DIR: d.tmp,
    JAVA_OPTS: JDK17_FLAGS.join(' '),
  };
  for (const file of ['config.yaml', 'log4j-console.properties']) {
    const template = readFileSync(join(d.templates, file), 'utf8');
    writeFileSync(join(d.conf, file), render(template, values, file));
  }
}

/** `flink-taskmanager` when the stack runs one, `flink-taskmanager-<n>` when it runs several. */
export function taskManagerNames(ctx: StackContext): string[] {
  const n = ctx.config.flink.taskManagers;
  return n === 1 ? [TASKMANAGER] : Array.from({ length: n }, (_, i) => `${TASKMANAGER}-${i + 1}`);
}

const processNames = (ctx: StackContext): string[] => [JOBMANAGER, ...taskManagerNames(ctx), SQL_GATEWAY];

const role = (name: string): string => (name.startsWith(TASKMANAGER) ? TASKMANAGER : name);

function jvmArgs(ctx: StackContext, name: string): string[] {
  const d = dirs(ctx);
  const tm = MEMORY.taskManager;
  const memory: Record<string, string[]> = {
    [JOBMANAGER]: [
      `-Xms${MEMORY.jobManager.heap}m`,
      `-Xmx${MEMORY.jobManager.heap}m`,
      `-XX:MaxDirectMemorySize=${MEMORY.jobManager.offHeap}m`,
      `-XX:MaxMetaspaceSize=${MEMORY.jobManager.metaspace}m`,
    ],
    [TASKMANAGER]: [
      `-Xms${tm.frameworkHeap + tm.taskHeap}m`,
      `-Xmx${tm.frameworkHeap + tm.taskHeap}m`,
      `-XX:MaxDirectMemorySize=${tm.frameworkOffHeap + tm.taskOffHeap + tm.network}m`,
      `-XX:MaxMetaspaceSize=${tm.metaspace}m`,
    ],
    [SQL_GATEWAY]: [`-Xmx${MEMORY.sqlGatewayHeap}m`],
  };
  return [
    marker(name),
    ...(memory[role(name)] ?? []),
    '-XX:+UseG1GC',
    ...JDK17_FLAGS,
    '-Djava.awt.headless=true',
    `-Djava.io.tmpdir=${d.tmp}`,
    `-Dlog4j.configurationFile=file:${join(d.conf, 'log4j-console.properties')}`,
    // Read-only use: the web UI serves this file under "Logs"; log4j itself writes to stdout.
    `-Dlog.file=${logFile(ctx.paths, name)}`,
    '-cp',
    `${d.lib}/*`,
  ];
}

function processArgs(ctx: StackContext, name: string): string[] {
  const main = MAIN_CLASS[role(name)];
  if (main === undefined) throw new Error(`unknown Flink process ${name}`);
  // The SQL Gateway takes its conf dir from FLINK_CONF_DIR only; the cluster entry points want the flag.
  return name === SQL_GATEWAY
    ? [...jvmArgs(ctx, name), main]
    : [...jvmArgs(ctx, name), main, '--configDir', dirs(ctx).conf];
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

export const flink: ServiceDefinition = {
  name: NAME,
  // Three JVMs starting at once on two cores; the TaskManager registers a few seconds after the JobManager.
  startTimeoutMs: 300_000,
  processes: (ctx) => processNames(ctx),
  async fetch(ctx) {
    await fetchWithMaven(join(ctx.repoDir, 'stack', 'flink', 'pom.xml'), dirs(ctx).dist, ctx.log);
  },
  async start(ctx) {
    const missing = processNames(ctx).filter((p) => runningPid(ctx.paths, p) === undefined);
    if (missing.length === 0) return;
    const d = dirs(ctx);
    writeConf(ctx);
    // The TaskManager retries its JobManager connection, so all three can start together.
    for (const name of missing) {
      spawnDetached(ctx.paths, {
        name,
        command: javaBin(ctx.config.stack.javaHome),
        args: processArgs(ctx, name),
        cwd: d.home,
        env: { FLINK_CONF_DIR: d.conf, FLINK_PLUGINS_DIR: d.plugins, FLINK_LIB_DIR: d.lib },
      });
    }
  },
  async probe(ctx) {
    const overview = (await getJson(`${ctx.config.flink.restUrl}/overview`)) as { taskmanagers?: number };
    const wanted = ctx.config.flink.taskManagers;
    if ((overview.taskmanagers ?? 0) < wanted) {
      throw new Error(`JobManager is up but ${overview.taskmanagers ?? 0} of ${wanted} TaskManagers have registered`);
    }
    await getJson(`${ctx.config.flink.sqlGatewayUrl}/v1/info`);
  },
  endpoints(ctx) {
    return {
      'rest / web ui': ctx.config.flink.restUrl,
      'sql gateway': ctx.config.flink.sqlGatewayUrl,
      rpc: `${hostAndPort(ctx.config.flink.restUrl).host}:${ctx.config.flink.rpcPort}`,
    };
  },
  async stop(ctx) {
    // Gateway first (it holds sessions), then the TaskManagers, so the JobManager sees them leave cleanly.
    for (const name of [...processNames(ctx)].reverse()) await stopProcess(ctx.paths, name, 20_000);
  },
};

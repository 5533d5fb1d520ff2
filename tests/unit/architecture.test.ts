/**
 * The layering of src/ as a test: which folder may import which (docs/architecture.md draws the
 * same table), no cycles between folders, and the drivers only in their adapters. Reads the
 * sources' import lines; nothing runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Folder -> the folders it may import. Root modules (config, errors, logger) are open to all. */
const ALLOWED: Record<string, readonly string[]> = {
  domain: [],
  http: [],
  process: [],
  health: [],
  auth: ['domain'],
  kafka: ['domain', 'health'],
  timescale: ['domain', 'health'],
  trino: ['domain', 'health'],
  flink: ['health'],
  limits: ['auth', 'domain'],
  live: ['auth', 'domain', 'kafka', 'limits'],
  ingest: ['domain', 'kafka'],
  metrics: ['http', 'ingest', 'live', 'trino'],
  status: ['flink', 'health', 'kafka'],
  consumer: ['domain', 'http', 'kafka', 'metrics', 'process', 'timescale'],
  privacy: ['domain', 'kafka', 'timescale'],
  resolvers: ['auth', 'domain', 'health', 'ingest', 'live', 'metrics', 'privacy', 'status', 'timescale', 'trino'],
  schema: ['live', 'resolvers'],
  graphiql: ['http'],
  demo: ['auth', 'domain', 'kafka'],
  gateway: [
    'auth',
    'domain',
    'flink',
    'graphiql',
    'health',
    'http',
    'ingest',
    'kafka',
    'limits',
    'live',
    'metrics',
    'privacy',
    'process',
    'resolvers',
    'schema',
    'status',
    'timescale',
    'trino',
  ],
};

/** Drivers and the one folder that may import each. */
const DRIVER_HOME: Record<string, string> = {
  kafkajs: 'kafka',
  pg: 'timescale',
  'pg-copy-streams': 'timescale',
  'trino-client': 'trino',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'dist' || e.name === 'client' ? [] : sourceFiles(p);
    return /\.(ts|mjs)$/.test(e.name) ? [p] : [];
  });
}

const folderOf = (file: string): string | undefined => {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
};

interface Import {
  file: string;
  from: string | undefined;
  specifier: string;
  target: string | undefined;
}

const imports: Import[] = sourceFiles(SRC).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g)].map(
    (m) => {
      const specifier = (m[1] ?? m[2])!;
      const target = specifier.startsWith('.') ? folderOf(normalize(join(dirname(file), specifier))) : undefined;
      return { file: relative(SRC, file), from: folderOf(file), specifier, target };
    },
  ),
);

describe('src layering', () => {
  it('every folder is in the table', () => {
    const folders = new Set(imports.map((i) => i.from).filter((f) => f !== undefined));
    expect([...folders].filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it('folders import only what the table allows', () => {
    const wrong = imports
      .filter((i) => i.from && i.target && i.target !== i.from && !ALLOWED[i.from]?.includes(i.target))
      .map((i) => `${i.file} imports ${i.specifier} (${i.from} -> ${i.target})`);
    expect(wrong).toEqual([]);
  });

  it('the table has no cycle', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (folder: string, path: string[]): void => {
      if (state.get(folder) === 'done') return;
      if (state.get(folder) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(folder)), folder].join(' -> '));
        return;
      }
      state.set(folder, 'visiting');
      for (const next of ALLOWED[folder] ?? []) visit(next, [...path, folder]);
      state.set(folder, 'done');
    };
    for (const folder of Object.keys(ALLOWED)) visit(folder, []);
    expect(cycles).toEqual([]);
  });

  it('drivers are imported only by their adapter folder', () => {
    const wrong = imports
      .filter((i) => i.specifier in DRIVER_HOME && i.from !== DRIVER_HOME[i.specifier])
      .map((i) => `${i.file} imports ${i.specifier}`);
    expect(wrong).toEqual([]);
  });
});

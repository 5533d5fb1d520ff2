/**
 * Adapters are the only importers of their drivers (docs/architecture.md#who-may-import-what):
 * kafkajs only under src/kafka, pg and pg-copy-streams only under src/timescale, trino-client only
 * under src/trino, the Flink REST APIs only addressed from src/flink, and a service's REST API
 * called (fetch) only from its adapter. Type-only imports count:
 * a type from the driver ties its folder to the driver just the same.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = 'src';

/** Package name -> the one folder (under src/) whose files may import it. */
const DRIVERS: Record<string, string> = {
  kafkajs: 'src/kafka',
  pg: 'src/timescale',
  'pg-copy-streams': 'src/timescale',
  'trino-client': 'src/trino',
};

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(path));
    } else if (SOURCE.test(entry.name)) out.push(relative('.', path).split(sep).join('/'));
  }
  return out;
}

/** Every module a file names: static imports and re-exports (types included), import(), require(). */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** 'pg/lib/x' -> 'pg'; '@scope/name/x' -> '@scope/name'. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const inside = (file: string, folder: string): boolean => file.startsWith(`${folder}/`);

const files = sourceFiles(SRC);

describe('driver imports', () => {
  it('sees the adapters import their drivers (the scan reads what it should)', () => {
    const importers = (pkg: string) => files.filter((f) => importsOf(f).some((s) => packageOf(s) === pkg));
    expect(importers('kafkajs')).toContain('src/kafka/client.ts');
    expect(importers('pg')).toContain('src/timescale/pool.ts');
    expect(importers('trino-client')).toContain('src/trino/trino.client.ts');
  });

  it('imports kafkajs, pg, pg-copy-streams and trino-client only from their adapter folders', () => {
    const offences: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        const folder = DRIVERS[packageOf(specifier)];
        if (folder && !inside(file, folder)) offences.push(`${file} imports ${specifier} (allowed in ${folder}/ only)`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('addresses the Flink REST APIs (JobManager, SQL Gateway) only from src/flink', () => {
    // The config's Flink URLs are the only way to reach those APIs: a file outside src/flink that
    // reads them is calling Flink without the adapter. src/config.ts defines them.
    const flinkUrl = /\.(restUrl|sqlGatewayUrl)\b/;
    const offences = files.filter(
      (f) => !inside(f, 'src/flink') && f !== 'src/config.ts' && flinkUrl.test(readFileSync(f, 'utf8')),
    );
    expect(offences).toEqual([]);
  });

  it("calls a service's REST API (fetch) only from its adapter, src/flink or src/trino", () => {
    // The demo's client and the browser pages (src/*/client/) call the gateway's own API, which no
    // adapter wraps.
    const calls = /\bfetch\(/;
    const clients = new Set(['src/demo/ingest.client.ts']);
    const offences = files.filter(
      (f) =>
        !inside(f, 'src/flink') &&
        !inside(f, 'src/trino') &&
        !f.includes('/client/') &&
        !clients.has(f) &&
        calls.test(readFileSync(f, 'utf8')),
    );
    expect(offences).toEqual([]);
    expect(files.filter((f) => inside(f, 'src/trino') && calls.test(readFileSync(f, 'utf8')))).toContain(
      'src/trino/health.check.ts',
    );
  });
});

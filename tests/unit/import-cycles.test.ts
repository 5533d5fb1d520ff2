/**
 * No import cycles between the folders of src/ (docs/architecture.md#who-may-import-what): the
 * folder graph is computed from every file's imports (static, type-only, re-exports, import() and
 * require, as TypeScript's own pre-processor reads them) and must be acyclic. A cycle is reported
 * with the files that make each of its edges.
 */
import { describe, expect, it } from 'vitest';
import { cyclesOf, folderGraph, sourceFiles, SRC, type FolderGraph } from '../helpers/import-graph.js';

/** The edges inside one component, with the imports that make them: what to cut. */
function describe_(graph: FolderGraph, component: string[]): string[] {
  const inside = new Set(component);
  const lines: string[] = [];
  for (const from of component)
    for (const [to, imports] of graph.get(from) ?? [])
      if (inside.has(to)) lines.push(`${from} -> ${to}: ${imports.join(', ')}`);
  return lines;
}

describe('folder imports', () => {
  const graph = folderGraph(sourceFiles(SRC));

  it('sees the imports between folders (the scan reads what it should)', () => {
    expect([...(graph.get('gateway')?.keys() ?? [])]).toEqual(expect.arrayContaining(['resolvers', 'live', 'auth']));
    expect([...(graph.get('consumer')?.keys() ?? [])]).toEqual(expect.arrayContaining(['kafka', 'timescale']));
  });

  it('finds a cycle when there is one', () => {
    const cyclic: FolderGraph = new Map([
      ['a', new Map([['b', ['src/a/x.ts -> ../b/y.js']]])],
      ['b', new Map([['c', ['src/b/y.ts -> ../c/z.js']]])],
      ['c', new Map([['a', ['src/c/z.ts -> ../a/x.js']]])],
      ['d', new Map([['a', ['src/d/w.ts -> ../a/x.js']]])],
    ]);
    expect(cyclesOf(cyclic)).toEqual([['a', 'b', 'c']]);
  });

  it('keeps the base and the adapters inward: they import no feature and no process', () => {
    // The picture in docs/architecture.md: the root modules and src/domain import nothing else;
    // an adapter imports only them and the HealthCheck type of src/health.
    const allowed: Record<string, string[]> = {
      '.': [],
      domain: ['.'],
      health: ['.'],
      kafka: ['.', 'domain', 'health'],
      timescale: ['.', 'domain', 'health'],
      trino: ['.', 'domain', 'health'],
      flink: ['.', 'domain', 'health'],
    };
    const offences = Object.entries(allowed).flatMap(([from, may]) =>
      [...(graph.get(from) ?? [])]
        .filter(([to]) => !may.includes(to))
        .map(([to, imports]) => `${from} -> ${to}: ${imports.join(', ')}`),
    );
    expect(offences).toEqual([]);
  });

  it('has no cycle between the folders of src/', () => {
    const cycles = cyclesOf(graph).map((c) => `cycle among ${c.join(', ')}\n    ${describe_(graph, c).join('\n    ')}`);
    expect(cycles).toEqual([]);
  });
});

/**
 * The import graph of src/'s folders, read with TypeScript's own pre-processor (static and
 * type-only imports, re-exports, import() and require), and its cycles. Used by
 * tests/unit/import-cycles.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import ts from 'typescript';

export const SRC = 'src';
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(path));
    } else if (SOURCE.test(entry.name)) out.push(relative('.', path).split(sep).join('/'));
  }
  return out;
}

/** 'src/live/hub.ts' -> 'live'; the root modules (src/config.ts, src/errors.ts...) -> '.'. */
export function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep).join('/').split('/');
  return parts.length > 1 ? parts[0]! : '.';
}

/** Folder -> folder it imports -> the imports (file -> specifier) that make the edge. */
export type FolderGraph = Map<string, Map<string, string[]>>;

export function folderGraph(files: readonly string[]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of files) {
    const from = folderOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = join(dirname(file), fileName);
      if (!target.startsWith(`${SRC}${sep}`) && !target.startsWith(`${SRC}/`)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      const edges = graph.get(from)!;
      edges.set(to, [...(edges.get(to) ?? []), `${file} -> ${fileName}`]);
    }
  }
  return graph;
}

/** Strongly connected components of more than one folder (Tarjan): each one holds a cycle. */
export function cyclesOf(graph: FolderGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components;
}

/**
 * Benchmark results: each benchmark writes bench/results/<bench>.json with named figures, the
 * baseline measured in the same run and the ratio; `npm run bench` turns them into BENCHMARKS.md.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Figure {
  name: string;
  figure: number;
  unit: string;
  /** The same work done by the raw driver (kafkajs, pg, trino-client) in the same run. */
  baseline?: number;
  baselineName?: string;
  /** figure / baseline (or baseline / figure for latencies; see `better`). */
  ratio?: number;
  /** Whether a higher figure is better (throughput) or a lower one (latency, memory). */
  better?: 'higher' | 'lower';
  target?: string;
  note?: string;
  /**
   * A point of a growth curve: figures sharing `series` (across result files) are drawn as one
   * line in bench/results/growth.svg, at `x` (in `xUnit`) against `figure` (in `unit`).
   */
  series?: string;
  x?: number;
  xUnit?: string;
}

export interface BenchResult {
  bench: string;
  mode: 'short' | 'full';
  ranAt: string;
  machine: Machine;
  figures: Figure[];
  notes?: string[];
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  jdk: string;
}

export function machine(): Machine {
  let jdk = 'unknown';
  try {
    jdk = execSync('java -version 2>&1', { encoding: 'utf8' }).split('\n')[0]?.trim() ?? jdk;
  } catch {
    // no java on PATH
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    jdk,
  };
}

export const mode = (): 'short' | 'full' => (process.argv.includes('--full') ? 'full' : 'short');

export function writeResult(result: Omit<BenchResult, 'ranAt' | 'machine'>): string {
  const dir = join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.bench}.json`);
  writeFileSync(
    file,
    JSON.stringify({ ...result, ranAt: new Date().toISOString(), machine: machine() }, null, 2) + '\n',
  );
  return file;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

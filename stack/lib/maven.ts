/**
 * Artifacts come from Maven Central through `mvn`, driven by the poms under stack/. Maven's own
 * repository (~/.m2) is the download cache; the copy under `.stack/dist/<service>` is stamped with
 * the pom's hash, so an unchanged pom means no Maven run at all on the next start.
 *
 * A first fetch can take minutes (Trino's server tarball alone is 821 MB), so while Maven runs a
 * line every few seconds says how much has arrived, and Maven's own output is passed through with
 * its colour codes removed (they would show as `[0m` in a log file).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** ANSI escape sequences (colours, cursor moves). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

export const stripAnsi = (line: string): string => line.replace(ANSI, '');

/** Bytes under `dir`, recursively; 0 when it does not exist. */
function sizeOf(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += sizeOf(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export async function fetchWithMaven(
  pom: string,
  outDir: string,
  log: (m: string) => void,
  progressEveryMs = 5_000,
): Promise<void> {
  const stamp = join(outDir, '.fetched');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return;
  mkdirSync(outDir, { recursive: true });
  log(`fetching artifacts for ${pom} (mvn, cached in ~/.m2); progress every ${progressEveryMs / 1000} s`);
  // The local repository's growth is what is being downloaded (the tarball lands there first).
  const repo = join(homedir(), '.m2', 'repository');
  const before = sizeOf(repo);
  const started = Date.now();
  const child = spawn(
    'mvn',
    ['-B', '-q', '--no-transfer-progress', '-Dstyle.color=never', '-f', pom, `-Ddist.dir=${outDir}`, 'package'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      const clean = stripAnsi(line).trimEnd();
      if (clean.length > 0) log(`mvn: ${clean}`);
    });
  }
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    log(`still fetching ${pom}: ${seconds} s, ${mb(sizeOf(repo) - before)} downloaded, ${mb(sizeOf(outDir))} unpacked`);
  }, progressEveryMs);
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve(status ?? signal ?? 'unknown'));
  }).finally(() => clearInterval(ticker));
  if (code !== 0) throw new Error(`mvn failed for ${pom} (exit ${code})`);
  writeFileSync(stamp, hash);
  log(`fetched ${pom} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * Artifacts come from Maven Central through `mvn`, driven by the poms under stack/. Maven's own
 * repository (~/.m2) is the download cache; the copy under `.stack/dist/<service>` is stamped with
 * the pom's hash, so an unchanged pom means no Maven run at all on the next start.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

/** How often a long fetch says it is still going (Trino's tarball alone is 821 MB). */
const PROGRESS_EVERY_MS = 15_000;

export async function fetchWithMaven(pom: string, outDir: string, log: (m: string) => void): Promise<void> {
  const stamp = join(outDir, '.fetched');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return;
  mkdirSync(outDir, { recursive: true });
  log(`fetching artifacts for ${pom} (mvn, cached in ~/.m2)`);
  const started = Date.now();
  // Maven's output is kept, not shown: -q still leaves the console's colour resets, and the
  // transfer lines of a large download would flood the log. It is shown, cleaned, on failure.
  const child = spawn('mvn', ['-B', '-q', '-Dstyle.color=never', '-f', pom, `-Ddist.dir=${outDir}`, 'package'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const ticker = setInterval(
    () => log(`still fetching for ${pom} (${Math.round((Date.now() - started) / 1000)} s)`),
    PROGRESS_EVERY_MS,
  );
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).finally(() => clearInterval(ticker));
  if (status !== 0) {
    const shown = stripVTControlCharacters(output).trim();
    throw new Error(`mvn failed for ${pom} (exit ${status})${shown ? `:\n${shown}` : ''}`);
  }
  log(`fetched ${pom} in ${Math.round((Date.now() - started) / 1000)} s`);
  writeFileSync(stamp, hash);
}

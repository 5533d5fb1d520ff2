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

/** A finished download at least this large gets its own line (the tarballs; not each pom and jar). */
const LARGE_DOWNLOAD_BYTES = 5 * 1024 * 1024;

/**
 * Maven's transfer lines in batch mode: "Downloading from central: <url>" when a file starts and
 * "Downloaded from central: <url> (821 MB at 12 MB/s)" when it is in. Read to say which file a
 * long fetch is on, and how large and fast a large one was.
 */
const TRANSFER =
  /^(?:\[INFO\] )?(Downloading|Downloaded) from [^:]+: (\S+)(?: \(([\d.]+) ([kMG]?B)(?: at ([^)]+))?\))?/;

const UNIT: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

const fileOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

export async function fetchWithMaven(pom: string, outDir: string, log: (m: string) => void): Promise<void> {
  const stamp = join(outDir, '.fetched');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return;
  mkdirSync(outDir, { recursive: true });
  log(`fetching artifacts for ${pom} (mvn, cached in ~/.m2)`);
  const started = Date.now();
  // Batch mode (-B) and -Dstyle.color=never: no colour codes, no per-kilobyte progress bars.
  // Maven's output is kept, not shown (hundreds of transfer lines would flood the log): its
  // transfer lines say which file is on its way, and the rest is shown, cleaned, on failure.
  const child = spawn('mvn', ['-B', '-Dstyle.color=never', '-f', pom, `-Ddist.dir=${outDir}`, 'package'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let partial = '';
  let current: string | undefined;
  let downloads = 0;
  const onLine = (line: string) => {
    const m = TRANSFER.exec(line);
    if (!m) return;
    const [, what, url, size, unit, rate] = m;
    if (what === 'Downloading') {
      current = fileOf(url!);
      return;
    }
    downloads += 1;
    if (current === fileOf(url!)) current = undefined;
    const bytes = size && unit ? Number(size) * (UNIT[unit] ?? 1) : 0;
    if (bytes >= LARGE_DOWNLOAD_BYTES) log(`downloaded ${fileOf(url!)} (${size} ${unit}${rate ? ` at ${rate}` : ''})`);
  };
  const keep = (chunk: Buffer) => {
    const text = stripVTControlCharacters(chunk.toString());
    output = (output + text).slice(-8000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line.trim());
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const on = current ? `downloading ${current}` : `${downloads} file(s) downloaded`;
    log(`still fetching for ${pom}: ${on} (${seconds} s)`);
  }, PROGRESS_EVERY_MS);
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).finally(() => clearInterval(ticker));
  if (status !== 0) {
    const shown = output.trim();
    throw new Error(`mvn failed for ${pom} (exit ${status})${shown ? `:\n${shown}` : ''}`);
  }
  log(`fetched ${pom} in ${Math.round((Date.now() - started) / 1000)} s (${downloads} file(s) downloaded)`);
  writeFileSync(stamp, hash);
}

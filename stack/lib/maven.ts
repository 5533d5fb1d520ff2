/**
 * Artifacts come from Maven Central through `mvn`, driven by the poms under stack/. Maven's own
 * repository (~/.m2) is the download cache; the copy under `.stack/dist/<service>` is stamped with
 * the pom's hash, so an unchanged pom means no Maven run at all on the next start.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function fetchWithMaven(pom: string, outDir: string, log: (m: string) => void): void {
  const stamp = join(outDir, '.fetched');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return;
  mkdirSync(outDir, { recursive: true });
  log(`fetching artifacts for ${pom} (mvn, cached in ~/.m2)`);
  const res = spawnSync('mvn', ['-B', '-q', '-Dstyle.color=never', '-f', pom, `-Ddist.dir=${outDir}`, 'package'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`mvn failed for ${pom} (exit ${res.status ?? res.signal})`);
  writeFileSync(stamp, hash);
}

/** Picks the `java` binary for a stack service. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function javaBin(home?: string): string {
  return home ? join(home, 'bin', 'java') : 'java';
}

/**
 * The newest JDK under /usr/lib/jvm whose major version is at least `minMajor` (Trino wants a newer
 * one than the machine's default), or undefined.
 */
export function findJdk(minMajor: number, root = '/usr/lib/jvm'): string | undefined {
  if (!existsSync(root)) return undefined;
  const found = readdirSync(root)
    .map((name) => ({ name, major: Number(/(?:^|-)(\d{2,})(?:[.-]|$)/.exec(name)?.[1]) }))
    .filter((j) => Number.isFinite(j.major) && j.major >= minMajor && existsSync(join(root, j.name, 'bin', 'java')))
    .sort((a, b) => b.major - a.major);
  return found[0] ? join(root, found[0].name) : undefined;
}

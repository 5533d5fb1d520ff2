/**
 * The gateway's Node options (src/gateway/node-flags.ts) cannot be set from inside the process, so
 * package.json and compose.yml repeat them literally; this keeps those copies equal to the list.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GATEWAY_NODE_FLAGS } from '../../src/gateway/node-flags.js';

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const compose = parse(readFileSync('compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[] }>;
};

/** The words of a command line before the entry point: the launcher's options and Node's. */
const optionsBefore = (words: readonly string[], entry: string): string[] => {
  const at = words.findIndex((w) => w.endsWith(entry));
  expect(at, `${words.join(' ')} runs ${entry}`).toBeGreaterThan(0);
  return words.slice(0, at);
};

describe('gateway Node options', () => {
  it('are a non-empty list of Node options', () => {
    expect(GATEWAY_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const f of GATEWAY_NODE_FLAGS) expect(f).toMatch(/^--[a-z-]+(=\S+)?$/);
  });

  it.each([
    ['start', 'gateway/main.js'],
    ['gateway', 'src/gateway/main.ts'],
  ])('npm run %s passes every one before the entry point', (script, entry) => {
    const before = optionsBefore(scripts[script]!.split(/\s+/), entry);
    for (const f of GATEWAY_NODE_FLAGS) expect(before).toContain(f);
  });

  it("compose.yml's gateway passes every one before the entry point", () => {
    const before = optionsBefore(compose.services.gateway!.command!, 'src/gateway/main.ts');
    for (const f of GATEWAY_NODE_FLAGS) expect(before).toContain(f);
  });

  it('the consumer worker keeps V8 defaults (the options gained it nothing)', () => {
    for (const f of GATEWAY_NODE_FLAGS) {
      expect(scripts['start:consumer']).not.toContain(f);
      expect(compose.services.consumer!.command).not.toContain(f);
    }
  });
});

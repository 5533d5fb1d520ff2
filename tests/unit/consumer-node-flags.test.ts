/**
 * The consumer worker's Node options (src/consumer/node.flags.ts) are written out in launchers
 * that cannot import them: package.json's scripts and compose.yml. This holds those to the list,
 * and checks the start-up check that reports a process launched without them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONSUMER_NODE_FLAGS, missingNodeFlags } from '../../src/consumer/node.flags.js';

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const compose = parse(readFileSync('compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[] }>;
};

describe('the consumer worker is launched with its Node options', () => {
  it('in every package.json script that starts it', () => {
    const launchers = Object.entries(scripts).filter(([, cmd]) => /consumer\/main\.(ts|js)\b/.test(cmd));
    expect(launchers.map(([name]) => name).sort()).toEqual(['consumer', 'start:consumer']);
    for (const [, cmd] of launchers) {
      const words = cmd.split(/\s+/);
      const script = words.findIndex((w) => /consumer\/main\.(ts|js)$/.test(w));
      // Before the script: after it they would be the script's own arguments.
      for (const flag of CONSUMER_NODE_FLAGS) expect(words.slice(0, script)).toContain(flag);
    }
  });

  it('in compose.yml', () => {
    const command = compose.services['consumer']?.command ?? [];
    const script = command.indexOf('src/consumer/main.ts');
    expect(script).toBeGreaterThan(0);
    for (const flag of CONSUMER_NODE_FLAGS) expect(command.slice(0, script)).toContain(flag);
  });
});

describe('missingNodeFlags', () => {
  it('names the flags neither the command line nor NODE_OPTIONS gave', () => {
    expect(missingNodeFlags([], '')).toEqual([...CONSUMER_NODE_FLAGS]);
    expect(missingNodeFlags(['--enable-source-maps', ...CONSUMER_NODE_FLAGS], '')).toEqual([]);
    expect(missingNodeFlags([], ` --inspect ${CONSUMER_NODE_FLAGS.join('  ')} `)).toEqual([]);
    // A different value is not the flag.
    expect(missingNodeFlags(['--max-semi-space-size=16'], '')).toEqual([...CONSUMER_NODE_FLAGS]);
  });
});

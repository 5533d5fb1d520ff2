/** How the local stack picks PostgreSQL binaries and starts its private server. */
import { describe, expect, it } from 'vitest';
import {
  chooseBinaries,
  initdbArgs,
  machineBinaries,
  passwdEntry,
  serverArgs,
  type PostgresBinaries,
} from '../../stack/services/postgres.js';

const complete = (dir: string) => (file: string) => file.startsWith(dir);

describe('postgres stack service', () => {
  it('lists the machine versions that have initdb, postgres and pg_ctl, newest first', () => {
    const has = (file: string) => !file.startsWith('/pg/16/') || !file.endsWith('pg_ctl');
    expect(machineBinaries(['9.6', '15', '13', '16', 'common', '17'], '/pg', has)).toEqual([
      { dir: '/pg/17/bin', major: '17', source: 'machine' },
      { dir: '/pg/15/bin', major: '15', source: 'machine' },
      { dir: '/pg/13/bin', major: '13', source: 'machine' },
      { dir: '/pg/9.6/bin', major: '9.6', source: 'machine' },
    ]);
    expect(machineBinaries(['15'], '/pg', complete('/other'))).toEqual([]);
  });

  it('prefers the newest machine version for a new data folder and the folder’s own version after', () => {
    const machine: PostgresBinaries[] = machineBinaries(['15', '17'], '/pg', () => true);
    const embedded: PostgresBinaries = { dir: '/npm/bin', major: '18', source: 'embedded' };
    const all = [...machine, embedded];
    expect(chooseBinaries(all)?.dir).toBe('/pg/17/bin');
    expect(chooseBinaries(all, '15\n')?.dir).toBe('/pg/15/bin');
    expect(chooseBinaries(all, '18')).toEqual(embedded);
    expect(chooseBinaries([embedded])).toEqual(embedded);
    expect(chooseBinaries(all, '12')).toBeUndefined();
    expect(chooseBinaries([])).toBeUndefined();
  });

  it('initialises with trust auth, UTF-8 and no locale', () => {
    expect(initdbArgs('/s/data/postgres', 'postgres')).toEqual([
      '-D',
      '/s/data/postgres',
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
  });

  it('serves on the URL’s loopback port, durable, sized for tests, carrying the stack marker', () => {
    const args = serverArgs({ dir: '/s/data/postgres', host: 'localhost', port: 15432 });
    expect(args.slice(0, 4)).toEqual(['-D', '/s/data/postgres', '-p', '15432']);
    const settings = Object.fromEntries(
      args
        .filter((_, i) => args[i - 1] === '-c')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    expect(settings).toMatchObject({
      listen_addresses: '127.0.0.1',
      max_connections: '200',
      fsync: 'on',
      synchronous_commit: 'on',
      full_page_writes: 'on',
      'fitbit.stack': 'postgres',
    });
    expect(settings.shared_buffers).toMatch(/^\d+MB$/);
    expect(Number.parseInt(settings.shared_buffers!, 10)).toBeLessThanOrEqual(128);
    expect(serverArgs({ dir: '/d', host: '127.0.0.2', port: 5 })).toContain('listen_addresses=127.0.0.2');
  });

  it('finds the postgres user in /etc/passwd', () => {
    const passwd =
      'root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n';
    expect(passwdEntry(passwd, 'postgres')).toEqual({ uid: 101, gid: 104 });
    expect(passwdEntry(passwd, 'nobody')).toBeUndefined();
  });
});

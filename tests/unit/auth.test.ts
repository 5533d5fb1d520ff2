/** Token verification (HS256, RS256, ES256, JWKS), claims, the access rules and the schema guard. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSchema, execute, parse, subscribe, type ExecutionResult } from 'graphql';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { ConfigError, loadConfig, type Config } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { createTokenVerifier, loadVerifyKey } from '../../src/auth/verifier.js';
import { signToken } from '../../src/auth/sign.js';
import { mayIngest, mayRead, ROOT_RULES, ruleFor } from '../../src/auth/policy.js';
import { developmentPrincipal, type Principal } from '../../src/auth/principal.js';
import { protectSchema, unclassifiedRootFields } from '../../src/auth/protect-schema.js';
import { buildGatewaySchema } from '../../src/schema/build.js';
import { principal } from '../helpers/principal.js';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { createLogger } from '../../src/logger.js';

const SECRET = 'unit-secret-0123456789-abcdefghijklmnop';
const dir = mkdtempSync(join(tmpdir(), 'auth-unit-'));
const authConfig = (env: Record<string, string>): Config['auth'] => loadConfig({ LOG_LEVEL: 'silent', ...env }).auth;

async function codeOf(p: Promise<unknown>): Promise<{ code: unknown; reason: unknown }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    return { code: e.extensions['code'], reason: e.extensions['reason'] };
  }
  throw new Error('expected a rejection');
}

describe('configuration', () => {
  it('refuses production without key material, and development mode in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/needs key material/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, AUTH_MODE: 'development' })).toThrow(
      /development mode/,
    );
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET }).auth.mode).toBe('required');
  });

  it('defaults to development outside production, and checks key settings', () => {
    expect(loadConfig({}).auth.mode).toBe('development');
    expect(loadConfig({ NODE_ENV: 'test' }).auth.mode).toBe('development');
    expect(() => loadConfig({ AUTH_MODE: 'required' })).toThrow(/needs key material/);
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => loadConfig({ AUTH_JWKS_FILE: join(dir, 'missing.json') })).toThrow(/file not found/);
    expect(() => loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_FILE: join(dir, 'missing.json') })).toThrow(
      /set one of/,
    );
  });

  it('rejects a key file that holds no usable key', () => {
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'not a key');
    expect(() => loadVerifyKey(authConfig({ AUTH_JWT_PUBLIC_KEY_FILE: bad }))).toThrow(ConfigError);
    const badJwks = join(dir, 'bad.json');
    writeFileSync(badJwks, '{"keys": []}');
    expect(() => loadVerifyKey(authConfig({ AUTH_JWKS_FILE: badJwks }))).toThrow(/JSON Web Key Set/);
  });
});

describe('token verification', () => {
  it('HS256: accepts a good token and maps its claims', async () => {
    const auth = authConfig({ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'idp', AUTH_AUDIENCE: 'fitbit' });
    const v = createTokenVerifier(auth, loadVerifyKey(auth)!);
    const t = await signToken(
      { sub: 'dev-1', roles: ['device', 'bogus'], users: ['u1', 'u2'], issuer: 'idp', audience: 'fitbit' },
      { secret: SECRET },
    );
    const p = await v.verify(`Bearer ${t}`);
    expect(p.subject).toBe('dev-1');
    expect([...p.roles]).toEqual(['device']);
    expect(p.users).toEqual(['u1', 'u2']);
    expect(p.expiresAt).toBeGreaterThan(Date.now());
    expect(p.development).toBe(false);
  });

  it('HS256: refuses bad signature, expiry, wrong issuer/audience, missing claims', async () => {
    const auth = authConfig({ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'idp', AUTH_AUDIENCE: 'fitbit' });
    const v = createTokenVerifier(auth, loadVerifyKey(auth)!);
    const base = { sub: 'u', roles: ['user'], issuer: 'idp', audience: 'fitbit' };
    const sign = (c: Partial<typeof base> & { expiresInSeconds?: number; users?: string[] }, secret = SECRET) =>
      signToken({ ...base, ...c } as Parameters<typeof signToken>[0], { secret });
    expect(await codeOf(v.verify(`Bearer ${await sign({}, 'x'.repeat(40))}`))).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'signature',
    });
    expect(await codeOf(v.verify(`Bearer ${await sign({ expiresInSeconds: -30 })}`))).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'expired',
    });
    expect((await codeOf(v.verify(`Bearer ${await sign({ issuer: 'other' })}`))).reason).toBe('claims');
    expect((await codeOf(v.verify(`Bearer ${await sign({ audience: 'other' })}`))).reason).toBe('claims');
    expect((await codeOf(v.verify(`Bearer ${await sign({ roles: [] })}`))).reason).toBe('claims');
    expect((await codeOf(v.verify(`Bearer ${await sign({ users: ["x' OR 1=1 --"] })}`))).reason).toBe('claims');
    expect((await codeOf(v.verify('Bearer a.b.c'))).reason).toBe('malformed');
    expect((await codeOf(v.verify('Token abc'))).reason).toBe('malformed');
    // alg "none" is never accepted.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u","roles":["admin"]}').toString('base64url')}.`;
    expect((await codeOf(v.verify(`Bearer ${none}`))).code).toBe('UNAUTHENTICATED');
  });

  for (const alg of ['RS256', 'ES256'] as const) {
    it(`${alg}: verifies with a PEM public key, and refuses an HS256 token "signed" with that PEM`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const pem = await exportSPKI(publicKey);
      const file = join(dir, `${alg}.pem`);
      writeFileSync(file, pem);
      const auth = authConfig({ AUTH_JWT_PUBLIC_KEY_FILE: file });
      const key = loadVerifyKey(auth)!;
      expect(key.algorithms).toEqual([alg]);
      const v = createTokenVerifier(auth, key);
      const good = await signToken({ sub: 'a', roles: ['analyst'] }, { privateKey, alg });
      expect((await v.verify(`Bearer ${good}`)).roles.has('analyst')).toBe(true);
      const confused = await signToken({ sub: 'a', roles: ['admin'] }, { secret: pem });
      expect((await codeOf(v.verify(`Bearer ${confused}`))).reason).toBe('algorithm');
    });
  }

  it('JWKS: picks the key by kid, refuses an unknown kid', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    const auth = authConfig({ AUTH_JWKS_FILE: file });
    const v = createTokenVerifier(auth, loadVerifyKey(auth)!);
    const good = await signToken({ sub: 'u1', roles: ['user'] }, { privateKey, alg: 'ES256', kid: 'k1' });
    expect((await v.verify(`Bearer ${good}`)).subject).toBe('u1');
    const other = await new SignJWT({ roles: ['user'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
      .setSubject('u1')
      .sign(privateKey);
    expect((await codeOf(v.verify(`Bearer ${other}`))).reason).toBe('key');
  });

  it('keeps verified tokens until exp, a bounded number of them, and never a refused one', async () => {
    const auth = authConfig({ AUTH_JWT_SECRET: SECRET });
    let now = Date.now();
    const v = createTokenVerifier(auth, loadVerifyKey(auth)!, { cacheEntries: 2, now: () => now });
    const sign = (sub: string, expiresInSeconds = 60) =>
      signToken({ sub, roles: ['user'], expiresInSeconds }, { secret: SECRET });
    const [a, b, c] = [await sign('a'), await sign('b'), await sign('c')];
    const first = await v.verify(`Bearer ${a}`);
    expect(await v.verify(`Bearer ${a}`)).toBe(first); // kept: the same principal, no second verification
    // Past the token's exp the entry is dropped and the token verified again (jose's clock is the real one).
    now = first.expiresAt! + 1;
    const again = await v.verify(`Bearer ${a}`);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    now = Date.now();
    const kept = await v.verify(`Bearer ${a}`);
    await v.verify(`Bearer ${b}`);
    await v.verify(`Bearer ${c}`); // over capacity: the oldest (a) goes
    expect(await v.verify(`Bearer ${a}`)).not.toBe(kept);
    // A refused token is refused every time; a token with one character changed is a different key.
    const forged = `${a.slice(0, -2)}${a.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await codeOf(v.verify(`Bearer ${forged}`))).reason).toBe('signature');
    expect((await codeOf(v.verify(`Bearer ${forged}`))).reason).toBe('signature');
    const expired = await sign('d', -30);
    expect((await codeOf(v.verify(`Bearer ${expired}`))).reason).toBe('expired');
  });
});

describe('authentication modes', () => {
  const logger = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'auth-test');

  it('development without key material: anyone is the development admin', async () => {
    const a = createAuthenticator(loadConfig({ LOG_LEVEL: 'silent' }), logger);
    expect(await a.authenticate(undefined)).toBe(developmentPrincipal);
    expect(await a.authenticate('Bearer anything')).toBe(developmentPrincipal);
  });

  it('development with key material: no token is admin, a sent token is still verified', async () => {
    const a = createAuthenticator(loadConfig({ LOG_LEVEL: 'silent', AUTH_JWT_SECRET: SECRET }), logger);
    expect(await a.authenticate(undefined)).toBe(developmentPrincipal);
    expect((await codeOf(a.authenticate('Bearer bad.token.here'))).code).toBe('UNAUTHENTICATED');
  });

  it('required: no token is UNAUTHENTICATED; the WebSocket check closes with 4401', async () => {
    const a = createAuthenticator(
      loadConfig({ LOG_LEVEL: 'silent', AUTH_MODE: 'required', AUTH_JWT_SECRET: SECRET }),
      logger,
    );
    expect((await codeOf(a.authenticate(undefined))).reason).toBe('missing');
    expect(await a.connection({}, {})).toMatchObject({ ok: false, closeCode: 4401 });
    const t = await signToken({ sub: 'u', roles: ['user'] }, { secret: SECRET });
    const ok = await a.connection({ authorization: `Bearer ${t}` }, {});
    expect(ok.ok && ok.credentials.principal?.subject).toBe('u');
  });
});

describe('access rules', () => {
  const alice = principal('alice', ['user']);
  const device = principal('dev-1', ['device'], ['alice']);
  const analyst = principal('a', ['analyst']);
  const admin = principal('root', ['admin']);
  const allowed = (p: Principal, field: string, args: Record<string, unknown>): boolean => {
    try {
      ruleFor(field)(p, args);
      return true;
    } catch (err) {
      expect((err as AppError).extensions['code']).toBe('FORBIDDEN');
      return false;
    }
  };

  it('reading and ingesting', () => {
    expect(mayRead(alice, 'alice')).toBe(true);
    expect(mayRead(alice, 'bob')).toBe(false);
    expect(mayRead(device, 'alice')).toBe(false);
    expect(mayRead(admin, 'bob')).toBe(true);
    expect(mayIngest(device, 'dev-1')).toBe(true);
    expect(mayIngest(device, 'alice')).toBe(true);
    expect(mayIngest(device, 'bob')).toBe(false);
    expect(mayIngest(alice, 'alice')).toBe(false);
  });

  it('per field and role', () => {
    const table: [Principal, string, Record<string, unknown>, boolean][] = [
      [alice, 'Query.series', { userId: 'alice' }, true],
      [alice, 'Query.series', { userId: 'bob' }, false],
      [alice, 'Query.seriesColumns', { userId: 'alice' }, true],
      [alice, 'Query.seriesColumns', { userId: 'bob' }, false],
      [device, 'Query.seriesColumns', { userId: 'dev-1' }, false],
      [admin, 'Query.seriesColumns', { userId: 'bob' }, true],
      [alice, 'Query.users', { ids: ['alice', 'alice'] }, true],
      [alice, 'Query.users', { ids: ['alice', 'bob'] }, false],
      [alice, 'Query.cohortStats', {}, false],
      [alice, 'Query.health', {}, true],
      [alice, 'Query.pipelineStatus', {}, false],
      [alice, 'Subscription.alerts', {}, false],
      [alice, 'Subscription.alerts', { userId: 'alice' }, true],
      [alice, 'Subscription.metricWindows', { userId: 'bob' }, false],
      [analyst, 'Query.leaderboard', {}, true],
      [analyst, 'Query.readings', { userId: 'alice' }, false],
      [device, 'Mutation.ingestReadings', { readings: [{ userId: 'alice' }, { userId: 'dev-1' }] }, true],
      [device, 'Mutation.ingestReadings', { readings: [{ userId: 'alice' }, { userId: 'bob' }] }, false],
      [alice, 'Mutation.ingestReadings', { readings: [] }, false],
      [admin, 'Subscription.alerts', {}, true],
      [admin, 'Query.pipelineStatus', {}, true],
      [alice, 'Mutation.eraseUserData', { userId: 'alice' }, true],
      [alice, 'Mutation.eraseUserData', { userId: 'bob' }, false],
      [admin, 'Mutation.eraseUserData', { userId: 'bob' }, true],
      [analyst, 'Mutation.eraseUserData', { userId: 'alice' }, false],
      // A device writes a user's readings; it does not decide that they go, not even its own subject's.
      [device, 'Mutation.eraseUserData', { userId: 'alice' }, false],
      [device, 'Mutation.eraseUserData', { userId: 'dev-1' }, false],
      [admin, 'Query.somethingNew', {}, true],
      [analyst, 'Query.somethingNew', {}, false],
    ];
    for (const [p, field, args, expected] of table)
      expect(allowed(p, field, args), `${p.subject} ${field} ${JSON.stringify(args)}`).toBe(expected);
  });

  it('every root field of the gateway schema has a rule of its own', () => {
    expect(unclassifiedRootFields(buildGatewaySchema(), ROOT_RULES)).toEqual([]);
  });
});

describe('schema guard', () => {
  const schema = buildSchema(`
    type Query { series(userId: ID!): Int }
    type Event { userId: ID! }
    type Subscription { alerts(userId: ID): Event! }
  `);
  // Deliveries of replay-log entries, as the live hub yields them.
  const events = [
    { event: { event: { userId: 'bob' } } },
    { event: { event: { userId: 'alice' } } },
    { event: { event: {} } },
  ];
  (schema.getQueryType()!.getFields()['series']!.resolve as unknown) = () => 1;
  const alertsField = schema.getSubscriptionType()!.getFields()['alerts']!;
  alertsField.subscribe = async function* () {
    for (const e of events) yield e;
  };
  alertsField.resolve = (root: { event: { event: { userId?: string } } }) => ({
    userId: root.event.event.userId ?? '?',
  });
  const guarded = protectSchema(schema);

  it('checks root fields against the context principal', async () => {
    const run = (p: Principal | undefined, userId: string) =>
      execute({
        schema: guarded,
        document: parse(`{ series(userId: "${userId}") }`),
        contextValue: { principal: p },
      }) as ExecutionResult;
    expect(run(principal('alice', ['user']), 'alice').data).toEqual({ series: 1 });
    expect(run(principal('alice', ['user']), 'bob').errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(run(undefined, 'alice').errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const expired = { ...principal('alice', ['user']), expiresAt: Date.now() - 1000 };
    expect(run(expired, 'alice').errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('drops events of other users even when the source yields them', async () => {
    const it = (await subscribe({
      schema: guarded,
      document: parse('subscription { alerts(userId: "alice") { userId } }'),
      contextValue: { principal: principal('alice', ['user']) },
    })) as AsyncIterableIterator<ExecutionResult>;
    const seen: unknown[] = [];
    for await (const r of it) seen.push(r.data);
    expect(seen).toEqual([{ alerts: { userId: 'alice' } }]);
    const adminIt = (await subscribe({
      schema: guarded,
      document: parse('subscription { alerts { userId } }'),
      contextValue: { principal: principal('root', ['admin']) },
    })) as AsyncIterableIterator<ExecutionResult>;
    const all: unknown[] = [];
    for await (const r of adminIt) all.push(r.data);
    expect(all).toHaveLength(3);
  });
});

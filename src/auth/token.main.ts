/**
 * `npm run auth:token -- <sub> <role[,role]> [user,user...] [--ttl seconds]`: prints a bearer token
 * signed with AUTH_JWT_SECRET (HS256), for trying the API with roles locally.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { signToken } from './sign.js';

const USAGE = 'usage: npm run auth:token -- <sub> <role[,role]> [user,user...] [--ttl seconds]';

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

let parsed: { values: { ttl?: string }; positionals: string[] };
try {
  parsed = parseArgs({ options: { ttl: { type: 'string' } }, allowPositionals: true });
} catch (err) {
  usage((err as Error).message);
}
const ttl = Number(parsed.values.ttl ?? 3600);
const [sub, roles, users, ...rest] = parsed.positionals;
if (!sub || !roles) usage('expected a subject and its roles');
if (rest.length > 0) usage(`unexpected argument(s) ${rest.join(' ')}`);
if (!Number.isInteger(ttl) || ttl <= 0) usage(`--ttl: expected whole seconds, got ${parsed.values.ttl}`);
const config = loadConfig();
if (!config.auth.jwtSecret) {
  console.error('AUTH_JWT_SECRET is not set: this command signs HS256 tokens with it');
  process.exit(2);
}
const token = await signToken(
  {
    sub,
    roles: roles.split(','),
    ...(users ? { users: users.split(',') } : {}),
    expiresInSeconds: ttl,
    ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
    ...(config.auth.audience ? { audience: config.auth.audience } : {}),
  },
  { secret: config.auth.jwtSecret },
);
process.stdout.write(`${token}\n`);

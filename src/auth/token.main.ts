/**
 * `npm run auth:token -- <sub> <role[,role]> [user,user...] [--ttl seconds]`: prints a bearer token
 * signed with AUTH_JWT_SECRET (HS256), for trying the API with roles locally.
 */
import { loadConfig } from '../config.js';
import { signToken } from './sign.js';

const args = process.argv.slice(2);
const ttlAt = args.indexOf('--ttl');
const ttl = ttlAt >= 0 ? Number(args.splice(ttlAt, 2)[1]) : 3600;
const [sub, roles, users] = args;
const config = loadConfig();
if (!sub || !roles) {
  console.error('usage: npm run auth:token -- <sub> <role[,role]> [user,user...] [--ttl seconds]');
  process.exit(2);
}
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

/** A verified caller for tests of the access rules, without a token. */
import type { Principal, Role } from '../../src/auth/principal.js';

export const principal = (subject: string, roles: Role[], users: string[] = []): Principal => ({
  subject,
  roles: new Set(roles),
  users,
  expiresAt: undefined,
  development: false,
});

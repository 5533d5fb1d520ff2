export { createAuthenticator, type Authenticator } from './authenticator.js';
export { protectSchema, principalOf, unclassifiedRootFields } from './protect-schema.js';
export { ROOT_RULES, mayIngest, mayRead, ruleFor } from './policy.js';
export { developmentPrincipal, hasRole, ROLES, type Principal, type Role } from './principal.js';
export { createTokenVerifier, loadVerifyKey, principalFromClaims } from './verifier.js';

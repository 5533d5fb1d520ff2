export { createAuthenticator, type Authenticator } from './authenticator.js';
export { protectSchema, principalOf, unclassifiedRootFields } from './protect-schema.js';
export { ROOT_RULES, mayIngest, mayRead, maySeeServiceDetails, ruleFor } from './policy.js';
export { developmentPrincipal, hasRole, ROLES, type Principal, type Role } from './principal.js';
export { createTokenVerifier, loadVerifyKey, principalFromClaims } from './verifier.js';
export { authorizeOperation, refusalStatus } from './authorize-operation.js';
export { createAggregatePrivacy, type AggregatePrivacy } from './privacy.js';

/**
 * Who may use which root field. One rule per root field of Query, Mutation and Subscription; a
 * root field without a rule is admin-only, so a new field is closed until someone decides.
 *
 * - device: ingestReadings and ingestSeries for its own subject or the user ids in its `users` claim.
 * - user: reads and subscribes to its own data (subject = user id) only.
 * - analyst: cohortStats and leaderboard (aggregates over users, no single user's raw data).
 * - admin: everything.
 * - eraseUserData: admin, or the user themself (whoever may read the user's data); never a device,
 *   which may write a user's readings but not decide that the user's data go.
 * - health: any authenticated caller (it names services and latencies, no data); the detail of
 *   each service (versions, hosts, reasons) only for admin.
 * - aggregates for roles other than admin: no range shorter than a minimum, no cohort bucket from
 *   fewer than a minimum of users (privacy.ts).
 */
import { AppError, ErrorCode, quote } from '../errors.js';
import { hasRole, type Principal, type Role } from './principal.js';

export type Args = Readonly<Record<string, unknown>>;
/** Throws FORBIDDEN when the principal may not run the field with these arguments. */
export type Rule = (principal: Principal, args: Args) => void;

export const forbidden = (message: string): AppError => new AppError(ErrorCode.FORBIDDEN, message);

const anyone: Rule = () => undefined;

const roles =
  (...allowed: Role[]): Rule =>
  (p) => {
    if (hasRole(p, 'admin') || allowed.some((r) => hasRole(p, r))) return;
    throw forbidden(`requires the role ${allowed.join(' or ')}`);
  };

/** May the principal read and subscribe to this user's data? */
export function mayRead(p: Principal, userId: string): boolean {
  return hasRole(p, 'admin') || (hasRole(p, 'user') && p.subject === userId);
}

/** May the principal see what a health check says about a service (versions, hosts, reasons)? */
export function maySeeServiceDetails(p: Principal): boolean {
  return hasRole(p, 'admin');
}

/** May the principal ingest readings of this user? */
export function mayIngest(p: Principal, userId: string): boolean {
  return hasRole(p, 'admin') || (hasRole(p, 'device') && (p.subject === userId || p.users.includes(userId)));
}

const ownUser =
  (arg: string): Rule =>
  (p, args) => {
    const id = args[arg];
    if (typeof id === 'string' && mayRead(p, id)) return;
    throw forbidden(`${arg}: may only read your own data`);
  };

/** Erasure of a user's data: the same principals that may read it (admin, the user themself). */
const erase: Rule = (p, args) => {
  const id = args['userId'];
  if (typeof id === 'string' && mayRead(p, id)) return;
  throw forbidden('userId: may only erase your own data');
};

const ownUsers =
  (arg: string): Rule =>
  (p, args) => {
    const ids = args[arg];
    if (Array.isArray(ids) && ids.every((id) => typeof id === 'string' && mayRead(p, id))) return;
    throw forbidden(`${arg}: may only read your own data`);
  };

const ingest: Rule = (p, args) => {
  if (!hasRole(p, 'admin') && !hasRole(p, 'device')) throw forbidden('ingestReadings requires the role device');
  const readings = args['readings'];
  if (!Array.isArray(readings)) return;
  for (let i = 0; i < readings.length; i += 1) {
    const userId = (readings[i] as { userId?: unknown } | null)?.userId;
    if (typeof userId !== 'string' || !mayIngest(p, userId)) {
      throw forbidden(`readings[${i}].userId: this device may not ingest for ${quote(userId)}`);
    }
  }
};

const ingestSeries: Rule = (p, args) => {
  if (!hasRole(p, 'admin') && !hasRole(p, 'device')) throw forbidden('ingestSeries requires the role device');
  const userId = args['userId'];
  if (typeof userId !== 'string' || !mayIngest(p, userId))
    throw forbidden(`userId: this device may not ingest for ${quote(userId)}`);
};

const alerts: Rule = (p, args) => {
  const userId = args['userId'];
  if (userId === undefined || userId === null) {
    if (hasRole(p, 'admin')) return;
    throw forbidden('alerts without userId (every user) requires the role admin');
  }
  if (typeof userId === 'string' && mayRead(p, userId)) return;
  throw forbidden('userId: may only read your own alerts');
};

export const ROOT_RULES: Readonly<Record<string, Rule>> = {
  'Query.health': anyone,
  'Query.series': ownUser('userId'),
  'Query.seriesColumns': ownUser('userId'),
  'Query.readings': ownUser('userId'),
  'Query.user': ownUser('id'),
  'Query.users': ownUsers('ids'),
  'Query.cohortStats': roles('analyst'),
  'Query.leaderboard': roles('analyst'),
  'Query.pipelineStatus': roles('admin'),
  'Query.deadLetters': roles('admin'),
  // The history of what the subscriptions deliver, under the same rules.
  'Query.windows': ownUser('userId'),
  'Query.alerts': alerts,
  'Mutation.ingestReadings': ingest,
  'Mutation.ingestSeries': ingestSeries,
  'Mutation.eraseUserData': erase,
  'Subscription.metricWindows': ownUser('userId'),
  'Subscription.alerts': alerts,
};

export const adminOnly: Rule = roles('admin');

/** The rule for a root field: its own, or admin-only for a field nobody has classified yet. */
export function ruleFor(coordinate: string): Rule {
  return ROOT_RULES[coordinate] ?? adminOnly;
}

/**
 * The user id an event is about, for the second check on what a subscription delivers: the root
 * is a delivery of a replay-log entry (src/live/hub.ts), `{ event: { event: { userId } } }`.
 */
export function eventUserId(root: unknown): string | undefined {
  const event = (root as { event?: { event?: { userId?: unknown } } } | null)?.event?.event;
  return typeof event?.userId === 'string' ? event.userId : undefined;
}

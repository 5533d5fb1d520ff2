/**
 * What keeps a serving process serving when some callback throws. A request, socket or timer
 * callback that throws (or a promise nobody awaited that rejects) would end a Node process by
 * default; one malformed request must not take every other client down with it. Once a process
 * is serving, such an error is logged with the request it belongs to (when known) and counted in
 * `fitbit_uncaught_errors_total`, and the process goes on. Before that, during start-up, the
 * process still stops: a programmer error there is found at once, not served around.
 *
 * The request id comes from an AsyncLocalStorage scope that the HTTP handler opens around each
 * request; anything the request schedules (a `close` listener, a timer) runs inside it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../logger.js';

export type FaultKind = 'exception' | 'rejection';

interface RequestScope {
  requestId: string;
}

const scope = new AsyncLocalStorage<RequestScope>();
const totals: Record<FaultKind, number> = { exception: 0, rejection: 0 };
let installed: { logger: Logger } | undefined;

/** Runs `fn` with `requestId` attached to everything it schedules. */
export function withRequestScope<T>(requestId: string, fn: () => T): T {
  return scope.run({ requestId }, fn);
}

/** The request id of the scope running now, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

/** Errors caught by the fault scope since the process started, by kind (read by /metrics). */
export function uncaughtTotals(): ReadonlyArray<[{ kind: FaultKind }, number]> {
  return [
    [{ kind: 'exception' }, totals.exception],
    [{ kind: 'rejection' }, totals.rejection],
  ];
}

function record(kind: FaultKind, err: unknown): void {
  totals[kind] += 1;
  installed?.logger.error(
    { err, kind, requestId: currentRequestId() ?? null },
    'uncaught error in a serving process; the process keeps serving',
  );
}

const onException = (err: unknown): void => record('exception', err);
const onRejection = (reason: unknown): void => record('rejection', reason);

/**
 * From now on, uncaught exceptions and unhandled rejections are logged and counted instead of
 * ending the process. Idempotent; `uninstallFaultScope` restores Node's default.
 */
export function installFaultScope(logger: Logger): void {
  if (installed) return;
  installed = { logger };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
}

export function uninstallFaultScope(): void {
  if (!installed) return;
  installed = undefined;
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
}

/**
 * The heartbeat record of the ingestion topic (docs/contracts.md). The gateway writes one into
 * every partition of the ingestion topic every `FLINK_HEARTBEAT_INTERVAL_MS`, stamped with the
 * wall clock. The Flink job reads its `time` for the watermark only (it has no `userId`, so it never
 * reaches a window); every other consumer recognises it by its header and skips it, never as an error.
 */

/** Header that names what kind of record a message of the ingestion topic is; absent means a reading. */
export const RECORD_TYPE_HEADER = 'record-type';
export const HEARTBEAT_RECORD_TYPE = 'heartbeat';

/** The value of a heartbeat: `{"type":"heartbeat","time":"<RFC 3339 UTC>"}`. */
export function heartbeatValue(nowMs: number): string {
  return JSON.stringify({ type: HEARTBEAT_RECORD_TYPE, time: new Date(nowMs).toISOString() });
}

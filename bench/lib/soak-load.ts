/**
 * The soak's load: several clients that each post one `ingestReadings` batch per period for a fixed
 * set of users, stamped with the wall clock (so the job's windows close as time passes), and retry
 * a batch that failed with a retriable Kafka code a bounded number of times, as a client of the
 * contract would. Every batch is kept with its readings and what each attempt saw, for the checks.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';
export const RETRIABLE: ReadonlySet<string> = new Set(['KAFKA_UNAVAILABLE', 'KAFKA_TIMEOUT']);

/** One reading as sent, with its time in epoch milliseconds for the window recomputation. */
export interface SentReading {
  eventId: string;
  userId: string;
  timeMs: number;
  value: number;
}

export interface Batch {
  readings: SentReading[];
  startedAt: number;
  /** When the gateway acknowledged it, if it did. */
  acceptedAt?: number;
  attempts: number;
  /** The error code of each failed attempt. */
  codes: string[];
}

export interface LoadOptions {
  url: string;
  users: string[];
  clients: number;
  batchSize: number;
  /** Each client starts one batch per period (a slow batch delays the next; no catch-up burst). */
  periodMs: number;
  maxAttempts: number;
  retryPauseMs: number;
  /** The client's own bound on one request, above the gateway's acknowledgement timeout. */
  requestTimeoutMs: number;
}

export interface Load {
  readonly batches: Batch[];
  /** Batches acknowledged at or after `since`. */
  accepted(since?: number): number;
  stop(): Promise<void>;
}

interface Answer {
  data?: { ingestReadings: { accepted: number } } | null;
  errors?: { extensions?: { code?: string } }[];
}

export function startLoad(options: LoadOptions): Load {
  const batches: Batch[] = [];
  // Times stay strictly increasing per user: (user, metric, time) is the table's key.
  const lastTime = new Map<string, number>();
  let next = 0;
  let running = true;
  const reading = (): SentReading => {
    const userId = options.users[next++ % options.users.length]!;
    const timeMs = Math.max(Date.now(), (lastTime.get(userId) ?? 0) + 1);
    lastTime.set(userId, timeMs);
    // Whole numbers, so sums compare exactly.
    return { eventId: randomUUID(), userId, timeMs, value: 55 + Math.floor(Math.random() * 60) };
  };
  const post = async (batch: Batch): Promise<Answer> => {
    const body = JSON.stringify({
      query: INGEST,
      variables: {
        r: batch.readings.map((r) => ({
          userId: r.userId,
          metric: 'HEART_RATE',
          time: new Date(r.timeMs).toISOString(),
          value: r.value,
          eventId: r.eventId,
        })),
      },
    });
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      return (await res.json()) as Answer;
    } catch (err) {
      return { data: null, errors: [{ extensions: { code: `NETWORK ${String(err)}` } }] };
    }
  };
  const client = async (): Promise<void> => {
    let due = Date.now();
    while (running) {
      const batch: Batch = {
        readings: Array.from({ length: options.batchSize }, reading),
        startedAt: Date.now(),
        attempts: 0,
        codes: [],
      };
      batches.push(batch);
      while (batch.acceptedAt === undefined && batch.attempts < options.maxAttempts) {
        batch.attempts += 1;
        const res = await post(batch);
        if (res.errors === undefined && res.data?.ingestReadings.accepted === options.batchSize) {
          batch.acceptedAt = Date.now();
          break;
        }
        const code = res.errors?.[0]?.extensions?.code ?? 'NO_CODE';
        batch.codes.push(code);
        if (!RETRIABLE.has(code)) break;
        await sleep(options.retryPauseMs);
      }
      due = Math.max(due + options.periodMs, Date.now());
      await sleep(Math.max(0, due - Date.now()));
    }
  };
  const loops = Array.from({ length: options.clients }, async (_, i) => {
    // Spread the clients over the period instead of posting in lockstep.
    await sleep((i * options.periodMs) / options.clients);
    return client();
  });
  return {
    batches,
    accepted: (since = 0) => batches.filter((b) => b.acceptedAt !== undefined && b.acceptedAt >= since).length,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The longest time without any acknowledgement between `from` and `to`: what clients felt as a stall. */
export function longestGap(batches: Batch[], from: number, to: number): number {
  const acks = batches
    .map((b) => b.acceptedAt)
    .filter((t): t is number => t !== undefined && t >= from && t <= to)
    .sort((a, b) => a - b);
  let gap = 0;
  let last = from;
  for (const t of acks) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

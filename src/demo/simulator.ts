/**
 * The device simulator behind `npm run demo`: a fleet of users `demo-1` ... `demo-N`, each with a
 * device that reports at `rate` ticks per second, stamped with the current time. Besides the steady
 * signals (src/demo/signals.ts) the fleet has a schedule of events that show the pipeline at work:
 * an episode every so often (alternating the Flink job's alert kinds), a late phone sync, a faulty
 * reading the gateway refuses, and optionally a malformed message written straight to Kafka, which
 * the worker sends to the dead-letter topic.
 *
 * Transport-free: readings leave through `send` (the gateway's `ingestReadings`, see
 * ingest.client.ts), raw messages through `sendRaw`, text through `print`.
 */
import {
  EPISODE_KINDS,
  backfillBurst,
  badReading,
  deviceTick,
  initialState,
  profileFor,
  seededRandom,
  startEpisode,
  type AlertThresholds,
  type Random,
  type SimReading,
  type UserProfile,
  type UserState,
} from './signals.js';

export interface SendResult {
  accepted: number;
  rejected: { index: number; code: string; message: string }[];
}

export interface SimulatorOptions {
  /** Number of users, `demo-1` ... `demo-<users>`. */
  users: number;
  /** Device ticks per second per user (each tick sends a heart rate, and other metrics at their cadence). */
  rate: number;
  /** Stop after this many minutes; undefined runs until stop(). */
  minutes?: number | undefined;
  thresholds: AlertThresholds;
  /** The Flink window length, so an episode fills whole windows. */
  windowSeconds: number;
  /** Seconds between episodes across the fleet; 0 turns them off. Default 90. */
  episodeEverySeconds?: number;
  /** Seconds between late syncs (an hour-old burst); 0 turns them off. Default 300. */
  backfillEverySeconds?: number;
  /** Seconds between readings the gateway refuses; 0 turns them off. Default 30. */
  badEverySeconds?: number;
  /** Seconds between malformed messages straight to Kafka (needs sendRaw); 0 turns them off. Default 120. */
  rawBadEverySeconds?: number;
  /** At most this many readings per mutation (the gateway's INGEST_MAX_READINGS). Default 5000. */
  maxBatch?: number;
  send(readings: SimReading[]): Promise<SendResult>;
  /** Writes one message to the ingestion topic as is, bypassing the gateway. */
  sendRaw?: ((key: string, value: string) => Promise<void>) | undefined;
  print(line: string): void;
  /** Default Date.now. */
  now?: () => number;
  /** Default 1. */
  seed?: number;
}

export interface SimulatorStats {
  ticks: number;
  sent: number;
  accepted: number;
  rejected: number;
  rawBad: number;
  episodes: number;
  backfills: number;
  failedSends: number;
}

export interface Simulator {
  start(): Promise<void>;
  /** Stops after the batch in flight; resolves when the loop has ended. */
  stop(): Promise<void>;
  /** Resolves when the loop ends (stop() or --minutes). */
  readonly done: Promise<void>;
  stats(): SimulatorStats;
  /**
   * Sends `days` of past readings for every user (a device tick every `stepSeconds`), ending an
   * hour before now, through the same gateway: what the devices would have sent before the demo
   * started. Returns the readings sent.
   */
  history(days: number, stepSeconds?: number): Promise<number>;
}

const METRIC_LABEL: Record<string, string> = {
  heart_rate: 'hr',
  steps: 'steps',
  calories: 'kcal',
  distance: 'dist',
  spo2: 'spo2',
  breathing_rate: 'br',
  hrv_rmssd: 'hrv',
};

function countByMetric(readings: SimReading[]): string {
  const counts = new Map<string, number>();
  for (const r of readings) counts.set(r.metric, (counts.get(r.metric) ?? 0) + 1);
  return [...counts].map(([m, n]) => `${METRIC_LABEL[m] ?? m} ${n}`).join(', ');
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** Is an event due at `elapsed` seconds, given its period and first occurrence? */
function due(elapsedMs: number, lastMs: number | undefined, everySeconds: number, firstSeconds: number): boolean {
  if (everySeconds <= 0) return false;
  if (lastMs === undefined) return elapsedMs >= Math.min(firstSeconds, everySeconds) * 1000;
  return elapsedMs - lastMs >= everySeconds * 1000;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  if (!Number.isInteger(options.users) || options.users < 1)
    throw new Error(`users: expected 1 or more, got ${options.users}`);
  if (!(options.rate > 0 && options.rate <= 20))
    throw new Error(`rate: expected above 0 and at most 20, got ${options.rate}`);
  if (options.minutes !== undefined && !(options.minutes > 0))
    throw new Error(`minutes: expected above 0, got ${options.minutes}`);
  const now = options.now ?? Date.now;
  const episodeEvery = options.episodeEverySeconds ?? 90;
  const backfillEvery = options.backfillEverySeconds ?? 300;
  const badEvery = options.badEverySeconds ?? 30;
  const rawBadEvery = options.sendRaw ? (options.rawBadEverySeconds ?? 120) : 0;
  const maxBatch = options.maxBatch ?? 5000;
  const dtMs = 1000 / options.rate;
  const random: Random = seededRandom(options.seed ?? 1);
  const fleet: { profile: UserProfile; state: UserState }[] = [];
  for (let i = 1; i <= options.users; i += 1) {
    const profile = profileFor(i);
    fleet.push({ profile, state: initialState(profile) });
  }
  const stats: SimulatorStats = {
    ticks: 0,
    sent: 0,
    accepted: 0,
    rejected: 0,
    rawBad: 0,
    episodes: 0,
    backfills: 0,
    failedSends: 0,
  };
  const last: { episode?: number; backfill?: number; bad?: number; rawBad?: number } = {};
  let running = false;
  let started = false;
  let wake: (() => void) | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  async function history(days: number, stepSeconds = 60): Promise<number> {
    const end = Math.floor((now() - 3_600_000) / 60_000) * 60_000;
    const start = end - days * 86_400_000;
    const stepMs = stepSeconds * 1000;
    const past = fleet.map((u) => ({ profile: u.profile, state: initialState(u.profile) }));
    let batch: SimReading[] = [];
    let sent = 0;
    let tick = 0;
    for (let t = start; t < end; t += stepMs, tick += 1) {
      for (const user of past) {
        const next = deviceTick({
          profile: user.profile,
          state: user.state,
          nowMs: t,
          dtMs: stepMs,
          tick,
          thresholds: options.thresholds,
          random,
        });
        user.state = next.state;
        batch.push(...next.readings);
      }
      const dayDone = (t - start + stepMs) % 86_400_000 === 0;
      if (batch.length >= maxBatch * 4 || dayDone || t + stepMs >= end) {
        await sendAll(batch, `history ${new Date(t).toISOString().slice(0, 10)}`);
        sent += batch.length;
        batch = [];
      }
    }
    return sent;
  }

  const pick = (): { profile: UserProfile; state: UserState } => fleet[Math.floor(random() * fleet.length)]!;

  async function sendAll(readings: SimReading[], what: string): Promise<void> {
    for (let i = 0; i < readings.length; i += maxBatch) {
      const chunk = readings.slice(i, i + maxBatch);
      try {
        const result = await options.send(chunk);
        stats.sent += chunk.length;
        stats.accepted += result.accepted;
        stats.rejected += result.rejected.length;
        const refused = result.rejected
          .slice(0, 3)
          .map((r) => {
            const reading = chunk[r.index];
            return `${reading?.userId ?? '?'} ${reading?.metric ?? '?'}=${reading?.value ?? '?'} ${r.code}`;
          })
          .join('; ');
        options.print(
          `${clock(now())} ${what}: sent ${chunk.length} (${countByMetric(chunk)}), accepted ${result.accepted}` +
            (result.rejected.length > 0 ? `, rejected ${result.rejected.length}: ${refused}` : ''),
        );
      } catch (err) {
        stats.failedSends += 1;
        options.print(`${clock(now())} ${what}: could not send ${chunk.length} readings: ${(err as Error).message}`);
      }
    }
  }

  async function tick(startedMs: number): Promise<void> {
    const t = now();
    const elapsed = t - startedMs;
    const readings: SimReading[] = [];
    const notes: string[] = [];

    if (due(elapsed, last.episode, episodeEvery, 30)) {
      last.episode = elapsed;
      const kind = EPISODE_KINDS[stats.episodes % EPISODE_KINDS.length]!;
      const user = pick();
      user.state = { ...user.state, activity: startEpisode(kind, t, options.windowSeconds) };
      stats.episodes += 1;
      const lasts = user.state.activity.kind === 'rest' ? 0 : user.state.activity.untilMs - t;
      notes.push(`${user.profile.userId}: episode ${kind} for ${Math.round(lasts / 1000)} s`);
    }
    for (const user of fleet) {
      const next = deviceTick({
        profile: user.profile,
        state: user.state,
        nowMs: t,
        dtMs,
        tick: stats.ticks,
        thresholds: options.thresholds,
        random,
      });
      if (next.state.activity.kind === 'walk' && user.state.activity.kind !== 'walk')
        notes.push(`${user.profile.userId}: starts walking`);
      user.state = next.state;
      readings.push(...next.readings);
    }
    if (due(elapsed, last.bad, badEvery, 20)) {
      last.bad = elapsed;
      const user = pick();
      const bad = badReading(user.profile, t, stats.ticks);
      readings.push(bad);
      notes.push(`${user.profile.userId}: faulty reading ${bad.metric}=${bad.value} (expect ${bad.code})`);
    }
    for (const note of notes) options.print(`${clock(t)} ${note}`);
    await sendAll(readings, `tick ${stats.ticks}`);

    if (due(elapsed, last.backfill, backfillEvery, 60)) {
      last.backfill = elapsed;
      const user = pick();
      const burst = backfillBurst(user.profile, t, random);
      stats.backfills += 1;
      options.print(
        `${clock(t)} ${user.profile.userId}: phone syncs late, ${burst.length} readings from ${clock(burst[0]!.timeMs)} to ${clock(burst[burst.length - 1]!.timeMs)}`,
      );
      await sendAll(burst, 'backfill');
    }
    if (options.sendRaw && due(elapsed, last.rawBad, rawBadEvery, 45)) {
      last.rawBad = elapsed;
      const user = pick();
      // Cut-off JSON, as from a producer that crashed mid-write: the worker routes it to the DLQ.
      const value = `{"userId":"${user.profile.userId}","metric":"heart_rate","time":"${new Date(t).toISOString()}","value":7`;
      try {
        await options.sendRaw(user.profile.userId, value.slice(0, -3));
        stats.rawBad += 1;
        options.print(`${clock(t)} ${user.profile.userId}: malformed message straight to Kafka (expect the DLQ)`);
      } catch (err) {
        options.print(`${clock(t)} could not write the malformed message: ${(err as Error).message}`);
      }
    }
    stats.ticks += 1;
  }

  async function loop(): Promise<void> {
    const startedMs = now();
    const endMs = options.minutes === undefined ? Number.POSITIVE_INFINITY : startedMs + options.minutes * 60_000;
    let next = startedMs;
    while (running && now() < endMs) {
      await tick(startedMs);
      next += dtMs;
      // Behind schedule (a slow gateway): skip the missed ticks rather than send a burst to catch up.
      if (next < now()) next = now();
      const wait = next - now();
      if (wait > 0 && running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
    running = false;
    finish();
  }

  return {
    done,
    history,
    stats: () => ({ ...stats }),
    async start() {
      if (started) return;
      started = true;
      running = true;
      options.print(
        `${clock(now())} simulating ${options.users} users (demo-1 ... demo-${options.users}) at ${options.rate} tick/s` +
          (options.minutes !== undefined ? ` for ${options.minutes} min` : ' until Ctrl-C'),
      );
      void loop().catch((err: unknown) => {
        options.print(`simulator stopped: ${(err as Error).message}`);
        running = false;
        finish();
      });
    },
    async stop() {
      running = false;
      if (!started) finish();
      wake?.();
      await done;
    },
  };
}

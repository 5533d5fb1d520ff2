/**
 * Realistic wearable signals for the device simulator (`npm run demo`). Pure: every function takes
 * the time, the user's profile and state, and a random source, and returns numbers or readings, so
 * the shapes (a night lower than a day, steps that come with calories and distance, an episode that
 * crosses the Flink job's thresholds) are unit-tested without a clock or a network.
 */
import type { WireMetric } from '../domain/metrics.js';

/** A uniform random number in [0, 1). */
export type Random = () => number;

/** mulberry32: a small seeded generator, so a simulated fleet is the same on every run and in tests. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Roughly normal noise (sum of uniforms), mean 0, standard deviation `sd`. */
export function noise(random: Random, sd: number): number {
  return (random() + random() + random() + random() - 2) * sd * Math.sqrt(3);
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** Who the simulated person is: fixed for a user, derived from the user's index. */
export interface UserProfile {
  userId: string;
  deviceId: string;
  /** Heart rate at rest, awake, in bpm. */
  restingHeartRate: number;
  /** Metres per step. */
  strideMetres: number;
  /** Body weight in kg: calories per step scale with it. */
  weightKg: number;
  /**
   * Hours ahead of UTC of where the person lives. The fleet spans the globe, so at any moment some
   * users are asleep (SpO2, breathing rate and a low heart rate) while others walk.
   */
  utcOffsetHours: number;
}

export function profileFor(index: number, prefix = 'demo'): UserProfile {
  const random = seededRandom(index * 7919 + 17);
  // demo-1 lives at UTC; the others spread over the day's 24 hours, 7 hours apart.
  const spread = ((((index - 1) * 7) % 24) + 24) % 24;
  return {
    userId: `${prefix}-${index}`,
    deviceId: `sim-${['charge6', 'sense2', 'versa4', 'inspire3'][index % 4]}-${index}`,
    restingHeartRate: Math.round(56 + random() * 18),
    strideMetres: round(0.62 + random() * 0.18, 2),
    weightKg: Math.round(55 + random() * 40),
    utcOffsetHours: spread > 12 ? spread - 24 : spread,
  };
}

/** The person's local hour of day, 0 to 24 (fractional). */
export function localHour(timeMs: number, profile: UserProfile): number {
  const h = (timeMs / 3_600_000 + profile.utcOffsetHours) % 24;
  return h < 0 ? h + 24 : h;
}

/** Asleep from 23:00 to 07:00 local time. */
export function isNight(timeMs: number, profile: UserProfile): boolean {
  const h = localHour(timeMs, profile);
  return h >= 23 || h < 7;
}

/**
 * Circadian component of the heart rate, in bpm relative to the resting rate: lowest around 04:00
 * (about 10 below), highest in the late afternoon (about 4 above), with a drop on falling asleep.
 */
export function circadianOffset(timeMs: number, profile: UserProfile): number {
  const h = localHour(timeMs, profile);
  const cycle = -7 * Math.cos(((h - 4) / 24) * 2 * Math.PI) - 3;
  return isNight(timeMs, profile) ? cycle - 4 : cycle;
}

/** What the person is doing now; changes only through `advance`. */
export type Activity =
  | { kind: 'rest' }
  | { kind: 'walk'; untilMs: number; cadence: number }
  | { kind: 'episode'; episode: EpisodeKind; untilMs: number };

/** The alert kinds of the Flink job (flink/fitbit-processing.sql), one episode kind each. */
export const EPISODE_KINDS = ['elevated_resting_heart_rate', 'low_spo2'] as const;
export type EpisodeKind = (typeof EPISODE_KINDS)[number];

/** The thresholds the Flink job alerts on (config.flink.alerts), so episodes clear them. */
export interface AlertThresholds {
  restHeartRateBpm: number;
  restStepsMax: number;
  spo2Min: number;
}

export interface UserState {
  activity: Activity;
  /** Last heart rate sent: the next one moves from it, as a real heart does. */
  heartRate: number;
}

export function initialState(profile: UserProfile): UserState {
  return { activity: { kind: 'rest' }, heartRate: profile.restingHeartRate };
}

export interface SimReading {
  userId: string;
  metric: WireMetric;
  /** Milliseconds since the epoch. */
  timeMs: number;
  value: number;
  deviceId: string;
}

/** Chance per minute that a person who is awake and resting starts a walk. */
const WALK_START_PER_MINUTE = 0.12;

/**
 * The activity at `nowMs`, given the one before: walks start now and then while awake and end
 * after 2 to 12 minutes; episodes end when their time is up.
 */
export function advance(
  activity: Activity,
  nowMs: number,
  dtMs: number,
  profile: UserProfile,
  random: Random,
): Activity {
  if (activity.kind === 'episode' && nowMs < activity.untilMs) return activity;
  if (activity.kind === 'walk' && nowMs < activity.untilMs && !isNight(nowMs, profile)) return activity;
  // A walk or episode that has ended leaves the person resting for at least this tick.
  if (activity.kind !== 'rest' || isNight(nowMs, profile)) return { kind: 'rest' };
  if (random() < (WALK_START_PER_MINUTE * dtMs) / 60_000) {
    return { kind: 'walk', untilMs: nowMs + (2 + random() * 10) * 60_000, cadence: 95 + random() * 25 };
  }
  return activity;
}

/** Starts an episode that lasts long enough to fill at least two whole Flink windows. */
export function startEpisode(kind: EpisodeKind, nowMs: number, windowSeconds: number): Activity {
  return { kind: 'episode', episode: kind, untilMs: nowMs + Math.max(3 * 60_000, 3 * windowSeconds * 1000) };
}

/** The heart rate the person's state leads to: resting plus circadian, walking, or an episode. */
export function targetHeartRate(
  timeMs: number,
  profile: UserProfile,
  activity: Activity,
  thresholds: AlertThresholds,
): number {
  const base = profile.restingHeartRate + circadianOffset(timeMs, profile);
  if (activity.kind === 'walk') return base + 25 + (activity.cadence - 95) * 0.8;
  // Sitting still with a racing heart: well above the alert threshold, whatever the resting rate.
  if (activity.kind === 'episode' && activity.episode === 'elevated_resting_heart_rate')
    return thresholds.restHeartRateBpm + 18;
  return base;
}

/**
 * One tick of a device: a heart rate every tick, and the other metrics at the cadence a tracker
 * reports them (`tick` counts ticks since start). Returns the readings and the next state.
 */
export function deviceTick(input: {
  profile: UserProfile;
  state: UserState;
  nowMs: number;
  dtMs: number;
  tick: number;
  thresholds: AlertThresholds;
  random: Random;
}): { state: UserState; readings: SimReading[] } {
  const { profile, nowMs, dtMs, tick, thresholds, random } = input;
  const activity = advance(input.state.activity, nowMs, dtMs, profile, random);
  const target = targetHeartRate(nowMs, profile, activity, thresholds);
  // The heart moves a third of the way to its target per tick, plus beat-to-beat noise.
  const episodeHr = activity.kind === 'episode' && activity.episode === 'elevated_resting_heart_rate';
  const moved = episodeHr ? target + noise(random, 3) : input.state.heartRate + (target - input.state.heartRate) / 3;
  const heartRate = clamp(Math.round(moved + noise(random, 1.5)), 35, 200);
  const at = (metric: WireMetric, value: number): SimReading => ({
    userId: profile.userId,
    metric,
    timeMs: nowMs,
    value,
    deviceId: profile.deviceId,
  });
  const readings: SimReading[] = [at('heart_rate', heartRate)];
  const seconds = dtMs / 1000;
  const every = (periodSeconds: number): boolean => tick % Math.max(1, Math.round(periodSeconds / seconds)) === 0;

  if (activity.kind === 'walk') {
    const steps = Math.round((activity.cadence / 60) * seconds * (0.9 + random() * 0.2));
    readings.push(
      at('steps', clamp(steps, 0, 1000)),
      at('distance', clamp(round(steps * profile.strideMetres, 1), 0, 2000)),
      // About 0.04 kcal per step for 70 kg, scaled by weight.
      at('calories', clamp(round(steps * 0.04 * (profile.weightKg / 70), 2), 0, 100)),
    );
  }
  const night = isNight(nowMs, profile);
  if (every(15)) {
    // HRV is higher asleep, lower when active; RMSSD in ms.
    const base = night ? 62 : activity.kind === 'walk' ? 22 : 42;
    readings.push(at('hrv_rmssd', clamp(round(base + noise(random, 6), 1), 1, 300)));
  }
  const lowSpo2 = activity.kind === 'episode' && activity.episode === 'low_spo2';
  if (lowSpo2 && every(5)) {
    // Below the threshold, by a margin, as in an apnoea: one sample suffices for the alert.
    readings.push(at('spo2', clamp(round(thresholds.spo2Min - 3 - random() * 4, 1), 50, 100)));
    readings.push(at('breathing_rate', round(8 + random() * 3, 1)));
  } else if (night && every(30)) {
    readings.push(at('spo2', clamp(round(96.5 + noise(random, 1), 1), thresholds.spo2Min + 1, 100)));
    readings.push(at('breathing_rate', clamp(round(14 + noise(random, 1.2), 1), 8, 24)));
  }
  return { state: { activity, heartRate }, readings };
}

/**
 * A phone that syncs late: `minutes` of one user's heart rate, one reading every `everySeconds`,
 * ending an hour before `nowMs`. Stored by the worker; too late for the Flink windows (they drop it).
 */
export function backfillBurst(
  profile: UserProfile,
  nowMs: number,
  random: Random,
  minutes = 10,
  everySeconds = 10,
): SimReading[] {
  const end = nowMs - 3_600_000;
  const out: SimReading[] = [];
  for (let t = end - minutes * 60_000; t < end; t += everySeconds * 1000) {
    const hr = profile.restingHeartRate + circadianOffset(t, profile) + noise(random, 2);
    out.push({
      userId: profile.userId,
      metric: 'heart_rate',
      timeMs: t,
      value: Math.round(hr),
      deviceId: profile.deviceId,
    });
  }
  return out;
}

/** Readings a faulty device sends, each refused by the gateway with the code beside it. */
export const BAD_READINGS = [
  { code: 'VALUE_OUT_OF_RANGE', metric: 'heart_rate', value: 400, shiftMs: 0 },
  { code: 'VALUE_OUT_OF_RANGE', metric: 'spo2', value: 130, shiftMs: 0 },
  { code: 'TIME_IN_FUTURE', metric: 'steps', value: 12, shiftMs: 3_600_000 },
] as const satisfies readonly { code: string; metric: WireMetric; value: number; shiftMs: number }[];

export function badReading(profile: UserProfile, nowMs: number, which: number): SimReading & { code: string } {
  const bad = BAD_READINGS[((which % BAD_READINGS.length) + BAD_READINGS.length) % BAD_READINGS.length]!;
  return {
    userId: profile.userId,
    metric: bad.metric,
    timeMs: nowMs + bad.shiftMs,
    value: bad.value,
    deviceId: profile.deviceId,
    code: bad.code,
  };
}

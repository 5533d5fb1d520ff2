/**
 * The simulator's signals: a day of simulated devices has the shapes the demo promises, and every
 * reading the gateway should accept passes the same validation the gateway runs.
 */
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/domain/reading.js';
import {
  backfillBurst,
  badReading,
  BAD_READINGS,
  deviceTick,
  initialState,
  isNight,
  localHour,
  profileFor,
  seededRandom,
  startEpisode,
  type Activity,
  type SimReading,
  type UserProfile,
} from '../../src/demo/signals.js';
import { createSimulator, type SendResult } from '../../src/demo/simulator.js';

const thresholds = { restHeartRateBpm: 100, restStepsMax: 10, spo2Min: 90 };
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');

/** Runs one device for `ms` from `fromMs`, one tick per `dtMs`, optionally starting in an activity. */
function simulate(profile: UserProfile, fromMs: number, ms: number, dtMs = 1000, activity?: Activity) {
  const random = seededRandom(42);
  let state = initialState(profile);
  if (activity) state = { ...state, activity };
  const readings: SimReading[] = [];
  const activities: Activity['kind'][] = [];
  for (let i = 0; i * dtMs < ms; i += 1) {
    const next = deviceTick({ profile, state, nowMs: fromMs + i * dtMs, dtMs, tick: i, thresholds, random });
    state = next.state;
    activities.push(state.activity.kind);
    readings.push(...next.readings);
  }
  return { readings, activities };
}

const valuesOf = (rs: SimReading[], metric: string) => rs.filter((r) => r.metric === metric).map((r) => r.value);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('simulated users', () => {
  it('have stable profiles named demo-N, spread over time zones', () => {
    expect(profileFor(1)).toEqual(profileFor(1));
    expect(profileFor(1).userId).toBe('demo-1');
    expect(profileFor(1).utcOffsetHours).toBe(0);
    const offsets = new Set(Array.from({ length: 24 }, (_, i) => profileFor(i + 1).utcOffsetHours));
    expect(offsets.size).toBe(24);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(12);
  });

  it('sleep at local night', () => {
    const p = { ...profileFor(3), utcOffsetHours: 2 };
    expect(localHour(Date.parse('2026-11-20T01:30:00Z'), p)).toBeCloseTo(3.5);
    expect(isNight(Date.parse('2026-11-20T01:30:00Z'), p)).toBe(true);
    expect(isNight(Date.parse('2026-11-20T12:00:00Z'), p)).toBe(false);
  });
});

describe('a simulated day', () => {
  const profile = profileFor(1); // UTC
  const { readings, activities } = simulate(profile, T0, DAY, 5000);

  it('sends only readings the gateway accepts', () => {
    expect(readings.length).toBeGreaterThan(DAY / 5000);
    const refused = readings.filter(
      (r) => !checkFields(r.userId, r.metric, r.timeMs, r.value, undefined, r.deviceId, r.timeMs).ok,
    );
    expect(refused).toEqual([]);
  });

  it('has a circadian heart rate: lower at night than in the afternoon, at rest', () => {
    const restingAt = (fromH: number, toH: number) =>
      readings
        .filter((r) => r.metric === 'heart_rate' && activities[Math.floor((r.timeMs - T0) / 5000)] === 'rest')
        .filter((r) => r.timeMs >= T0 + fromH * 3_600_000 && r.timeMs < T0 + toH * 3_600_000)
        .map((r) => r.value);
    const night = mean(restingAt(2, 5));
    const afternoon = mean(restingAt(15, 18));
    expect(afternoon - night).toBeGreaterThan(8);
    expect(night).toBeGreaterThan(35);
  });

  it('walks in bursts during the day, with calories and distance for the steps', () => {
    const steps = readings.filter((r) => r.metric === 'steps');
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.filter((s) => isNight(s.timeMs, profile))).toEqual([]);
    // Bursts: the walking ticks come in runs, not scattered single ticks.
    const runs = activities
      .join('')
      .split(/(?:rest|episode)+/)
      .filter((s) => s.length > 0);
    expect(runs.length).toBeGreaterThan(3);
    const totalSteps = valuesOf(readings, 'steps').reduce((a, b) => a + b, 0);
    const distance = valuesOf(readings, 'distance').reduce((a, b) => a + b, 0);
    const calories = valuesOf(readings, 'calories').reduce((a, b) => a + b, 0);
    expect(distance / totalSteps).toBeCloseTo(profile.strideMetres, 1);
    expect(calories / totalSteps).toBeGreaterThan(0.02);
    expect(calories / totalSteps).toBeLessThan(0.08);
    // A walk raises the heart rate.
    const walkingHr = readings.filter(
      (r) => r.metric === 'heart_rate' && activities[Math.floor((r.timeMs - T0) / 5000)] === 'walk',
    );
    expect(mean(walkingHr.map((r) => r.value))).toBeGreaterThan(profile.restingHeartRate + 10);
  });

  it('measures SpO2 and breathing rate at night only, within healthy ranges', () => {
    const spo2 = readings.filter((r) => r.metric === 'spo2');
    const breathing = readings.filter((r) => r.metric === 'breathing_rate');
    expect(spo2.length).toBeGreaterThan(100);
    expect(breathing.length).toBe(spo2.length);
    expect(spo2.filter((r) => !isNight(r.timeMs, profile) || r.value < thresholds.spo2Min)).toEqual([]);
    expect(breathing.filter((r) => r.value < 8)).toEqual([]);
  });

  it('reports HRV, higher asleep than awake', () => {
    const hrv = readings.filter((r) => r.metric === 'hrv_rmssd');
    const night = mean(hrv.filter((r) => isNight(r.timeMs, profile)).map((r) => r.value));
    const day = mean(hrv.filter((r) => !isNight(r.timeMs, profile)).map((r) => r.value));
    expect(night - day).toBeGreaterThan(10);
  });
});

describe('episodes raise the Flink alerts', () => {
  const profile = profileFor(5);
  const windowMs = 60_000;
  /** The job's 1-minute tumbling windows over the readings, as avg / min / sum per metric. */
  function windows(readings: SimReading[]) {
    const byWindow = new Map<number, SimReading[]>();
    for (const r of readings) {
      const w = Math.floor(r.timeMs / windowMs) * windowMs;
      byWindow.set(w, [...(byWindow.get(w) ?? []), r]);
    }
    return [...byWindow.values()].map((rs) => ({
      hrAvg: mean(valuesOf(rs, 'heart_rate')),
      steps: valuesOf(rs, 'steps').reduce((a, b) => a + b, 0),
      spo2Min: Math.min(...valuesOf(rs, 'spo2')),
    }));
  }

  it('elevated resting heart rate: at least two whole windows above the threshold with no steps', () => {
    const start = Date.parse('2026-11-20T14:00:00Z');
    const { readings } = simulate(
      profile,
      start,
      4 * 60_000,
      1000,
      startEpisode('elevated_resting_heart_rate', start, 60),
    );
    const alerting = windows(readings).filter(
      (w) => w.hrAvg > thresholds.restHeartRateBpm && w.steps <= thresholds.restStepsMax,
    );
    expect(alerting.length).toBeGreaterThanOrEqual(2);
  });

  it('low SpO2: samples below the threshold, even in the daytime', () => {
    const start = Date.parse('2026-11-20T14:00:00Z');
    const { readings } = simulate(profile, start, 4 * 60_000, 1000, startEpisode('low_spo2', start, 60));
    const alerting = windows(readings).filter((w) => w.spo2Min < thresholds.spo2Min);
    expect(alerting.length).toBeGreaterThanOrEqual(2);
    for (const r of readings) {
      expect(checkFields(r.userId, r.metric, r.timeMs, r.value, undefined, r.deviceId, r.timeMs).ok).toBe(true);
    }
  });

  it('end, and the user rests again', () => {
    const start = Date.parse('2026-11-20T14:00:00Z');
    const { activities } = simulate(profile, start, 5 * 60_000, 1000, startEpisode('low_spo2', start, 60));
    expect(activities[0]).toBe('episode');
    expect(activities.at(-1)).not.toBe('episode');
  });
});

describe('late syncs and faulty readings', () => {
  const profile = profileFor(2);
  const now = Date.parse('2026-11-20T14:00:00Z');

  it('a late sync is an hour old, valid, and in time order', () => {
    const burst = backfillBurst(profile, now, seededRandom(1));
    expect(burst.length).toBe(60);
    expect(burst.at(-1)!.timeMs).toBeLessThan(now - 3_600_000);
    expect(burst[0]!.timeMs).toBeGreaterThanOrEqual(now - 3_600_000 - 10 * 60_000);
    for (let i = 1; i < burst.length; i += 1) expect(burst[i]!.timeMs).toBeGreaterThan(burst[i - 1]!.timeMs);
    for (const r of burst)
      expect(checkFields(r.userId, r.metric, r.timeMs, r.value, undefined, r.deviceId, now).ok).toBe(true);
  });

  it('each faulty reading is refused by the gateway with the code it announces', () => {
    for (let i = 0; i < BAD_READINGS.length; i += 1) {
      const bad = badReading(profile, now, i);
      const check = checkFields(bad.userId, bad.metric, bad.timeMs, bad.value, undefined, bad.deviceId, now);
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.code).toBe(bad.code);
    }
  });
});

describe('the simulator', () => {
  it('sends every user each tick, schedules episodes, late syncs and faulty readings, and stops', async () => {
    let clock = Date.parse('2026-11-20T14:00:00Z');
    const batches: SimReading[][] = [];
    const raw: string[] = [];
    const lines: string[] = [];
    const sim = createSimulator({
      users: 5,
      rate: 1,
      minutes: 3,
      thresholds,
      windowSeconds: 60,
      episodeEverySeconds: 30,
      backfillEverySeconds: 60,
      badEverySeconds: 20,
      rawBadEverySeconds: 45,
      // A fake clock that moves a second per send, so three minutes pass without waiting.
      now: () => clock,
      send: async (readings): Promise<SendResult> => {
        batches.push(readings);
        clock += 1000;
        const rejected = readings
          .map((r, index) => ({ r, index }))
          .filter(({ r }) => !checkFields(r.userId, r.metric, r.timeMs, r.value, undefined, r.deviceId, clock).ok)
          .map(({ index }) => ({ index, code: 'REFUSED', message: 'refused' }));
        return { accepted: readings.length - rejected.length, rejected };
      },
      sendRaw: async (_key, value) => {
        raw.push(value);
      },
      print: (line) => lines.push(line),
    });
    await sim.start();
    await sim.done;
    const stats = sim.stats();
    expect(stats.ticks).toBeGreaterThan(100);
    expect(stats.episodes).toBeGreaterThanOrEqual(4);
    expect(stats.backfills).toBeGreaterThanOrEqual(2);
    expect(stats.rejected).toBeGreaterThanOrEqual(6);
    expect(raw.length).toBeGreaterThanOrEqual(2);
    for (const v of raw) expect(() => JSON.parse(v)).toThrow();
    const users = new Set(batches[0]!.map((r) => r.userId));
    expect([...users].sort()).toEqual(['demo-1', 'demo-2', 'demo-3', 'demo-4', 'demo-5']);
    expect(lines.some((l) => l.includes('episode elevated_resting_heart_rate'))).toBe(true);
    expect(lines.some((l) => l.includes('episode low_spo2'))).toBe(true);
    expect(lines.some((l) => l.includes('rejected 1'))).toBe(true);
    expect(lines.some((l) => l.includes('phone syncs late'))).toBe(true);
  });

  it('refuses options it cannot run', () => {
    const base = {
      thresholds,
      windowSeconds: 60,
      send: async () => ({ accepted: 0, rejected: [] }),
      print: () => undefined,
    };
    expect(() => createSimulator({ ...base, users: 0, rate: 1 })).toThrow(/users/);
    expect(() => createSimulator({ ...base, users: 1, rate: 0 })).toThrow(/rate/);
    expect(() => createSimulator({ ...base, users: 1, rate: 1, minutes: -1 })).toThrow(/minutes/);
  });
});

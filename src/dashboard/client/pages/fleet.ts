/**
 * `/`: the fleet. cohortStats over the last hours with the p50..p95 band, the leaderboard, the
 * alert feed (live), and how fast readings come in and get stored (from pipelineStatus offsets).
 */
import { createElement as h, useEffect, useMemo, useRef, useState } from 'react';
import { Chart } from '../chart.js';
import { labelOf, lastHours, METRICS, number, seconds, time, unitOf, type MetricName } from '../format.js';
import { useLive, usePoll } from '../hooks.js';
import { link, Panel, Problem, Table } from '../ui.js';

interface CohortPoint {
  time: string;
  users: number;
  count: number;
  avg: number;
  p50: number;
  p95: number;
}
interface Alert {
  alertId: string;
  userId: string;
  kind: string;
  time: string;
  message: string;
}

const COHORT = `query FleetCohort($metric: Metric!, $from: DateTime!, $to: DateTime!) {
  cohortStats(metric: $metric, from: $from, to: $to, bucket: FIFTEEN_MINUTES) { time users count avg p50 p95 }
}`;
const MONTH = `query FleetMonth($from: DateTime!, $to: DateTime!) {
  cohortStats(metric: HEART_RATE, from: $from, to: $to, bucket: HOUR) { time users count avg p50 p95 }
}`;
const LEADERBOARD = `query FleetLeaderboard($from: DateTime!, $to: DateTime!) {
  leaderboard(metric: STEPS, from: $from, to: $to, limit: 10) { rank userId value }
}`;
const ALERTS = `subscription FleetAlerts { alerts { alertId userId kind time message } }`;
const OFFSETS = `query FleetRates {
  pipelineStatus {
    topics { name partitions { endOffset } }
    consumerGroups { role partitions { committedOffset } }
  }
}`;

interface Offsets {
  pipelineStatus: {
    topics: { name: string; partitions: { endOffset: number }[] }[];
    consumerGroups: { role: string; partitions: { committedOffset: number | null }[] }[];
  };
}

function CohortPanel() {
  const [metric, setMetric] = useState<MetricName>('HEART_RATE');
  const range = useMemo(() => lastHours(6), []);
  const { data, error } = usePoll<{ cohortStats: CohortPoint[] }>(COHORT, { metric, ...range }, 30_000);
  const points = data?.cohortStats ?? [];
  const lines = useMemo(
    () => [
      { label: 'p50', color: '#2f6fdb', values: points.map((p) => p.p50) },
      { label: 'p95', color: '#2f6fdb', values: points.map((p) => p.p95), dashed: true },
      { label: 'avg', color: '#e07b00', values: points.map((p) => p.avg) },
    ],
    [points],
  );
  const times = useMemo(() => points.map((p) => seconds(p.time)), [points]);
  return h(
    Panel,
    { title: 'Cohort, last 6 hours (15-minute buckets)', id: 'cohort', wide: true },
    h(
      'select',
      { value: metric, onChange: (e: { target: { value: string } }) => setMetric(e.target.value as MetricName) },
      ...METRICS.map(([m]) => h('option', { key: m, value: m }, labelOf(m))),
    ),
    h(Problem, { error }),
    h(Chart, {
      title: `${labelOf(metric)}: p50 to p95 band, average`,
      unit: unitOf(metric),
      times,
      lines,
      band: [0, 1],
    }),
    h('p', { className: 'note' }, `users in the last bucket: ${number(points.at(-1)?.users, 0)}`),
  );
}

/** 30 days of hourly buckets: the closed hours come from the lake's rollups (docs/lake.md). */
function MonthPanel() {
  const range = useMemo(() => lastHours(30 * 24), []);
  const { data, error, elapsedMs } = usePoll<{ cohortStats: CohortPoint[] }>(MONTH, range, 120_000);
  const points = data?.cohortStats ?? [];
  const lines = useMemo(
    () => [
      { label: 'p50', color: '#2f6fdb', values: points.map((p) => p.p50) },
      { label: 'p95', color: '#2f6fdb', values: points.map((p) => p.p95), dashed: true },
    ],
    [points],
  );
  const times = useMemo(() => points.map((p) => seconds(p.time)), [points]);
  const readings = points.reduce((n, p) => n + p.count, 0);
  return h(
    Panel,
    { title: 'Heart rate, last 30 days (hourly)', id: 'month', wide: true },
    h(Problem, { error }),
    h(Chart, { title: 'Heart rate: p50 to p95 band', unit: unitOf('HEART_RATE'), times, lines, band: [0, 1] }),
    h(
      'p',
      { className: 'note', id: 'month-answer' },
      `${number(readings, 0)} readings summarised in ${number(elapsedMs, 0)} ms ` +
        '(closed hours from the lake, the present from the hot store)',
    ),
  );
}

function LeaderboardPanel() {
  const range = useMemo(() => lastHours(24), []);
  const { data, error } = usePoll<{ leaderboard: { rank: number; userId: string; value: number }[] }>(
    LEADERBOARD,
    range,
    60_000,
  );
  return h(
    Panel,
    { title: 'Steps, last 24 hours', id: 'leaderboard' },
    h(Problem, { error }),
    h(Table, {
      head: ['#', 'user', 'steps'],
      rows: (data?.leaderboard ?? []).map((e) => [
        e.rank,
        link(`/users/${encodeURIComponent(e.userId)}`, e.userId),
        number(e.value, 0),
      ]),
    }),
  );
}

function AlertsPanel() {
  const { events, error } = useLive<{ alerts: Alert }, Alert>(ALERTS, {}, (d) => d.alerts);
  return h(
    Panel,
    { title: 'Alerts (live)', id: 'alerts' },
    h(Problem, { error }),
    h(Table, {
      head: ['time', 'user', 'kind', 'message'],
      rows: events.map((a) => [
        time(a.time),
        link(`/users/${encodeURIComponent(a.userId)}`, a.userId),
        a.kind,
        a.message,
      ]),
      empty: 'no alert since this page opened',
    }),
  );
}

/** Readings per second onto the ingestion topic and into the table, from offsets 5 s apart. */
function RatesPanel() {
  const { data, error } = usePoll<Offsets>(OFFSETS, {}, 5_000);
  const samples = useRef<{ at: number; ingested: number; stored: number }[]>([]);
  const [rates, setRates] = useState<{ times: number[]; ingest: number[]; stored: number[] }>({
    times: [],
    ingest: [],
    stored: [],
  });
  useEffect(() => {
    if (!data) return;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const ingestion = data.pipelineStatus.topics.find((t) => t.name.includes('ingestion') && !t.name.includes('dlq'));
    const writer = data.pipelineStatus.consumerGroups.find((g) => g.role === 'timescale-writer');
    const now = Date.now() / 1000;
    samples.current = [
      ...samples.current,
      {
        at: now,
        ingested: sum(ingestion?.partitions.map((p) => p.endOffset) ?? []),
        stored: sum(writer?.partitions.map((p) => p.committedOffset ?? 0) ?? []),
      },
    ].slice(-61);
    const s = samples.current;
    const times: number[] = [];
    const ingest: number[] = [];
    const stored: number[] = [];
    for (let i = 1; i < s.length; i += 1) {
      const dt = s[i]!.at - s[i - 1]!.at;
      times.push(s[i]!.at);
      ingest.push(Math.max(0, (s[i]!.ingested - s[i - 1]!.ingested) / dt));
      stored.push(Math.max(0, (s[i]!.stored - s[i - 1]!.stored) / dt));
    }
    setRates({ times, ingest, stored });
  }, [data]);
  const lines = useMemo(
    () => [
      { label: 'ingested/s', color: '#2f6fdb', values: rates.ingest },
      { label: 'stored/s', color: '#1a9c52', values: rates.stored },
    ],
    [rates],
  );
  return h(
    Panel,
    { title: 'Readings per second', id: 'rates' },
    h(Problem, { error }),
    h('p', { className: 'big' }, `in ${number(rates.ingest.at(-1), 1)}/s · stored ${number(rates.stored.at(-1), 1)}/s`),
    h(Chart, {
      title: 'onto the ingestion topic (readings and the gateways’ heartbeats) and into the table, 5 s samples',
      unit: 'messages/s',
      times: rates.times,
      lines,
      height: 160,
    }),
  );
}

export function FleetPage() {
  return h(
    'div',
    { className: 'grid' },
    h(CohortPanel),
    h(RatesPanel),
    h(MonthPanel),
    h(LeaderboardPanel),
    h(AlertsPanel),
  );
}

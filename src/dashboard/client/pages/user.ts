/**
 * `/users/{id}`: one user. The latest value of each metric, the metric windows the Flink job
 * closes (live), and series charts over a chosen range (average with the min..max band).
 */
import { createElement as h, useMemo, useState } from 'react';
import { Chart } from '../chart.js';
import { labelOf, METRICS, number, seconds, time, unitOf } from '../format.js';
import { useLive, usePoll } from '../hooks.js';
import { Panel, Problem, Table } from '../ui.js';

/** `seriesColumns`: the columns are what the chart draws, so no point objects on either side. */
interface Columns {
  times: string[];
  avg: number[];
  min: number[];
  max: number[];
}
interface Window {
  metric: string;
  windowStart: string;
  windowEnd: string;
  count: number;
  avg: number;
  min: number;
  max: number;
}

const RANGES = [
  { label: '1 hour', hours: 1, bucket: 'MINUTE' },
  { label: '6 hours', hours: 6, bucket: 'FIVE_MINUTES' },
  { label: '24 hours', hours: 24, bucket: 'FIFTEEN_MINUTES' },
  { label: '7 days', hours: 168, bucket: 'HOUR' },
] as const;

const CHARTED = ['HEART_RATE', 'STEPS', 'SPO2'] as const;

const LATEST = `query UserLatest($id: ID!) {
  user(id: $id) {
    id
    ${METRICS.map(([m]) => `${m}: latest(metric: ${m}) { time value }`).join('\n    ')}
  }
}`;
const SERIES = `query UserSeries($id: ID!, $from: DateTime!, $to: DateTime!, $bucket: Bucket!) {
  user(id: $id) {
    ${CHARTED.map((m) => `${m}: seriesColumns(metric: ${m}, from: $from, to: $to, bucket: $bucket) { times avg min max }`).join('\n    ')}
  }
}`;
const WINDOWS = `subscription UserWindows($id: ID!) {
  metricWindows(userId: $id) { metric windowStart windowEnd count avg min max }
}`;

function LatestPanel({ id }: { id: string }) {
  const { data, error } = usePoll<{ user: Record<string, { time: string; value: number } | null> }>(
    LATEST,
    { id },
    10_000,
  );
  return h(
    Panel,
    { title: 'Latest', id: 'latest' },
    h(Problem, { error }),
    h(
      'dl',
      { className: 'latest' },
      ...METRICS.flatMap(([m]) => {
        const r = data?.user[m];
        return [
          h('dt', { key: `${m}-t` }, labelOf(m)),
          h('dd', { key: `${m}-d`, title: r ? time(r.time) : '' }, r ? `${number(r.value)} ${unitOf(m)}` : '–'),
        ];
      }),
    ),
  );
}

function SeriesPanel({ id }: { id: string }) {
  const [rangeIndex, setRangeIndex] = useState(0);
  const range = RANGES[rangeIndex]!;
  const window = useMemo(() => {
    const to = Math.ceil(Date.now() / 60_000) * 60_000;
    return { from: new Date(to - range.hours * 3_600_000).toISOString(), to: new Date(to).toISOString() };
  }, [range.hours]);
  const { data, error } = usePoll<{ user: Record<string, Columns> }>(
    SERIES,
    { id, ...window, bucket: range.bucket },
    30_000,
  );
  return h(
    Panel,
    { title: 'Series', id: 'series', wide: true },
    h(
      'div',
      { className: 'picker' },
      ...RANGES.map((r, i) =>
        h(
          'button',
          { key: r.label, className: i === rangeIndex ? 'on' : '', onClick: () => setRangeIndex(i) },
          r.label,
        ),
      ),
    ),
    h(Problem, { error }),
    ...CHARTED.map((m) => h(MetricChart, { key: m, metric: m, columns: data?.user[m] ?? NO_COLUMNS })),
  );
}

const NO_COLUMNS: Columns = { times: [], avg: [], min: [], max: [] };

function MetricChart({ metric, columns }: { metric: string; columns: Columns }) {
  const times = useMemo(() => columns.times.map(seconds), [columns]);
  const lines = useMemo(
    () => [
      { label: 'min', color: '#7aa2e8', values: columns.min, dashed: true },
      { label: 'max', color: '#7aa2e8', values: columns.max, dashed: true },
      { label: 'avg', color: '#e07b00', values: columns.avg },
    ],
    [columns],
  );
  return h(Chart, { title: labelOf(metric), unit: unitOf(metric), times, lines, band: [0, 1], height: 180 });
}

function WindowsPanel({ id }: { id: string }) {
  const { events, error } = useLive<{ metricWindows: Window }, Window>(WINDOWS, { id }, (d) => d.metricWindows);
  return h(
    Panel,
    { title: 'Metric windows (live)', id: 'windows' },
    h(Problem, { error }),
    h(Table, {
      id: 'windows-table',
      head: ['window', 'metric', 'count', 'avg', 'min', 'max'],
      rows: events.map((w) => [
        `${time(w.windowStart)} – ${new Date(w.windowEnd).toLocaleTimeString(undefined, { hour12: false })}`,
        labelOf(w.metric),
        w.count,
        number(w.avg),
        number(w.min),
        number(w.max),
      ]),
      empty: 'no window closed since this page opened',
    }),
  );
}

export function UserPage({ id }: { id: string }) {
  return h(
    'div',
    null,
    h('h1', null, `User ${id}`),
    h('div', { className: 'grid' }, h(LatestPanel, { id }), h(WindowsPanel, { id }), h(SeriesPanel, { id })),
  );
}

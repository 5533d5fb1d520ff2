/**
 * `/pipeline`: the pipeline as an operator sees it (admin): topics with partitions and end
 * offsets, consumer groups with lag, the Flink job and its checkpoints, the services' health, and
 * the dead-letter topic's recent messages with their codes and reasons.
 */
import { createElement as h } from 'react';
import { number, time } from '../format.js';
import { usePoll } from '../hooks.js';
import { Panel, Problem, Table } from '../ui.js';

const STATUS = `query Pipeline {
  pipelineStatus {
    checkedAt
    topics { name ok retained detail partitions { partition startOffset endOffset } }
    consumerGroups { groupId role topic state members totalLag ok detail }
    flink { name reachable running state jobId checkpointsCompleted checkpointsFailed detail
      lastCheckpoint { id status completedAt durationMs sizeBytes } }
    services { name ok latencyMs detail }
  }
}`;
const DEAD = `query DeadLetters { deadLetters(limit: 20) { partition offset time code message requestId value } }`;

interface Status {
  pipelineStatus: {
    checkedAt: string;
    topics: {
      name: string;
      ok: boolean;
      retained: number;
      detail: string | null;
      partitions: { partition: number; startOffset: number; endOffset: number }[];
    }[];
    consumerGroups: {
      groupId: string;
      role: string;
      topic: string;
      state: string;
      members: number;
      totalLag: number;
      ok: boolean;
      detail: string | null;
    }[];
    flink: {
      name: string;
      reachable: boolean;
      running: boolean;
      state: string | null;
      checkpointsCompleted: number | null;
      checkpointsFailed: number | null;
      detail: string | null;
      lastCheckpoint: { id: number; status: string; completedAt: string | null; durationMs: number | null } | null;
    };
    services: { name: string; ok: boolean; latencyMs: number | null; detail: string | null }[];
  };
}
interface DeadLetter {
  partition: number;
  offset: string;
  time: string;
  code: string;
  message: string;
  requestId: string | null;
  value: string;
}

const ok = (b: boolean) => h('span', { className: b ? 'ok' : 'bad' }, b ? 'ok' : 'failing');

export function PipelinePage() {
  const { data, error } = usePoll<Status>(STATUS, {}, 5_000);
  const dead = usePoll<{ deadLetters: DeadLetter[] }>(DEAD, {}, 5_000);
  const s = data?.pipelineStatus;
  return h(
    'div',
    null,
    h('h1', null, 'Pipeline'),
    h(Problem, { error }),
    s ? h('p', { className: 'note' }, `checked ${time(s.checkedAt)}`) : null,
    h(
      'div',
      { className: 'grid' },
      h(
        Panel,
        { title: 'Topics', id: 'topics' },
        h(Table, {
          head: ['topic', 'partitions', 'end offsets', 'retained', ''],
          rows: (s?.topics ?? []).map((t) => [
            t.name,
            t.partitions.length,
            t.partitions.map((p) => number(p.endOffset, 0)).join(' · '),
            number(t.retained, 0),
            t.ok ? ok(true) : (t.detail ?? ok(false)),
          ]),
        }),
      ),
      h(
        Panel,
        { title: 'Consumer groups', id: 'groups' },
        h(Table, {
          head: ['group', 'reads', 'state', 'members', 'lag'],
          rows: (s?.consumerGroups ?? []).map((g) => [
            g.groupId,
            `${g.role} (${g.topic})`,
            g.state,
            g.members,
            number(g.totalLag, 0),
          ]),
        }),
      ),
      h(
        Panel,
        { title: 'Flink job', id: 'flink' },
        s
          ? h(
              'dl',
              { className: 'latest' },
              h('dt', null, 'job'),
              h('dd', null, s.flink.name),
              h('dt', null, 'state'),
              h('dd', null, s.flink.state ?? (s.flink.reachable ? 'not deployed' : 'JobManager unreachable')),
              h('dt', null, 'checkpoints'),
              h(
                'dd',
                null,
                `${s.flink.checkpointsCompleted ?? '–'} completed, ${s.flink.checkpointsFailed ?? '–'} failed`,
              ),
              h('dt', null, 'last checkpoint'),
              h(
                'dd',
                null,
                s.flink.lastCheckpoint
                  ? `#${s.flink.lastCheckpoint.id} ${s.flink.lastCheckpoint.status} ${time(s.flink.lastCheckpoint.completedAt)} (${number(s.flink.lastCheckpoint.durationMs, 0)} ms)`
                  : '–',
              ),
            )
          : null,
      ),
      h(
        Panel,
        { title: 'Services', id: 'services' },
        h(Table, {
          head: ['service', '', 'latency', 'detail'],
          rows: (s?.services ?? []).map((x) => [x.name, ok(x.ok), `${number(x.latencyMs, 0)} ms`, x.detail ?? '']),
        }),
      ),
      h(
        Panel,
        { title: 'Dead letters (most recent first)', id: 'dead-letters', wide: true },
        h(Problem, { error: dead.error }),
        h(Table, {
          id: 'dead-letters-table',
          head: ['time', 'code', 'reason', 'request', 'message as received'],
          rows: (dead.data?.deadLetters ?? []).map((d) => [
            time(d.time),
            h('code', null, d.code),
            d.message,
            d.requestId ?? '',
            h('code', { className: 'raw' }, d.value.slice(0, 160)),
          ]),
          empty: 'no dead letters',
        }),
      ),
    ),
  );
}

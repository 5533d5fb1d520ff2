/**
 * The produce batcher's rules, with a stand-in for the kafkajs producer (no broker is reached):
 * one request in flight at a time, and a new producer after every failed request, because kafkajs
 * reuses a failed batch's sequence numbers and the broker would drop the next batch as a repeat.
 */
import { describe, expect, it } from 'vitest';
import type { Message, Producer, ProducerRecord } from 'kafkajs';
import { createProduceBatcher, type ProduceOutcome } from '../../src/kafka/produce.batcher.js';
import { keyPartition } from '../../src/kafka/partitioner.js';

interface StandIn {
  id: number;
  sends: ProducerRecord[];
  disconnected: boolean;
  /** Settles the oldest send that is still open. */
  settle(error?: Error): void;
  open: number;
}

function standIns() {
  const made: StandIn[] = [];
  const create = (): Producer => {
    const waiting: { resolve(): void; reject(e: Error): void }[] = [];
    const s: StandIn = {
      id: made.length + 1,
      sends: [],
      disconnected: false,
      get open() {
        return waiting.length;
      },
      settle(error) {
        const w = waiting.shift();
        if (!w) throw new Error(`producer ${s.id} has no open send`);
        if (error) w.reject(error);
        else w.resolve();
      },
    };
    made.push(s);
    const producer = {
      events: { DISCONNECT: 'producer.disconnect' },
      on: () => () => undefined,
      connect: async () => undefined,
      disconnect: async () => {
        s.disconnected = true;
      },
      send: (record: ProducerRecord) => {
        s.sends.push(record);
        return new Promise((resolve, reject) => waiting.push({ resolve: () => resolve([]), reject }));
      },
    };
    return producer as unknown as Producer;
  };
  return { made, create };
}

const msgs = (n: number, prefix: string): Message[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: 'v' }));
const tick = () => new Promise((r) => setImmediate(r));

describe('produce batcher', () => {
  it('keeps one request in flight and sends what arrived meanwhile as the next one', async () => {
    const { made, create } = standIns();
    const outcomes: ProduceOutcome<string>[] = [];
    const b = createProduceBatcher<string>({
      createProducer: create,
      topic: 't',
      partitions: { get: async () => 1 },
      ackTimeoutMs: 1000,
      maxBatchMessages: 100,
      onOutcome: (o) => outcomes.push(o),
    });
    b.add(msgs(2, 'a'), 'a');
    await tick();
    b.add(msgs(3, 'b'), 'b');
    b.add(msgs(1, 'c'), 'c');
    await tick();
    expect(made[0]!.sends.map((r) => r.messages.length)).toEqual([2]);
    made[0]!.settle();
    await tick();
    await tick();
    expect(made[0]!.sends.map((r) => r.messages.length)).toEqual([2, 4]);
    made[0]!.settle();
    await b.drain();
    expect(outcomes.map((o) => [o.tags, o.messages, o.error])).toEqual([
      [['a'], 2, undefined],
      [['b', 'c'], 4, undefined],
    ]);
  });

  it('fails the tags of a failed request and sends everything after it on a new producer', async () => {
    const { made, create } = standIns();
    const outcomes: ProduceOutcome<string>[] = [];
    const replaced: unknown[] = [];
    const b = createProduceBatcher<string>({
      createProducer: create,
      topic: 't',
      partitions: { get: async () => 1 },
      ackTimeoutMs: 1000,
      maxBatchMessages: 100,
      onOutcome: (o) => outcomes.push(o),
      onProducerReplaced: (e) => replaced.push(e),
    });
    b.add(msgs(2, 'a'), 'a');
    await tick();
    b.add(msgs(2, 'b'), 'b'); // waits behind the request that is about to fail
    made[0]!.settle(new Error('Request timed out'));
    await tick();
    await tick();
    expect(made).toHaveLength(2);
    expect(made[0]!.disconnected).toBe(true);
    expect(made[0]!.sends).toHaveLength(1);
    expect(made[1]!.sends.map((r) => r.messages.map((m) => m.key))).toEqual([['b0', 'b1']]);
    made[1]!.settle();
    await b.drain();
    expect(outcomes.map((o) => [o.tags, o.error instanceof Error])).toEqual([
      [['a'], true],
      [['b'], false],
    ]);
    expect(replaced).toHaveLength(1);
  });

  it('splits requests at whole adds past maxBatchMessages', async () => {
    const { made, create } = standIns();
    const b = createProduceBatcher<string>({
      createProducer: create,
      topic: 't',
      partitions: { get: async () => 1 },
      ackTimeoutMs: 1000,
      maxBatchMessages: 5,
      onOutcome: () => undefined,
    });
    b.add(msgs(1, 'x'), 'x'); // flies alone
    await tick();
    b.add(msgs(3, 'a'), 'a');
    b.add(msgs(3, 'b'), 'b');
    b.add(msgs(7, 'c'), 'c');
    const drained = b.drain();
    for (let i = 0; i < 4; i++) {
      await tick();
      if (made[0]!.open > 0) made[0]!.settle();
      await tick();
    }
    await drained;
    expect(made[0]!.sends.map((r) => r.messages.length)).toEqual([1, 3, 3, 7]);
  });

  it('sends each partition of a round on its own, placed by the project partitioner', async () => {
    const { made, create } = standIns();
    const outcomes: ProduceOutcome<string>[] = [];
    const b = createProduceBatcher<string>({
      createProducer: create,
      topic: 't',
      partitions: { get: async () => 3 },
      ackTimeoutMs: 1000,
      maxBatchMessages: 100,
      onOutcome: (o) => outcomes.push(o),
    });
    const keys = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];
    b.add(
      keys.map((key) => ({ key, value: 'v' })),
      'all',
    );
    for (let i = 0; i < 3 && made[0]!.sends.length === 0; i++) await tick();
    const sends = made[0]!.sends;
    const expected = new Set(keys.map((k) => keyPartition(k, 3)));
    expect(sends).toHaveLength(expected.size);
    for (const send of sends) {
      const ps = new Set(send.messages.map((m) => m.partition));
      expect(ps.size).toBe(1);
      for (const m of send.messages) expect(m.partition).toBe(keyPartition(m.key as string, 3));
    }
    // One partition's failure fails the whole mutation: it was not all acknowledged.
    made[0]!.settle(new Error('NOT_LEADER_FOR_PARTITION'));
    while (made[0]!.open > 0) made[0]!.settle();
    await b.drain();
    expect(outcomes.map((o) => [o.tags, o.error instanceof Error])).toEqual([[['all'], true]]);
    expect(made).toHaveLength(2);
  });
});

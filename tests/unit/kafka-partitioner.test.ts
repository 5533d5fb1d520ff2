/** The reading producer's partitioner picks the partitions of kafkajs's DefaultPartitioner (the Java client's). */
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyHashPartitioner, keyPartition, murmur2 } from '../../src/kafka/partitioner.js';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));

describe('the key partitioner', () => {
  it("computes Kafka's murmur2 (the Java client's test vectors)", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).toBe(hash);
  });

  it("picks kafkajs's DefaultPartitioner's partition for every key and partition count", () => {
    let seed = 11;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const alphabet = 'abcXYZ019_.:@-é€😀';
    const keys = [
      '',
      'u',
      'bench-user-1',
      ...Array.from({ length: 2000 }, () => {
        let k = '';
        for (let i = next(70); i >= 0; i -= 1) k += [...alphabet][next([...alphabet].length)];
        return k;
      }),
    ];
    for (const n of [1, 2, 3, 6, 7, 12, 24]) {
      const theirs = Partitioners.DefaultPartitioner();
      const ours = KeyHashPartitioner();
      for (const key of [...keys, ...keys]) {
        const args = { topic: 't', partitionMetadata: metadata(n), message: { key, value: 'v' } };
        const expected = theirs(args);
        expect(ours(args), `${JSON.stringify(key)} over ${n}`).toBe(expected);
        expect(keyPartition(key, n)).toBe(expected);
      }
    }
  });

  it('leaves messages without a string key, and those naming a partition, to kafkajs', () => {
    const ours = KeyHashPartitioner();
    const partitionMetadata = metadata(6);
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'u1', value: 'v', partition: 4 } })).toBe(4);
    const buffer = Buffer.from('u1');
    expect(ours({ topic: 't', partitionMetadata, message: { key: buffer, value: 'v' } })).toBe(keyPartition('u1', 6));
    const unkeyed = new Set(
      Array.from({ length: 60 }, () => ours({ topic: 't', partitionMetadata, message: { key: null, value: 'v' } })),
    );
    expect(unkeyed.size).toBe(6);
  });
});

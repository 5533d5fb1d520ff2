/** The linear per-partition grouping gives kafkajs's result, with the same partitioner calls. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition } from '../../src/kafka/partition-grouping.js';
import { keyPartition } from '../../src/kafka/partitioner.js';

const require = createRequire(import.meta.url);
const kafkajsGrouping =
  require('kafkajs/src/producer/groupMessagesPerPartition.js') as typeof groupMessagesPerPartition;

describe('per-partition grouping', () => {
  it("equals kafkajs's for keyed, unkeyed and explicitly placed messages", () => {
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0 }));
    const messages: { key: string | null; value: string; partition?: number }[] = Array.from(
      { length: 700 },
      (_, i) => ({
        key: i % 5 === 0 ? null : `user-${i % 37}`,
        value: `v${i}`,
        ...(i % 11 === 0 ? { partition: i % 6 } : {}),
      }),
    );
    const calls = (grouping: typeof groupMessagesPerPartition) => {
      const seen: string[] = [];
      // Stateful like kafkajs's round robin for unkeyed messages, but from the same start each run.
      let next = 0;
      const result = grouping({
        topic: 't',
        partitionMetadata,
        messages,
        partitioner: ({ message }) => {
          seen.push(message.value);
          if (message.partition !== undefined) return message.partition;
          return message.key === null ? next++ % 6 : keyPartition(message.key, 6);
        },
      });
      return { result, seen };
    };
    const ours = calls(groupMessagesPerPartition);
    const theirs = calls(kafkajsGrouping);
    expect(ours.result).toEqual(theirs.result);
    expect(Object.keys(ours.result)).toEqual(Object.keys(theirs.result));
    expect(ours.seen).toEqual(theirs.seen);
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual(
      kafkajsGrouping({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }),
    );
  });
});

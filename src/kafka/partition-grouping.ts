/**
 * kafkajs groups a send's messages by partition (`producer/groupMessagesPerPartition.js`) by
 * copying the partition's array for every message: quadratic in the messages of a partition. The
 * gateway's producer coalesces concurrent mutations into one send, so a partition holds thousands
 * of them (one user's series all go to one), and that copying with its garbage became the
 * producer thread's largest cost once the records were written into one buffer. This is the same
 * grouping (same partitioner calls, same order, same result) in one pass.
 *
 * kafkajs takes the function when its producer module loads, so it has to be in place before
 * kafkajs is first loaded: src/kafka/partition-grouping.install.ts does that as the first import
 * of the producer thread.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

/**
 * Puts groupMessagesPerPartition in kafkajs's place. False when kafkajs's producer is loaded
 * already (its own grouping then stays) or its layout is not the one this was written against.
 */
export function useLinearPartitionGrouping(): boolean {
  let path: string;
  let sendMessages: string;
  try {
    path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    sendMessages = require.resolve('kafkajs/src/producer/sendMessages.js');
  } catch {
    return false;
  }
  const cached = require.cache[path];
  if (cached) return cached.exports === groupMessagesPerPartition;
  if (require.cache[sendMessages]) return false;
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = groupMessagesPerPartition;
  require.cache[path] = module;
  return true;
}

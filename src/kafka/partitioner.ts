/**
 * The Java client's default partitioner for keyed messages, the one kafkajs ships as
 * `Partitioners.DefaultPartitioner`: murmur2 of the key's UTF-8 bytes, made positive, modulo the
 * topic's partition count. Same partitions, computed with 32-bit integer arithmetic (kafkajs
 * emulates it with 64-bit Long objects, several allocations per byte group) and remembered per
 * key: a user's readings all hash once, whatever their number. Messages without a string key
 * (unkeyed, or a Buffer key) and messages naming their partition go to kafkajs's own.
 */
import { Partitioners, type ICustomPartitioner } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
/** Distinct keys remembered before the memory starts over (user ids: a few MiB at most). */
const MAX_REMEMBERED_KEYS = 100_000;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i += 1) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key among `partitions`, as the Java client and kafkajs's DefaultPartitioner pick it. */
export function keyPartition(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

export const KeyHashPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  const hashes = new Map<string, number>();
  return (args) => {
    const { message, partitionMetadata } = args;
    const key = message.key;
    if ((message.partition !== undefined && message.partition !== null) || typeof key !== 'string') {
      return fallback(args);
    }
    let hash = hashes.get(key);
    if (hash === undefined) {
      hash = murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff;
      if (hashes.size >= MAX_REMEMBERED_KEYS) hashes.clear();
      hashes.set(key, hash);
    }
    return hash % partitionMetadata.length;
  };
};

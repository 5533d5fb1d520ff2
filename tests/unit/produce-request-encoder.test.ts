/** The one-buffer Produce request encoder writes kafkajs's bytes, and leaves to kafkajs what it cannot write. */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32c } from '../../src/kafka/crc32c.js';
import {
  encodeProduceRequest,
  useOneBufferProduceEncoding,
  type ProduceMessage,
  type ProduceRequestArgs,
} from '../../src/kafka/produce-request.encoder.js';

const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
type RequestFactory = (args: ProduceRequestArgs) => { encode(): Promise<Encoded>; apiVersion: number };
const kafkajsRequest = (version: number) =>
  require(`kafkajs/src/protocol/requests/produce/v${version}/request.js`) as RequestFactory;
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

const NOW = 1_767_225_600_123;
afterEach(() => vi.restoreAllMocks());

async function kafkajsBytes(args: ProduceRequestArgs, version = 3): Promise<Buffer> {
  vi.spyOn(Date, 'now').mockReturnValue(NOW);
  const encoded = await kafkajsRequest(version)(args).encode();
  vi.restoreAllMocks();
  return encoded.buffer;
}

/** A pseudo-random generator, so that the cases are the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

const readingHeaders = { 'schema-version': '1', 'request-id': 'req-42' };
function readingMessages(n: number, user: (i: number) => string): ProduceMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    key: user(i),
    value: JSON.stringify({ eventId: `evt-${i}`, userId: user(i), metric: 'heart_rate', time: NOW + i, value: 60 + i }),
    headers: readingHeaders,
  }));
}

const base = { acks: -1, timeout: 30_000, producerId: Long.fromValue(4711), producerEpoch: 3 };

describe('crc32c', () => {
  it("equals kafkajs's CRC-32C for any length and alignment", () => {
    const next = random(7);
    const data = Buffer.from(Array.from({ length: 4099 }, () => Math.floor(next() * 256)));
    for (const [start, end] of [
      [0, 0],
      [0, 1],
      [0, 7],
      [0, 8],
      [3, 20],
      [5, 4099],
      [0, 4099],
    ] as const) {
      expect(crc32c(data, start, end), `${start}..${end}`).toBe(kafkajsCrc(data.subarray(start, end)));
    }
    // The check value of CRC-32C.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

describe('the one-buffer Produce request encoder', () => {
  it("writes the gateway's readings as kafkajs does: several partitions, idempotent sequences", async () => {
    const args: ProduceRequestArgs = {
      ...base,
      topicData: [
        {
          topic: 'fitbit_ingestion',
          partitions: [
            { partition: 0, firstSequence: 0, messages: readingMessages(3, (i) => `user-${i}`) },
            // Over 127 records and values over 127 bytes: multi-byte varints.
            { partition: 5, firstSequence: 9_000, messages: readingMessages(300, (i) => `bench-user-${i % 7}`) },
          ],
        },
      ],
    };
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const ours = encodeProduceRequest(args);
    vi.restoreAllMocks();
    expect(ours).toBeDefined();
    expect(ours!.equals(await kafkajsBytes(args))).toBe(true);
  });

  it('writes null and Buffer keys and values, multi-byte text, header lists and Buffers, several topics, a transactional id', async () => {
    const long = 'ü'.repeat(9_000); // 18,000 bytes: a three-byte varint
    const messages: ProduceMessage[] = [
      { key: null, value: 'no key' },
      { key: Buffer.from([1, 2, 3]), value: Buffer.from('buffer value') },
      { key: 'k', value: null, headers: {} },
      { key: 'grüße', value: long, headers: { a: ['x', 'yy'], b: Buffer.from([0, 255]), ключ: 'значение' } },
      { key: undefined, value: '', headers: { only: '' } },
    ];
    const args: ProduceRequestArgs = {
      ...base,
      transactionalId: 'tx-1',
      topicData: [
        { topic: 'one', partitions: [{ partition: 2, firstSequence: 1, messages }] },
        { topic: 'twö', partitions: [{ partition: 0, messages: messages.slice(1) }] },
      ],
    };
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const ours = encodeProduceRequest(args);
    vi.restoreAllMocks();
    expect(ours!.equals(await kafkajsBytes(args))).toBe(true);
    // A producer that is not idempotent: no producer id, epoch or sequence given.
    const plain = { acks: 1, timeout: 1000, topicData: args.topicData };
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const oursPlain = encodeProduceRequest(plain);
    vi.restoreAllMocks();
    expect(oursPlain!.equals(await kafkajsBytes(plain))).toBe(true);
  });

  it('leaves compression, message timestamps and other value types to kafkajs', () => {
    const topicData = (messages: ProduceMessage[]) => [{ topic: 't', partitions: [{ partition: 0, messages }] }];
    expect(encodeProduceRequest({ ...base, compression: 1, topicData: topicData([{ value: 'v' }]) })).toBeUndefined();
    expect(encodeProduceRequest({ ...base, topicData: topicData([{ value: 'v', timestamp: NOW }]) })).toBeUndefined();
    const numberValue = { value: 5 } as unknown as ProduceMessage;
    expect(encodeProduceRequest({ ...base, topicData: topicData([numberValue]) })).toBeUndefined();
    const numberHeader = { value: 'v', headers: { n: 5 } } as unknown as ProduceMessage;
    expect(encodeProduceRequest({ ...base, topicData: topicData([numberHeader]) })).toBeUndefined();
  });

  it("once in use, kafkajs's Produce v3 to v7 requests carry the same bytes, and fall back where they must", async () => {
    expect(useOneBufferProduceEncoding()).toBe(true);
    const produce = require('kafkajs/src/protocol/requests/produce/index.js') as {
      protocol(v: { version: number }): (args: ProduceRequestArgs) => {
        request: { encode(): Promise<Encoded>; apiVersion: number };
      };
    };
    const readings = {
      ...base,
      topicData: [{ topic: 't', partitions: [{ partition: 1, messages: readingMessages(20, String) }] }],
    };
    const stamped = {
      ...base,
      topicData: [{ topic: 't', partitions: [{ partition: 1, messages: [{ value: 'v', timestamp: NOW - 5 }] }] }],
    };
    for (const version of [3, 4, 5, 6, 7]) {
      for (const args of [readings, stamped]) {
        vi.spyOn(Date, 'now').mockReturnValue(NOW);
        const { request } = produce.protocol({ version })(args);
        const bytes = (await request.encode()).buffer;
        vi.restoreAllMocks();
        expect(request.apiVersion).toBe(version);
        expect(bytes.equals(await kafkajsBytes(args, version)), `v${version}`).toBe(true);
      }
    }
  });
});

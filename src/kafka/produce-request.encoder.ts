/**
 * The body of a Produce request (versions 3 to 7, record batches of magic 2) written into one
 * buffer: the bytes kafkajs's own encoder (`protocol/requests/produce/v3/request.js`) writes, without
 * its Buffer per record, per varint and per header, its Long arithmetic and its copies of every
 * record into the batch, the batch into the partition and the partition into the request. In the
 * gateway's producer that encoding, and the garbage it leaves, was about two thirds of the
 * producer's CPU.
 *
 * `useOneBufferProduceEncoding()` makes kafkajs use it for every produce request of the process
 * that it can write byte for byte: no compression, no message timestamps, keys, values and header
 * values that are strings or Buffers. Anything else (or a kafkajs other than the one it was written
 * against) keeps kafkajs's own encoder. tests/unit/produce-request-encoder.test.ts compares the
 * two byte for byte; kafkajs still does everything else (partitioning, idempotent sequences, retries,
 * the connection).
 */
import { createRequire } from 'node:module';
import { crc32c } from './crc32c.js';

const require = createRequire(import.meta.url);

/** The kafkajs release whose internals (module paths, request shapes) this was written against. */
const KAFKAJS_VERSION = '2.2.4';
const MAGIC = 2;
const TRANSACTIONAL = 16;

type Bytes = string | Buffer;

/** A message as kafkajs hands it to the request encoder (after partitioning). */
export interface ProduceMessage {
  key?: Bytes | null | undefined;
  value: Bytes | null;
  headers?: Record<string, Bytes | Bytes[] | undefined> | undefined;
  timestamp?: string | number | undefined;
  partition?: number | undefined;
}

export interface ProduceTopicData {
  topic: string;
  partitions: { partition: number; firstSequence?: number | undefined; messages: ProduceMessage[] }[];
}

/** The arguments kafkajs passes to a Produce request of version 3 and later. */
export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null | undefined;
  /** A kafkajs Long, a bigint or a number; -1 when the producer is not idempotent. */
  producerId?: unknown;
  producerEpoch?: number | undefined;
  compression?: number | undefined;
  topicData: ProduceTopicData[];
}

interface LongModule {
  fromValue(value: unknown): { value: bigint };
}

let longModule: LongModule | undefined;
function toInt64(value: unknown): bigint {
  if (typeof value === 'bigint') return BigInt.asIntN(64, value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  longModule ??= require('kafkajs/src/utils/long') as LongModule;
  return BigInt.asIntN(64, longModule.fromValue(value).value);
}

/** Bytes of a zigzag varint. */
function varIntSize(value: number): number {
  let v = (value << 1) ^ (value >> 31);
  let bytes = 1;
  while ((v & 0xffffff80) !== 0) {
    bytes += 1;
    v >>>= 7;
  }
  return bytes;
}

function writeVarInt(buf: Buffer, offset: number, value: number): number {
  let v = (value << 1) ^ (value >> 31);
  while ((v & 0xffffff80) !== 0) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v & 0x7f;
  return offset;
}

const byteLength = (b: Bytes): number => (typeof b === 'string' ? Buffer.byteLength(b, 'utf8') : b.length);
const isBytes = (b: unknown): b is Bytes => typeof b === 'string' || Buffer.isBuffer(b);

function writeBytes(buf: Buffer, offset: number, b: Bytes, length: number): number {
  if (typeof b === 'string') buf.write(b, offset, length, 'utf8');
  else b.copy(buf, offset);
  return offset + length;
}

/**
 * A message's headers as they sit in a record (count, then each key and value), or undefined when
 * kafkajs's encoder is needed for them (a value that is neither a string nor a Buffer).
 */
function headerBytes(headers: ProduceMessage['headers']): Buffer | undefined {
  const entries: [string, Bytes][] = [];
  for (const key of Object.keys(headers ?? {})) {
    const value = headers![key];
    if (Array.isArray(value)) {
      for (const v of value) {
        if (!isBytes(v)) return undefined;
        entries.push([key, v]);
      }
    } else {
      if (!isBytes(value)) return undefined;
      entries.push([key, value]);
    }
  }
  let size = varIntSize(entries.length);
  for (const [k, v] of entries) {
    const kl = Buffer.byteLength(k, 'utf8');
    const vl = byteLength(v);
    size += varIntSize(kl) + kl + varIntSize(vl) + vl;
  }
  const buf = Buffer.allocUnsafe(size);
  let o = writeVarInt(buf, 0, entries.length);
  for (const [k, v] of entries) {
    const kl = Buffer.byteLength(k, 'utf8');
    o = writeBytes(buf, writeVarInt(buf, o, kl), k, kl);
    const vl = byteLength(v);
    o = writeBytes(buf, writeVarInt(buf, o, vl), v, vl);
  }
  return buf;
}

/** One partition's messages, measured: what pass two writes without measuring again. */
interface MeasuredPartition {
  partition: number;
  firstSequence: number;
  messages: ProduceMessage[];
  keyLengths: Int32Array;
  valueLengths: Int32Array;
  headers: Buffer[];
  recordsSize: number;
}

const RECORD_BATCH_OVERHEAD = 8 + 4 + 4 + 1 + 4; // first offset, length, leader epoch, magic, crc
const BATCH_BODY_HEADER = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4; // attributes .. first sequence, record count

/** Measures a partition's records; undefined when one of them needs kafkajs's encoder. */
function measure(p: ProduceTopicData['partitions'][number]): MeasuredPartition | undefined {
  const { messages } = p;
  const n = messages.length;
  const keyLengths = new Int32Array(n);
  const valueLengths = new Int32Array(n);
  const headers = new Array<Buffer>(n);
  let lastHeaders: ProduceMessage['headers'] | null = null;
  let lastHeaderBytes: Buffer | undefined;
  let recordsSize = 0;
  for (let i = 0; i < n; i += 1) {
    const m = messages[i]!;
    if (m.timestamp !== undefined && m.timestamp !== null) return undefined;
    const { key, value } = m;
    let body = 1 + 1 + varIntSize(i); // attributes, timestamp delta 0, offset delta
    if (key === undefined || key === null) {
      keyLengths[i] = -1;
      body += 1;
    } else if (isBytes(key)) {
      const l = byteLength(key);
      keyLengths[i] = l;
      body += varIntSize(l) + l;
    } else return undefined;
    if (value === undefined || value === null) {
      valueLengths[i] = -1;
      body += 1;
    } else if (isBytes(value)) {
      const l = byteLength(value);
      valueLengths[i] = l;
      body += varIntSize(l) + l;
    } else return undefined;
    // Messages of one publish share one headers object: encoded once.
    if (m.headers !== lastHeaders || lastHeaderBytes === undefined) {
      lastHeaders = m.headers;
      lastHeaderBytes = headerBytes(m.headers);
      if (lastHeaderBytes === undefined) return undefined;
    }
    headers[i] = lastHeaderBytes;
    body += lastHeaderBytes.length;
    recordsSize += varIntSize(body) + body;
  }
  return {
    partition: p.partition,
    firstSequence: p.firstSequence ?? 0,
    messages,
    keyLengths,
    valueLengths,
    headers,
    recordsSize,
  };
}

/**
 * The Produce request body kafkajs would write for `args`, or undefined when kafkajs's own encoder
 * must write it (compression, timestamps, keys or values of other types).
 */
export function encodeProduceRequest(args: ProduceRequestArgs, now: () => number = Date.now): Buffer | undefined {
  if ((args.compression ?? 0) !== 0) return undefined;
  const transactionalId = args.transactionalId ?? null;
  const producerId = toInt64(args.producerId ?? -1);
  const producerEpoch = args.producerEpoch ?? 0;
  const attributes = transactionalId ? TRANSACTIONAL : 0;

  const topics: { name: string; nameLength: number; partitions: MeasuredPartition[] }[] = [];
  let size = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId, 'utf8')) + 2 + 4 + 4;
  for (const t of args.topicData) {
    const nameLength = Buffer.byteLength(t.topic, 'utf8');
    const partitions: MeasuredPartition[] = [];
    size += 2 + nameLength + 4;
    for (const p of t.partitions) {
      const measured = measure(p);
      if (!measured) return undefined;
      partitions.push(measured);
      size += 4 + 4 + RECORD_BATCH_OVERHEAD + BATCH_BODY_HEADER + measured.recordsSize;
    }
    topics.push({ name: t.topic, nameLength, partitions });
  }

  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  if (transactionalId === null) o = buf.writeInt16BE(-1, o);
  else {
    const l = Buffer.byteLength(transactionalId, 'utf8');
    o = buf.writeInt16BE(l, o);
    o += buf.write(transactionalId, o, l, 'utf8');
  }
  o = buf.writeInt16BE(args.acks, o);
  o = buf.writeInt32BE(args.timeout, o);
  o = buf.writeInt32BE(topics.length, o);
  for (const t of topics) {
    o = buf.writeInt16BE(t.nameLength, o);
    o += buf.write(t.name, o, t.nameLength, 'utf8');
    o = buf.writeInt32BE(t.partitions.length, o);
    for (const p of t.partitions) {
      const bodySize = BATCH_BODY_HEADER + p.recordsSize;
      const batchSize = 4 + 1 + 4 + bodySize;
      const timestamp = BigInt(now());
      const n = p.messages.length;
      o = buf.writeInt32BE(p.partition, o);
      o = buf.writeInt32BE(8 + 4 + batchSize, o);
      o = buf.writeBigInt64BE(0n, o); // first offset
      o = buf.writeInt32BE(batchSize, o);
      o = buf.writeInt32BE(0, o); // partition leader epoch
      o = buf.writeInt8(MAGIC, o);
      const crcAt = o;
      o += 4;
      const bodyAt = o;
      o = buf.writeInt16BE(attributes, o);
      o = buf.writeInt32BE(n - 1, o); // last offset delta
      o = buf.writeBigInt64BE(timestamp, o); // first timestamp
      o = buf.writeBigInt64BE(timestamp, o); // max timestamp
      o = buf.writeBigInt64BE(producerId, o);
      o = buf.writeInt16BE(producerEpoch, o);
      o = buf.writeInt32BE(p.firstSequence, o);
      o = buf.writeInt32BE(n, o);
      for (let i = 0; i < n; i += 1) {
        const m = p.messages[i]!;
        const kl = p.keyLengths[i]!;
        const vl = p.valueLengths[i]!;
        const h = p.headers[i]!;
        const body =
          2 + varIntSize(i) + (kl < 0 ? 1 : varIntSize(kl) + kl) + (vl < 0 ? 1 : varIntSize(vl) + vl) + h.length;
        o = writeVarInt(buf, o, body);
        buf[o++] = 0; // attributes
        buf[o++] = 0; // timestamp delta: no message carries a timestamp
        o = writeVarInt(buf, o, i);
        o = writeVarInt(buf, o, kl);
        if (kl >= 0) o = writeBytes(buf, o, m.key!, kl);
        o = writeVarInt(buf, o, vl);
        if (vl >= 0) o = writeBytes(buf, o, m.value!, vl);
        o += h.copy(buf, o);
      }
      buf.writeUInt32BE(crc32c(buf, bodyAt, o), crcAt);
    }
  }
  if (o !== size) throw new Error(`produce request encoder: wrote ${o} bytes, measured ${size}`);
  return buf;
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}
interface ProduceProtocol {
  versions: string[];
  protocol(v: { version: number }): (args: ProduceRequestArgs) => {
    request: { encode(): Promise<KafkajsEncoder> };
    response: unknown;
  };
}

let installed = false;

/**
 * Makes kafkajs write Produce requests (v3 and later) with encodeProduceRequest whenever it can;
 * once per process, later calls do nothing. Returns whether the encoder is in use: false for a
 * kafkajs other than 2.2.4, whose internals may differ (kafkajs's own encoder then stays).
 */
export function useOneBufferProduceEncoding(): boolean {
  if (installed) return true;
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== KAFKAJS_VERSION) return false;
  const produce = require('kafkajs/src/protocol/requests/produce/index.js') as ProduceProtocol;
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder;
  const original = produce.protocol.bind(produce);
  produce.protocol = ({ version: apiVersion }) => {
    const make = original({ version: apiVersion });
    if (apiVersion < 3) return make;
    return (args) => {
      const built = make(args);
      const encodeWithKafkajs = built.request.encode.bind(built.request);
      built.request.encode = async () => {
        const body = encodeProduceRequest(args);
        if (!body) return encodeWithKafkajs();
        // kafkajs's Encoder reads `buf` up to `offset`; an exact-size buffer needs no copy here.
        const encoder = new Encoder();
        encoder.buf = body;
        encoder.offset = body.length;
        return encoder;
      };
      return built;
    };
  };
  installed = true;
  return true;
}

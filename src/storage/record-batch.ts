import { crc32c } from '@node-rs/crc32';
import { GregorError } from '../errors.js';
import { compressRecords, decompressRecords } from './compression.js';

/**
 * Record batch, laid out byte for byte like Kafka's RecordBatch v2 so a Kafka listener can
 * serve it unchanged. All integers are big-endian.
 *
 *   offset size field
 *        0    8 baseOffset            assigned by the broker on append
 *        8    4 batchLength           bytes that follow this field (total length - 12)
 *       12    4 partitionLeaderEpoch  assigned by the broker on append
 *       16    1 magic                 always 2
 *       17    4 crc                   CRC32C of bytes 21..end (so 0..20 may be rewritten freely)
 *       21    2 attributes            bits 0-2 compression (0 none, 2 snappy, 3 lz4), bit 3 log-append-time
 *       23    4 lastOffsetDelta       recordCount - 1
 *       27    8 baseTimestamp         ms since epoch of the first record
 *       35    8 maxTimestamp          largest record timestamp
 *       43    8 producerId            -1 when not idempotent
 *       51    2 producerEpoch         -1 when not idempotent
 *       53    4 baseSequence          -1 when not idempotent
 *       57    4 recordCount
 *       61    - records (possibly compressed as one block)
 *
 * Each record: length varint, attributes int8 (0), timestampDelta varlong, offsetDelta varint,
 * keyLength varint (-1 = null), key, valueLength varint (-1 = null), value, headerCount varint,
 * then per header keyLength varint, key (UTF-8), valueLength varint, value. Varints are zigzag.
 */
export const BATCH_HEADER_BYTES = 61;
export const BATCH_MAGIC = 2;
/** Bytes before `batchLength`'s payload: baseOffset + batchLength. */
export const BATCH_LENGTH_PREFIX_BYTES = 12;

export const OFF_BASE_OFFSET = 0;
export const OFF_BATCH_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORD_COUNT = 57;

export type Compression = 'none' | 'snappy' | 'lz4';
const CODEC_BITS: Record<Compression, number> = { none: 0, snappy: 2, lz4: 3 };
const CODEC_BY_BITS: Record<number, Compression | undefined> = { 0: 'none', 2: 'snappy', 3: 'lz4' };

export interface RecordHeader {
  key: string;
  value: Buffer;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[] | Record<string, string | Buffer>;
  /** ms since epoch; defaults to the batch's timestamp. */
  timestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  /** Total size of the batch in bytes, header included. */
  sizeBytes: number;
  leaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: Compression;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface EncodeBatchOptions {
  compression?: Compression;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Timestamp for records that carry none; default Date.now(). */
  timestamp?: number;
  baseOffset?: number;
  leaderEpoch?: number;
}

export function readInt64(buf: Buffer, off: number): number {
  return buf.readInt32BE(off) * 0x1_0000_0000 + buf.readUInt32BE(off + 4);
}

export function writeInt64(buf: Buffer, value: number, off: number): void {
  buf.writeInt32BE(Math.floor(value / 0x1_0000_0000), off);
  buf.writeUInt32BE(value >>> 0, off + 4);
}

// --- zigzag varints, safe for any integer up to 2^53 -------------------------------------------

function zigzagSize(value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeZigzag(buf: Buffer, value: number, off: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[off++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

/** Cursor over a byte range that fails with the byte position when a field runs past its end. */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  zigzag(field: string): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw corrupt(`${field} varint runs past the end`, this.pos);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      mul *= 128;
    }
    throw corrupt(`${field} varint is longer than 8 bytes`, this.pos);
  }

  bytes(len: number, field: string): Buffer {
    if (len < 0 || this.pos + len > this.end)
      throw corrupt(`${field} of ${len} bytes runs past the end`, this.pos);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

function corrupt(what: string, pos: number): GregorError {
  return new GregorError('CORRUPT_MESSAGE', `record batch: ${what} (byte ${pos})`);
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

function normaliseHeaders(h: RecordInput['headers']): RecordHeader[] {
  if (!h) return [];
  if (Array.isArray(h)) return h;
  return Object.entries(h).map(([key, value]) => ({ key, value: toBuffer(value) }));
}

/** Builds a batch from records. The broker never calls this on the hot path; clients do. */
export function encodeBatch(records: readonly RecordInput[], opts: EncodeBatchOptions = {}): Buffer {
  if (records.length === 0)
    throw new GregorError('INVALID_ARGUMENT', 'a record batch needs at least one record');
  const now = opts.timestamp ?? Date.now();
  const baseTimestamp = records[0]!.timestamp ?? now;
  let maxTimestamp = baseTimestamp;
  type Prepared = {
    key: Buffer | null;
    value: Buffer | null;
    headers: { key: Buffer; value: Buffer }[];
    tsDelta: number;
    bodySize: number;
  };
  const prepared: Prepared[] = [];
  let recordsBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? now;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const key = r.key == null ? null : toBuffer(r.key);
    const value = r.value == null ? null : toBuffer(r.value);
    const headers = normaliseHeaders(r.headers).map((h) => ({ key: Buffer.from(h.key), value: h.value }));
    const tsDelta = ts - baseTimestamp;
    let bodySize = 1 + zigzagSize(tsDelta) + zigzagSize(i);
    bodySize += key ? zigzagSize(key.length) + key.length : 1;
    bodySize += value ? zigzagSize(value.length) + value.length : 1;
    bodySize += zigzagSize(headers.length);
    for (const h of headers)
      bodySize += zigzagSize(h.key.length) + h.key.length + zigzagSize(h.value.length) + h.value.length;
    recordsBytes += zigzagSize(bodySize) + bodySize;
    prepared.push({ key, value, headers, tsDelta, bodySize });
  }
  let body: Buffer = Buffer.allocUnsafe(recordsBytes);
  let p = 0;
  for (let i = 0; i < prepared.length; i++) {
    const r = prepared[i]!;
    p = writeZigzag(body, r.bodySize, p);
    body[p++] = 0;
    p = writeZigzag(body, r.tsDelta, p);
    p = writeZigzag(body, i, p);
    if (r.key) {
      p = writeZigzag(body, r.key.length, p);
      p += r.key.copy(body, p);
    } else p = writeZigzag(body, -1, p);
    if (r.value) {
      p = writeZigzag(body, r.value.length, p);
      p += r.value.copy(body, p);
    } else p = writeZigzag(body, -1, p);
    p = writeZigzag(body, r.headers.length, p);
    for (const h of r.headers) {
      p = writeZigzag(body, h.key.length, p);
      p += h.key.copy(body, p);
      p = writeZigzag(body, h.value.length, p);
      p += h.value.copy(body, p);
    }
  }
  const compression = opts.compression ?? 'none';
  if (compression !== 'none') body = compressRecords(compression, body);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
  writeInt64(out, opts.baseOffset ?? 0, OFF_BASE_OFFSET);
  out.writeInt32BE(out.length - BATCH_LENGTH_PREFIX_BYTES, OFF_BATCH_LENGTH);
  out.writeInt32BE(opts.leaderEpoch ?? 0, OFF_LEADER_EPOCH);
  out.writeInt8(BATCH_MAGIC, OFF_MAGIC);
  out.writeInt16BE(CODEC_BITS[compression], OFF_ATTRIBUTES);
  out.writeInt32BE(records.length - 1, OFF_LAST_OFFSET_DELTA);
  writeInt64(out, baseTimestamp, OFF_BASE_TIMESTAMP);
  writeInt64(out, maxTimestamp, OFF_MAX_TIMESTAMP);
  writeInt64(out, opts.producerId ?? -1, OFF_PRODUCER_ID);
  out.writeInt16BE(opts.producerEpoch ?? -1, OFF_PRODUCER_EPOCH);
  out.writeInt32BE(opts.baseSequence ?? -1, OFF_BASE_SEQUENCE);
  out.writeInt32BE(records.length, OFF_RECORD_COUNT);
  body.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(computeBatchCrc(out), OFF_CRC);
  return out;
}

/** CRC32C over attributes..end, the span Kafka v2 covers. */
export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(OFF_ATTRIBUTES)) >>> 0;
}

/** Reads the fixed header without touching records. Throws CORRUPT_MESSAGE if it cannot be a batch. */
export function readBatchHeader(buf: Buffer, off = 0): BatchHeader {
  if (buf.length - off < BATCH_HEADER_BYTES)
    throw corrupt(`header needs ${BATCH_HEADER_BYTES} bytes, have ${buf.length - off}`, off);
  const batchLength = buf.readInt32BE(off + OFF_BATCH_LENGTH);
  const attributes = buf.readInt16BE(off + OFF_ATTRIBUTES);
  const compression = CODEC_BY_BITS[attributes & 0x7];
  if (compression === undefined)
    throw corrupt(`unknown compression codec ${attributes & 0x7}`, off + OFF_ATTRIBUTES);
  return {
    baseOffset: readInt64(buf, off + OFF_BASE_OFFSET),
    batchLength,
    sizeBytes: batchLength + BATCH_LENGTH_PREFIX_BYTES,
    leaderEpoch: buf.readInt32BE(off + OFF_LEADER_EPOCH),
    magic: buf.readInt8(off + OFF_MAGIC),
    crc: buf.readUInt32BE(off + OFF_CRC),
    attributes,
    compression,
    lastOffsetDelta: buf.readInt32BE(off + OFF_LAST_OFFSET_DELTA),
    baseTimestamp: readInt64(buf, off + OFF_BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, off + OFF_MAX_TIMESTAMP),
    producerId: readInt64(buf, off + OFF_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(off + OFF_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(off + OFF_BASE_SEQUENCE),
    recordCount: buf.readInt32BE(off + OFF_RECORD_COUNT),
  };
}

/**
 * Checks that `batch` is exactly one well-formed batch: lengths agree, magic is 2, counts are sane
 * and the CRC matches. Records are not decoded (that is the consumer's job). Returns the header.
 * `maxBytes` bounds the accepted size.
 */
export function validateBatch(batch: Buffer, maxBytes = Number.MAX_SAFE_INTEGER): BatchHeader {
  const h = readBatchHeader(batch);
  if (h.magic !== BATCH_MAGIC) throw corrupt(`magic is ${h.magic}, expected ${BATCH_MAGIC}`, OFF_MAGIC);
  if (h.sizeBytes !== batch.length)
    throw corrupt(
      `batchLength says ${h.sizeBytes} bytes in all but the batch has ${batch.length}`,
      OFF_BATCH_LENGTH,
    );
  if (batch.length > maxBytes)
    throw new GregorError(
      'MESSAGE_TOO_LARGE',
      `record batch is ${batch.length} bytes, the limit is ${maxBytes}`,
    );
  if (h.recordCount < 1) throw corrupt(`recordCount is ${h.recordCount}`, OFF_RECORD_COUNT);
  if (h.lastOffsetDelta !== h.recordCount - 1)
    throw corrupt(
      `lastOffsetDelta ${h.lastOffsetDelta} does not match recordCount ${h.recordCount}`,
      OFF_LAST_OFFSET_DELTA,
    );
  const crc = computeBatchCrc(batch);
  if (crc !== h.crc)
    throw corrupt(`CRC32C is ${crc.toString(16)}, header says ${h.crc.toString(16)}`, OFF_CRC);
  return h;
}

/** Rewrites the broker-owned fields in place; they sit outside the CRC. */
export function stampBatch(batch: Buffer, baseOffset: number, leaderEpoch: number): void {
  writeInt64(batch, baseOffset, OFF_BASE_OFFSET);
  batch.writeInt32BE(leaderEpoch, OFF_LEADER_EPOCH);
}

/** Decodes every record of one batch (validating the CRC first). */
export function decodeBatch(batch: Buffer): DecodedRecord[] {
  const h = validateBatch(batch);
  let body: Buffer = batch.subarray(BATCH_HEADER_BYTES);
  if (h.compression !== 'none') {
    try {
      body = decompressRecords(h.compression, body);
    } catch (err) {
      throw new GregorError('CORRUPT_MESSAGE', `record batch: ${h.compression} block does not decompress`, {
        cause: err,
      });
    }
  }
  const r = new Reader(body, 0, body.length);
  const out: DecodedRecord[] = [];
  for (let i = 0; i < h.recordCount; i++) {
    const len = r.zigzag('record length');
    const end = r.pos + len;
    if (len < 0 || end > body.length) throw corrupt(`record ${i} length ${len} runs past the end`, r.pos);
    r.pos++; // attributes
    const tsDelta = r.zigzag('timestampDelta');
    const offsetDelta = r.zigzag('offsetDelta');
    const keyLen = r.zigzag('keyLength');
    const key = keyLen < 0 ? null : r.bytes(keyLen, 'key');
    const valueLen = r.zigzag('valueLength');
    const value = valueLen < 0 ? null : r.bytes(valueLen, 'value');
    const headerCount = r.zigzag('headerCount');
    const headers: RecordHeader[] = [];
    for (let j = 0; j < headerCount; j++) {
      const hk = r.bytes(r.zigzag('header key length'), 'header key').toString();
      const hvLen = r.zigzag('header value length');
      headers.push({ key: hk, value: hvLen < 0 ? Buffer.alloc(0) : r.bytes(hvLen, 'header value') });
    }
    if (r.pos !== end) throw corrupt(`record ${i} has ${end - r.pos} unread bytes`, r.pos);
    out.push({
      offset: h.baseOffset + offsetDelta,
      timestamp: h.baseTimestamp + tsDelta,
      key,
      value,
      headers,
    });
  }
  return out;
}

/**
 * Splits a byte range of back-to-back batches (as a fetch returns them) into single batches.
 * A trailing partial batch is dropped, as Kafka clients do with a byte-limited fetch.
 */
export function splitBatches(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (bytes.length - off >= BATCH_LENGTH_PREFIX_BYTES) {
    const size = bytes.readInt32BE(off + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
    if (size < BATCH_HEADER_BYTES)
      throw corrupt(`batch at ${off} claims ${size} bytes`, off + OFF_BATCH_LENGTH);
    if (off + size > bytes.length) break;
    out.push(bytes.subarray(off, off + size));
    off += size;
  }
  return out;
}

/** Sums the record counts of back-to-back whole batches without decoding them. */
export function countRecords(bytes: Buffer): number {
  let n = 0;
  let off = 0;
  while (off + OFF_RECORD_COUNT + 4 <= bytes.length) {
    n += bytes.readInt32BE(off + OFF_RECORD_COUNT);
    off += bytes.readInt32BE(off + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
  }
  return n;
}

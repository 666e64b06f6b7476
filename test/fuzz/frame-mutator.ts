import {
  concatFrame,
  encodeRequest,
  FRAME_HEADER_BYTES,
  Op,
  type RequestInput,
  type RequestOp,
} from '../../src/protocol/index.js';
import { encodeBatch, OFF_CRC } from '../../src/storage/record-batch.js';
import { seededRandom } from '../helpers/seeded-random.js';

/**
 * Frame mutators for the broker fuzz test. Every mutation starts from a frame the real encoders
 * wrote, so most of the bytes are plausible and the broker's parsers get past the first check
 * before meeting the damage (a purely random stream would die at the magic every time).
 */

/** A small deterministic PRNG (mulberry32) so a failing seed can be replayed. */
export const prng = seededRandom;

/** Random integer in [0, n). */
export function pick(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** How the frame was damaged; `fatal` ones make an honest server close the connection. */
export type MutationKind =
  | 'valid'
  | 'bitflip'
  | 'truncate'
  | 'lying-length'
  | 'bad-magic'
  | 'truncated-cbor'
  | 'unknown-op'
  | 'oversize-length'
  | 'bad-crc-batch'
  | 'bad-flags'
  | 'bad-version'
  | 'random-bytes'
  | 'splice';

/**
 * Kinds after which the byte stream cannot be re-synchronised: the broker must answer with a
 * connection error and hang up (or wait for bytes that never come until the client leaves).
 */
export const STREAM_BREAKING: ReadonlySet<MutationKind> = new Set<MutationKind>([
  'truncate',
  'lying-length',
  'bad-magic',
  'oversize-length',
  'random-bytes',
  'splice',
]);

/** Every kind, in the order the generator cycles through them. */
export const MUTATION_KINDS: readonly MutationKind[] = [
  'valid',
  'bitflip',
  'truncate',
  'lying-length',
  'bad-magic',
  'truncated-cbor',
  'unknown-op',
  'oversize-length',
  'bad-crc-batch',
  'bad-flags',
  'bad-version',
  'random-bytes',
  'splice',
];

/** Builds valid request frames for the topics the fuzz run owns. */
export class FrameCorpus {
  private nextId = 1;
  constructor(
    private readonly rand: () => number,
    private readonly topics: readonly string[],
  ) {}

  private topic(): string {
    return this.topics[pick(this.rand, this.topics.length)]!;
  }

  private batch(): Buffer {
    const n = 1 + pick(this.rand, 8);
    const size = pick(this.rand, 300);
    return encodeBatch(
      Array.from({ length: n }, (_, i) => ({
        key: this.rand() < 0.5 ? null : `k${i}`,
        value: Buffer.alloc(size, i),
        ...(this.rand() < 0.2 ? { headers: { h: 'v' } } : {}),
      })),
      this.rand() < 0.1 ? { compression: 'snappy' } : {},
    );
  }

  private encode<K extends RequestOp>(op: K, body: RequestInput<K>): Buffer {
    return concatFrame(encodeRequest(op, this.nextId++ & 0x7fffffff, body));
  }

  /** A PRODUCE frame (acks 1 or 0) of one or two whole batches. */
  produce(): Buffer {
    const records = this.rand() < 0.8 ? this.batch() : Buffer.concat([this.batch(), this.batch()]);
    const acks = this.rand() < 0.8 ? 1 : 0;
    return this.encode('PRODUCE', {
      acks,
      timeoutMs: 1000,
      partitions: [{ topic: this.topic(), partition: pick(this.rand, 2), records }],
    });
  }

  /** One valid frame of a random op (topic creation excluded: a flipped partition count would make thousands). */
  any(): Buffer {
    const t = this.topic();
    switch (pick(this.rand, 14)) {
      case 0:
        return this.encode('HELLO', { minVersion: 1, maxVersion: 1, clientId: 'fuzz', software: 'fuzz' });
      case 1:
        return this.encode('PING', { nonce: pick(this.rand, 1000) });
      case 2:
        return this.encode('METADATA', { topics: this.rand() < 0.5 ? null : [t] });
      case 3:
        return this.encode('LIST_TOPICS', {});
      case 4:
        return this.encode('DESCRIBE_TOPIC', { name: t });
      case 5:
      case 6:
      case 7:
        return this.produce();
      case 8:
        return this.encode('FETCH', {
          maxWaitMs: pick(this.rand, 50),
          minBytes: 0,
          maxBytes: 65536,
          partitions: [
            { topic: t, partition: pick(this.rand, 2), offset: pick(this.rand, 50), maxBytes: 32768 },
          ],
        });
      case 9:
        return this.encode('LIST_OFFSETS', {
          partitions: [{ topic: t, partition: 0, spec: { kind: this.rand() < 0.5 ? 'earliest' : 'latest' } }],
        });
      case 10:
        return this.encode('INIT_PRODUCER_ID', { producerId: -1, producerEpoch: -1 });
      case 11:
        return this.encode('SUBSCRIBE', {
          subscriptionId: 1 + pick(this.rand, 4),
          topic: t,
          partitions: null,
          start: { kind: 'earliest' },
          credit: { messages: 100, bytes: 65536 },
        });
      case 12:
        return this.encode('CREDIT', {
          subscriptionId: 1 + pick(this.rand, 4),
          messages: 100,
          bytes: 65536,
        });
      default:
        return this.encode('DELETE_TOPIC', { name: `fuzz-nope-${pick(this.rand, 100)}`, ifExists: true });
    }
  }
}

/** Applies one mutation of `kind` to a copy of `frame`. */
export function mutate(kind: MutationKind, frame: Buffer, rand: () => number, corpus: FrameCorpus): Buffer {
  const f = Buffer.from(frame);
  switch (kind) {
    case 'valid':
      return f;
    case 'bitflip': {
      // Flip 1-8 bits past the length and magic fields, so the stream stays framed.
      const flips = 1 + pick(rand, 8);
      for (let i = 0; i < flips; i++) {
        const pos = 6 + pick(rand, f.length - 6);
        f[pos]! ^= 1 << pick(rand, 8);
      }
      return f;
    }
    case 'truncate':
      return f.subarray(0, pick(rand, f.length));
    case 'lying-length': {
      const real = f.readUInt32BE(0);
      const lie = rand() < 0.5 ? pick(rand, real + 1) : real + 1 + pick(rand, 4096);
      f.writeUInt32BE(lie, 0);
      return f;
    }
    case 'bad-magic':
      f.writeUInt16BE(pick(rand, 0x10000) ^ 0x4752 || 1, 4);
      return f;
    case 'truncated-cbor': {
      // Keep the frame honest but cut its CBOR head short (and state the cut length).
      const payloadStart = FRAME_HEADER_BYTES;
      if (f.length < payloadStart + 4) return f;
      const cborLen = f.readUInt32BE(payloadStart);
      const cut = pick(rand, Math.max(1, cborLen));
      const out = Buffer.concat([f.subarray(0, payloadStart + 4 + cut)]);
      out.writeUInt32BE(rand() < 0.5 ? cut : cborLen, payloadStart);
      out.writeUInt32BE(out.length - 4, 0);
      return out;
    }
    case 'unknown-op': {
      const known = new Set<number>(Object.values(Op));
      let op = pick(rand, 0x10000);
      while (known.has(op)) op = (op + 7) & 0xffff;
      f.writeUInt16BE(op, 8);
      return f;
    }
    case 'oversize-length':
      f.writeUInt32BE(0x0200_0000 + pick(rand, 0xf000_0000), 0);
      return f;
    case 'bad-crc-batch': {
      const p = corpus.produce();
      // The batch is the tail of the frame (raw section); its CRC sits OFF_CRC bytes into it.
      const batchAt = p.length - findBatchTail(p);
      const pos =
        rand() < 0.5 ? batchAt + OFF_CRC : batchAt + 61 + pick(rand, Math.max(1, p.length - batchAt - 61));
      if (pos < p.length) p[pos]! ^= 0xff;
      return p;
    }
    case 'bad-flags':
      f[7] = 0x08 | pick(rand, 0x100);
      return f;
    case 'bad-version':
      f[6] = 2 + pick(rand, 254);
      return f;
    case 'random-bytes': {
      const len = pick(rand, 512);
      const out = Buffer.alloc(len);
      for (let i = 0; i < len; i++) out[i] = pick(rand, 256);
      if (len >= 6 && rand() < 0.5) {
        // Half of them get a believable envelope so the payload parsers see noise too.
        out.writeUInt32BE(len - 4, 0);
        out.writeUInt16BE(0x4752, 4);
        out[6] = 1;
        out[7] = 0;
        if (len >= 10) out.writeUInt16BE(Object.values(Op)[pick(rand, Object.values(Op).length)]!, 8);
      }
      return out;
    }
    case 'splice': {
      const other = corpus.any();
      const a = pick(rand, f.length);
      const b = pick(rand, other.length);
      const out = Buffer.concat([f.subarray(0, a), other.subarray(b)]);
      if (out.length >= 4 && rand() < 0.7) out.writeUInt32BE(out.length - 4, 0);
      return out;
    }
  }
}

/** Bytes from the start of the produce frame's first batch to the frame's end (batches are the raw tail). */
function findBatchTail(frame: Buffer): number {
  const cborLen = frame.readUInt32BE(FRAME_HEADER_BYTES);
  return frame.length - (FRAME_HEADER_BYTES + 4 + cborLen);
}

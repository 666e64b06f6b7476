import { Decoder, Encoder } from 'cbor-x';
import { type Check, FieldProblem } from './schema.js';

/**
 * Payload of every frame (all ops use the same two-part layout):
 *
 *   offset size field
 *        0    4 cborLength   bytes of the CBOR header that follows (u32 big-endian)
 *        4    n header       one CBOR map: the op's control fields
 *      4+n    - raw          record-batch bytes exactly as the log stores them, back to back, in
 *                            the order and lengths the header lists (`bytes` fields); empty for
 *                            control-only ops
 *
 * Keeping batches out of CBOR lets the broker append/serve them without re-encoding and lets the
 * reader slice them as views of the socket chunk.
 */
export const PAYLOAD_PREFIX_BYTES = 4;

/**
 * cbor-x options, fixed for both directions. Stability across versions matters more than bytes:
 * - `useRecords: false`: no record-structure extension (tags 105/51xxx) whose shared state would
 *   have to match between client and server builds; objects are plain CBOR maps.
 * - `mapsAsObjects: true`: maps decode to plain objects (validated and copied by schema.ts).
 * - `variableMapSize: true`: smallest map header, so equal values encode to equal bytes.
 * - `tagUint8Array: false`, `useTag259ForMaps: false`, `pack`/`bundleStrings`/`structuredClone` off:
 *   only standard CBOR that any decoder (other languages included) reads.
 * - `int64AsNumber: true`: 64-bit integers decode to numbers (schema.ts rejects unsafe ones).
 */
export const CBOR_OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  useTag259ForMaps: false,
  pack: false,
  bundleStrings: false,
  structuredClone: false,
  int64AsNumber: true,
} as const;

const encoder = new Encoder(CBOR_OPTIONS);
const decoder = new Decoder(CBOR_OPTIONS);

/** Encodes a validated header as `u32 cborLength` + CBOR in one fresh buffer. */
export function encodeHead(header: unknown): Buffer {
  // The encoder returns a view of its reusable scratch buffer: copy before the next encode.
  const cbor = encoder.encode(header);
  const out = Buffer.allocUnsafe(PAYLOAD_PREFIX_BYTES + cbor.length);
  out.writeUInt32BE(cbor.length, 0);
  out.set(cbor, PAYLOAD_PREFIX_BYTES);
  return out;
}

/** The two halves of a payload. */
export interface SplitPayload {
  /** The decoded (not yet validated) CBOR header. */
  header: unknown;
  /** Bytes after the header: a view, not a copy. */
  raw: Buffer;
}

/** Splits a payload into its CBOR header and raw section; throws FieldProblem if it cannot. */
export function splitPayload(payload: Buffer): SplitPayload {
  if (payload.length < PAYLOAD_PREFIX_BYTES)
    throw new FieldProblem('', `payload of ${payload.length} bytes has no 4-byte cborLength`);
  const cborLength = payload.readUInt32BE(0);
  const end = PAYLOAD_PREFIX_BYTES + cborLength;
  if (end > payload.length)
    throw new FieldProblem('', `cborLength ${cborLength} runs past the ${payload.length}-byte payload`);
  let header: unknown;
  try {
    header = decoder.decode(payload.subarray(PAYLOAD_PREFIX_BYTES, end));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const truncated = err instanceof Error && (err as { incomplete?: boolean }).incomplete;
    throw new FieldProblem(
      '',
      `CBOR header (${cborLength} bytes at payload byte 4) is ${truncated ? 'truncated' : 'invalid'}: ${why}`,
    );
  }
  return { header, raw: payload.subarray(end) };
}

/** Hands out consecutive views of a raw section and checks that it is used up exactly. */
export class RawReader {
  private pos = 0;
  constructor(private readonly raw: Buffer) {}

  /** The next `length` bytes as a view (the caller prefixes the path of the declaring field). */
  take(length: number): Buffer {
    if (length > this.raw.length - this.pos)
      throw new FieldProblem(
        'bytes',
        `declares ${length} raw bytes but only ${this.raw.length - this.pos} remain`,
      );
    const out = this.raw.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** Throws if raw bytes are left over (a header that under-declares is as suspect as one that over-declares). */
  finish(): void {
    if (this.pos !== this.raw.length)
      throw new FieldProblem(
        '',
        `${this.raw.length - this.pos} raw bytes after the last declared batch bytes`,
      );
  }
}

/** Raw bytes given to an encoder: one buffer or several to be sent back to back (e.g. several batches). */
export type RawInput = Buffer | readonly Buffer[];

/** Total length of a RawInput. */
export function rawLength(raw: RawInput): number {
  if (Buffer.isBuffer(raw)) return raw.length;
  let n = 0;
  for (const b of raw as readonly Buffer[]) n += b.length;
  return n;
}

/** Appends a RawInput's buffers to `out` (no copy). */
export function pushRaw(out: Buffer[], raw: RawInput): void {
  if (Buffer.isBuffer(raw)) {
    if (raw.length > 0) out.push(raw);
    return;
  }
  for (const b of raw as readonly Buffer[]) if (b.length > 0) out.push(b);
}

/** Encoded payload: the CBOR part (with its prefix) and the raw buffers that follow it. */
export interface EncodedPayload {
  head: Buffer;
  raw: Buffer[];
}

/** How one payload type is written and read; `decode` throws FieldProblem on bad input. */
export interface PayloadCodec<Out, In = Out> {
  encode(value: In): EncodedPayload;
  decode(payload: Buffer): Out;
}

/** Codec of a control-only payload: the CBOR header is the whole value, the raw section must be empty. */
export function controlCodec<T>(check: Check<T>): PayloadCodec<T> {
  return {
    encode(value) {
      return { head: encodeHead(check(value, true)), raw: [] };
    },
    decode(payload) {
      const { header, raw } = splitPayload(payload);
      const value = check(header);
      if (raw.length !== 0)
        throw new FieldProblem('', `${raw.length} unexpected raw bytes after the CBOR header`);
      return value;
    },
  };
}

import { type ErrorCode, GregorError } from '../errors.js';

/**
 * Frame envelope of the GregorMQ client protocol (TCP port 9440). All integers big-endian.
 *
 *   offset size field
 *        0    4 length          bytes after this field: 10 + payload length
 *        4    2 magic           0x4752 ('GR'): catches a stray HTTP/TLS client or a desynced stream
 *        6    1 version         protocol version the op and payload are written in (1)
 *        7    1 flags           bit 0 response, bit 1 error, bit 2 server push; bits 3-7 must be 0
 *        8    2 op              operation code (ops.ts)
 *       10    4 correlationId   echoed in the response; 0 on pushes
 *       14    - payload         payload.ts: u32 cborLength, CBOR header, raw bytes
 *
 * `length`, `magic` and the meaning of `version` are frozen for every protocol version, so a peer
 * can always skip a frame it cannot read and answer it with an error instead of hanging up.
 */
export const FRAME_HEADER_BYTES = 14;
/** Bytes covered by `length` that are header, not payload. */
export const FRAME_LENGTH_OVERHEAD = FRAME_HEADER_BYTES - 4;
/** 'GR'. */
export const FRAME_MAGIC = 0x4752;

/** Set on every frame that answers a request. */
export const FLAG_RESPONSE = 0x01;
/** Set (with RESPONSE or PUSH) when the payload is an error body instead of the op's response. */
export const FLAG_ERROR = 0x02;
/** Set on frames the server sends unasked (subscription deliveries, connection errors). */
export const FLAG_PUSH = 0x04;
/** Flag bits version 1 defines; the others must be zero. */
export const KNOWN_FLAGS = FLAG_RESPONSE | FLAG_ERROR | FLAG_PUSH;

/** Protocol version this build writes after HELLO. */
export const PROTOCOL_VERSION = 1;
/** Oldest protocol version this build still reads. */
export const MIN_PROTOCOL_VERSION = 1;

/** Largest record batch a producer may send (bytes), matching the log's default maxBatchBytes. */
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;
/**
 * Default largest whole frame (bytes, length prefix included): one maximal batch plus 1 MiB for
 * the header and the per-partition CBOR of a many-partition fetch response.
 */
export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_MAX_BATCH_BYTES + 1024 * 1024;
/**
 * Raw sections up to this many bytes are copied into the header buffer so a small frame goes out
 * as one buffer (one write); larger ones stay separate buffers so batches are never copied.
 */
export const COALESCE_RAW_BYTES = 4096;

/** The fixed fields of a frame. */
export interface FrameHeader {
  version: number;
  flags: number;
  op: number;
  correlationId: number;
}

/** A complete frame as the decoder yields it. */
export interface Frame extends FrameHeader {
  /** Byte offset of the frame's length field in the connection's stream (for error messages). */
  streamOffset: number;
  /**
   * The bytes after the header. Usually a view into the socket chunk it arrived in (no copy), so
   * holding it keeps that chunk alive.
   */
  payload: Buffer;
}

/** What kind of frame this is, from its flags. */
export type FrameKind = 'request' | 'response' | 'push';

/** Classifies a frame by its flags (PUSH wins over RESPONSE). */
export function frameKind(flags: number): FrameKind {
  if (flags & FLAG_PUSH) return 'push';
  return flags & FLAG_RESPONSE ? 'response' : 'request';
}

/**
 * A malformed frame. `fatal` means the stream cannot be trusted any more (bad magic, a length
 * that lies) and the connection must close; otherwise the frame was skipped whole and can be
 * answered with an error frame using `header.correlationId`.
 */
export class FrameError extends GregorError {
  override readonly name: string = 'FrameError';
  /** True when the connection must be closed: the decoder cannot find the next frame. */
  readonly fatal: boolean;
  /** Stream byte offset of the offending frame's first byte. */
  readonly streamOffset: number;
  /** The frame's header when it was read completely (always for non-fatal errors). */
  readonly header: FrameHeader | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { fatal: boolean; streamOffset: number; header?: FrameHeader; cause?: unknown },
  ) {
    super(code, message, { cause: opts.cause });
    this.fatal = opts.fatal;
    this.streamOffset = opts.streamOffset;
    this.header = opts.header;
  }
}

function byteLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/**
 * Writes one frame: returns the buffers to write back to back (cork + write each, or writev).
 * The first buffer holds the header and `head` (the payload's CBOR part with its length prefix);
 * `raw` buffers follow untouched unless they are small enough to coalesce into the first one.
 */
export function encodeFrame(header: FrameHeader, head: Buffer, raw: readonly Buffer[] = []): Buffer[] {
  const rawBytes = byteLength(raw);
  const length = FRAME_LENGTH_OVERHEAD + head.length + rawBytes;
  if (length > 0xffff_ffff)
    throw new GregorError('FRAME_TOO_LARGE', `frame of ${length + 4} bytes cannot be framed`);
  const coalesce = rawBytes <= COALESCE_RAW_BYTES;
  const first = Buffer.allocUnsafe(FRAME_HEADER_BYTES + head.length + (coalesce ? rawBytes : 0));
  first.writeUInt32BE(length, 0);
  first.writeUInt16BE(FRAME_MAGIC, 4);
  first[6] = header.version;
  first[7] = header.flags;
  first.writeUInt16BE(header.op, 8);
  first.writeUInt32BE(header.correlationId >>> 0, 10);
  head.copy(first, FRAME_HEADER_BYTES);
  if (!coalesce) return [first, ...raw];
  let pos = FRAME_HEADER_BYTES + head.length;
  for (const r of raw) pos += r.copy(first, pos);
  return [first];
}

/** Joins encoder output into one Buffer (tests, fixtures, callers that want a single write). */
export function concatFrame(parts: readonly Buffer[]): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

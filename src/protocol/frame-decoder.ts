import { type ErrorCode, GregorError } from '../errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FLAG_ERROR,
  FLAG_PUSH,
  FRAME_HEADER_BYTES,
  FRAME_LENGTH_OVERHEAD,
  FRAME_MAGIC,
  type Frame,
  FrameError,
  type FrameHeader,
  KNOWN_FLAGS,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from './frame.js';
import { CONNECTION_ERROR_OP, opLabel, opName } from './ops.js';

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest accepted frame, bytes, length prefix included. Default DEFAULT_MAX_FRAME_BYTES (17 MiB). */
  maxFrameBytes?: number;
  /** Oldest protocol version accepted in the frame header. Default MIN_PROTOCOL_VERSION. */
  minVersion?: number;
  /** Newest protocol version accepted in the frame header. Default PROTOCOL_VERSION. */
  maxVersion?: number;
}

/** Bytes needed before magic and length can be judged. */
const PREAMBLE_BYTES = 6;

/** A guess at what a peer with bad magic really is, so the log line tells the operator. */
function sniff(first: Buffer): string {
  if (first[0] === 0x16 && first[1] === 0x03) return ' (looks like a TLS handshake)';
  const text = first.toString('latin1', 0, Math.min(first.length, 5));
  if (/^(GET |POST|PUT |HEAD|DELE|OPTI|PATC|PRI )/.test(text)) return ' (looks like HTTP)';
  return '';
}

/**
 * Streaming frame decoder for one connection. Feed socket chunks to `push`, then call `next`
 * until it returns undefined:
 *
 *   socket.on('data', (chunk) => {
 *     decoder.push(chunk);
 *     for (;;) {
 *       let frame;
 *       try { frame = decoder.next(); } catch (err) { ...; if (err.fatal) return close(); continue; }
 *       if (!frame) break;
 *       handle(frame);
 *     }
 *   });
 *
 * A frame that lies inside one chunk is handed out as a view of that chunk; only a frame split
 * across chunks is copied, once. Magic and length are checked as soon as their 6 bytes arrive,
 * so an oversize or foreign stream is refused before anything is buffered for it.
 *
 * `next` throws only FrameError. Fatal errors (bad magic, bad length, oversize) stick: every
 * later call throws the same error. Non-fatal ones (unsupported version, reserved flags, unknown
 * op) consume the frame, carry its header so it can be answered, and decoding continues.
 */
export class FrameDecoder {
  /** Largest accepted frame (bytes, prefix included); may be changed between calls. */
  maxFrameBytes: number;
  /** Accepted header versions. */
  readonly minVersion: number;
  readonly maxVersion: number;

  private chunks: Buffer[] = [];
  /** Index of the first chunk with unread bytes. */
  private first = 0;
  /** Read position inside chunks[first]. */
  private head = 0;
  private buffered = 0;
  private consumed = 0;
  private failure: FrameError | undefined;
  private readonly scratch = Buffer.allocUnsafe(FRAME_HEADER_BYTES);

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.minVersion = opts.minVersion ?? MIN_PROTOCOL_VERSION;
    this.maxVersion = opts.maxVersion ?? PROTOCOL_VERSION;
    if (!(this.maxFrameBytes >= FRAME_HEADER_BYTES + 4))
      throw new GregorError(
        'INVALID_ARGUMENT',
        `maxFrameBytes ${this.maxFrameBytes} is below ${FRAME_HEADER_BYTES + 4}`,
      );
  }

  /** Unread bytes held (a partial frame); bounded by maxFrameBytes plus one chunk. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Stream offset of the next unread byte (= bytes consumed as whole frames so far). */
  get streamOffset(): number {
    return this.consumed;
  }

  /** The fatal error that stopped this decoder, if any. */
  get error(): FrameError | undefined {
    return this.failure;
  }

  /** Adds a chunk from the socket. Ignored after a fatal error. */
  push(chunk: Buffer): void {
    if (this.failure || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined if more bytes are needed. Throws FrameError. */
  next(): Frame | undefined {
    if (this.failure) throw this.failure;
    if (this.buffered < PREAMBLE_BYTES) return undefined;
    const start = this.consumed;
    const first = this.chunks[this.first]!;
    // Fast path reads the header straight out of the first chunk; only a header split across
    // chunks is gathered into scratch.
    const headerBytes = Math.min(this.buffered, FRAME_HEADER_BYTES);
    let h = first;
    let at = this.head;
    if (first.length - at < headerBytes) {
      h = this.gather(headerBytes);
      at = 0;
    }
    const magic = (h[at + 4]! << 8) | h[at + 5]!;
    if (magic !== FRAME_MAGIC)
      return this.fail(
        'INVALID_FRAME',
        `bad magic 0x${magic.toString(16).padStart(4, '0')} at stream byte ${start + 4} (frame at stream byte ${start}), ` +
          `expected 0x4752 'GR'${sniff(h.subarray(at, at + headerBytes))}: not a GregorMQ peer or the stream lost sync`,
      );
    const length = h.readUInt32BE(at);
    if (length < FRAME_LENGTH_OVERHEAD)
      return this.fail(
        'INVALID_FRAME',
        `frame at stream byte ${start}: length ${length} is smaller than the ${FRAME_LENGTH_OVERHEAD} header bytes it must cover`,
      );
    const total = length + 4;
    if (total > this.maxFrameBytes)
      return this.fail(
        'FRAME_TOO_LARGE',
        `frame at stream byte ${start}: length ${length} makes a ${total}-byte frame, the limit is ${this.maxFrameBytes}`,
      );
    if (this.buffered < total) return undefined;
    // buffered >= total >= FRAME_HEADER_BYTES, so the whole header was read above.
    const version = h[at + 6]!;
    const flags = h[at + 7]!;
    const op = (h[at + 8]! << 8) | h[at + 9]!;
    const correlationId = h.readUInt32BE(at + 10);
    let payload: Buffer;
    if (first.length - this.head >= total) {
      payload = first.subarray(this.head + FRAME_HEADER_BYTES, this.head + total);
      this.head += total;
      this.buffered -= total;
      if (this.head === first.length) this.dropFirst();
    } else payload = this.copyOut(total);
    this.consumed += total;

    if (version < this.minVersion || version > this.maxVersion)
      this.reject(
        'UNSUPPORTED_VERSION',
        `protocol version ${version}, this side reads ${this.minVersion}..${this.maxVersion}`,
        start,
        total,
        { version, flags, op, correlationId },
      );
    if ((flags & ~KNOWN_FLAGS) !== 0)
      this.reject(
        'INVALID_FRAME',
        `reserved flag bits 0x${(flags & ~KNOWN_FLAGS).toString(16)} are set`,
        start,
        total,
        {
          version,
          flags,
          op,
          correlationId,
        },
      );
    const isError = (flags & FLAG_ERROR) !== 0;
    // Error frames echo the op of the request they answer, known or not (that is how an
    // UNKNOWN_OP error reaches its sender), and op 0 is reserved for connection errors: a pushed
    // error with op 0 is one and carries correlation 0, while an error *response* with op 0
    // answers a request that used the reserved op and echoes that request's correlation id.
    if (!isError && opName(op) === undefined)
      this.reject('UNKNOWN_OP', 'unknown op', start, total, { version, flags, op, correlationId });
    if (isError && (flags & FLAG_PUSH) !== 0 && op === CONNECTION_ERROR_OP && correlationId !== 0)
      this.reject('INVALID_FRAME', 'a connection error must have correlation 0', start, total, {
        version,
        flags,
        op,
        correlationId,
      });
    return { version, flags, op, correlationId, streamOffset: start, payload };
  }

  /** Throws the non-fatal error for a frame that was consumed whole. */
  private reject(code: ErrorCode, problem: string, start: number, total: number, header: FrameHeader): never {
    throw new FrameError(
      code,
      `frame at stream byte ${start} (op ${opLabel(header.op)}, correlation ${header.correlationId}, ${total} bytes): ${problem}`,
      { fatal: false, streamOffset: start, header },
    );
  }

  /**
   * Call when the peer closed its side: throws a fatal FrameError if the stream stopped inside a
   * frame (so the truncation is reported, with offset, instead of silently dropped).
   */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered === 0) return;
    const have = this.buffered;
    let expected = '';
    if (have >= 4) expected = ` of ${this.gather(4).readUInt32BE(0) + 4}`;
    this.fail(
      'INVALID_FRAME',
      `stream ended inside the frame at stream byte ${this.consumed}: have ${have}${expected} bytes`,
    );
  }

  private fail(code: 'INVALID_FRAME' | 'FRAME_TOO_LARGE', message: string): never {
    this.failure = new FrameError(code, message, { fatal: true, streamOffset: this.consumed });
    // Nothing after a framing error can be trusted: drop what is held.
    this.chunks = [];
    this.first = 0;
    this.head = 0;
    this.buffered = 0;
    throw this.failure;
  }

  /** Copies the first n (<= FRAME_HEADER_BYTES, <= buffered) unread bytes into scratch without consuming them. */
  private gather(n: number): Buffer {
    let filled = 0;
    let i = this.first;
    let pos = this.head;
    while (filled < n) {
      const chunk = this.chunks[i]!;
      filled += chunk.copy(this.scratch, filled, pos, Math.min(chunk.length, pos + n - filled));
      i++;
      pos = 0;
    }
    return this.scratch;
  }

  /** Consumes a frame of `total` (<= buffered) bytes that spans chunks: the payload is copied once. */
  private copyOut(total: number): Buffer {
    const out = Buffer.allocUnsafe(total - FRAME_HEADER_BYTES);
    let skip = FRAME_HEADER_BYTES;
    let filled = 0;
    while (skip > 0 || filled < out.length) {
      const chunk = this.chunks[this.first]!;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - this.head);
        skip -= n;
        this.head += n;
      } else {
        const n = chunk.copy(out, filled, this.head, Math.min(chunk.length, this.head + out.length - filled));
        filled += n;
        this.head += n;
      }
      if (this.head === chunk.length) this.dropFirst();
    }
    this.buffered -= total;
    return out;
  }

  private dropFirst(): void {
    this.chunks[this.first] = undefined as unknown as Buffer; // let the chunk be collected
    this.first++;
    this.head = 0;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

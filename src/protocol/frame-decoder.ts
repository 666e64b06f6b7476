import { GregorError } from '../errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FLAG_ERROR,
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
    let h = this.peek(Math.min(this.buffered, FRAME_HEADER_BYTES));
    const magic = h.readUInt16BE(4);
    if (magic !== FRAME_MAGIC)
      return this.fail(
        'INVALID_FRAME',
        `bad magic 0x${magic.toString(16).padStart(4, '0')} at stream byte ${start + 4} (frame at stream byte ${start}), ` +
          `expected 0x4752 'GR'${sniff(h)}: not a GregorMQ peer or the stream lost sync`,
      );
    const length = h.readUInt32BE(0);
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
    if (h.length < FRAME_HEADER_BYTES) h = this.peek(FRAME_HEADER_BYTES);
    const header: FrameHeader = {
      version: h[6]!,
      flags: h[7]!,
      op: h.readUInt16BE(8),
      correlationId: h.readUInt32BE(10),
    };
    const payload = this.take(total).subarray(FRAME_HEADER_BYTES);
    this.consumed += total;

    const where = () =>
      `frame at stream byte ${start} (op ${opLabel(header.op)}, correlation ${header.correlationId}, ${total} bytes)`;
    if (header.version < this.minVersion || header.version > this.maxVersion)
      throw new FrameError(
        'UNSUPPORTED_VERSION',
        `${where()}: protocol version ${header.version}, this side reads ${this.minVersion}..${this.maxVersion}`,
        { fatal: false, streamOffset: start, header },
      );
    if ((header.flags & ~KNOWN_FLAGS) !== 0)
      throw new FrameError(
        'INVALID_FRAME',
        `${where()}: reserved flag bits 0x${(header.flags & ~KNOWN_FLAGS).toString(16)} are set`,
        { fatal: false, streamOffset: start, header },
      );
    const isError = (header.flags & FLAG_ERROR) !== 0;
    // Error frames echo the op of the request they answer, known or not (that is how an
    // UNKNOWN_OP error reaches its sender), and op 0 is reserved for connection errors.
    if (!isError && opName(header.op) === undefined)
      throw new FrameError('UNKNOWN_OP', `${where()}: unknown op`, {
        fatal: false,
        streamOffset: start,
        header,
      });
    if (isError && header.op === CONNECTION_ERROR_OP && header.correlationId !== 0)
      throw new FrameError('INVALID_FRAME', `${where()}: a connection error must have correlation 0`, {
        fatal: false,
        streamOffset: start,
        header,
      });
    return { ...header, streamOffset: start, payload };
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
    if (have >= 4) expected = ` of ${this.peek(4).readUInt32BE(0) + 4}`;
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

  /** The first n (<= FRAME_HEADER_BYTES, <= buffered) unread bytes without consuming them. */
  private peek(n: number): Buffer {
    const c = this.chunks[this.first]!;
    if (c.length - this.head >= n) return c.subarray(this.head, this.head + n);
    let filled = 0;
    let i = this.first;
    let pos = this.head;
    while (filled < n) {
      const chunk = this.chunks[i]!;
      const copied = chunk.copy(this.scratch, filled, pos, Math.min(chunk.length, pos + n - filled));
      filled += copied;
      i++;
      pos = 0;
    }
    return this.scratch.subarray(0, n);
  }

  /** Consumes n (<= buffered) bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    const c = this.chunks[this.first]!;
    let out: Buffer;
    if (c.length - this.head >= n) {
      out = c.subarray(this.head, this.head + n);
      this.head += n;
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.first]!;
        const copied = chunk.copy(out, filled, this.head, Math.min(chunk.length, this.head + n - filled));
        filled += copied;
        this.head += copied;
        if (this.head === chunk.length) this.dropFirst();
      }
    }
    if (this.head === c.length && this.chunks[this.first] === c) this.dropFirst();
    this.buffered -= n;
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

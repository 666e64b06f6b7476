import { GregorError } from '../errors.js';
import { expireSegments, type ResolvedLogOptions, resolveLogOptions } from './log-options.js';
import type {
  AppendOptions,
  AppendResult,
  LogOptions,
  LogStats,
  PartitionLog,
  ReadResult,
  RetentionResult,
} from './partition-log.js';
import { stampBatch, validateBatch } from './record-batch.js';

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
  maxTimestamp: number;
}

/** In-memory stand-in for a segment file, so rolling and retention behave as in FileLog. */
interface MemorySegment {
  baseOffset: number;
  batches: StoredBatch[];
  size: number;
  firstAppendAt: number | null;
  maxTimestamp: number;
}

function newSegment(baseOffset: number): MemorySegment {
  return { baseOffset, batches: [], size: 0, firstAppendAt: null, maxTimestamp: Number.NEGATIVE_INFINITY };
}

/** Index of the last element whose key <= target (elements sorted by key); -1 if none. */
function floorIndex<T>(items: readonly T[], key: (t: T) => number, target: number): number {
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (key(items[mid]!) <= target) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Creates a partition log held in memory: nothing survives the process, fsync is a no-op. */
export function createMemoryLog(opts?: LogOptions): MemoryLog {
  return new MemoryLog(resolveLogOptions(opts));
}

/**
 * The memory implementation of PartitionLog, for tests and non-persistent topics. It keeps its
 * own copy of each batch and follows FileLog's rules for rolls, reads (never past the end of a
 * segment) and retention, so both pass the same suite.
 */
export class MemoryLog implements PartitionLog {
  private readonly segments: MemorySegment[] = [newSegment(0)];
  private totalBytes = 0;
  private closed = false;

  constructor(private readonly opts: ResolvedLogOptions) {}

  /** First offset still held. */
  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Next offset to be assigned. */
  get endOffset(): number {
    const a = this.active;
    const last = a.batches[a.batches.length - 1];
    return last ? last.lastOffset + 1 : a.baseOffset;
  }

  private get active(): MemorySegment {
    return this.segments[this.segments.length - 1]!;
  }

  append(batch: Buffer, opts?: AppendOptions): Promise<AppendResult> {
    if (this.closed) return Promise.reject(closedError());
    try {
      const h = validateBatch(batch, this.opts.maxBatchBytes);
      const now = this.opts.now();
      let seg = this.active;
      if (
        seg.size > 0 &&
        (seg.size + batch.length > this.opts.segmentBytes ||
          now - (seg.firstAppendAt ?? now) >= this.opts.segmentMs)
      ) {
        seg = newSegment(this.endOffset);
        this.segments.push(seg);
      }
      const baseOffset = this.endOffset;
      const lastOffset = baseOffset + h.recordCount - 1;
      stampBatch(batch, baseOffset, opts?.leaderEpoch ?? 0);
      seg.batches.push({ baseOffset, lastOffset, bytes: Buffer.from(batch), maxTimestamp: h.maxTimestamp });
      seg.size += batch.length;
      if (seg.firstAppendAt === null) seg.firstAppendAt = now;
      if (h.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = h.maxTimestamp;
      this.totalBytes += batch.length;
      return Promise.resolve({ baseOffset, lastOffset, durable: false });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private segmentFor(offset: number): MemorySegment {
    return this.segments[
      Math.max(
        0,
        floorIndex(this.segments, (s) => s.baseOffset, offset),
      )
    ]!;
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    if (this.closed) throw closedError();
    this.checkRange(offset);
    if (offset === this.endOffset) return { bytes: Buffer.alloc(0), nextOffset: offset, batchCount: 0 };
    const seg = this.segmentFor(offset);
    const first = floorIndex(seg.batches, (b) => b.baseOffset, offset);
    const parts: Buffer[] = [];
    let bytes = 0;
    let next = offset;
    for (let i = first; i < seg.batches.length; i++) {
      const b = seg.batches[i]!;
      if (parts.length > 0 && !(bytes + b.bytes.length <= maxBytes)) break;
      parts.push(b.bytes);
      bytes += b.bytes.length;
      next = b.lastOffset + 1;
    }
    return { bytes: Buffer.concat(parts, bytes), nextOffset: next, batchCount: parts.length };
  }

  async offsetForTimestamp(ts: number): Promise<number | null> {
    if (this.closed) throw closedError();
    for (const seg of this.segments) {
      if (seg.maxTimestamp < ts) continue;
      for (const b of seg.batches) if (b.maxTimestamp >= ts) return b.baseOffset;
    }
    return null;
  }

  async truncateTo(offset: number): Promise<void> {
    if (this.closed) throw closedError();
    this.checkRange(offset);
    if (offset === this.endOffset) return;
    const seg = this.segmentFor(offset);
    const i = floorIndex(seg.batches, (b) => b.baseOffset, offset);
    const keep = offset === seg.baseOffset ? 0 : i;
    if (offset !== seg.baseOffset) {
      const b = seg.batches[i]!;
      if (b.baseOffset !== offset) {
        throw new GregorError(
          'INVALID_ARGUMENT',
          `truncateTo(${offset}): offset is inside the batch starting at ${b.baseOffset}`,
        );
      }
    }
    while (this.active !== seg) this.totalBytes -= this.segments.pop()!.size;
    seg.batches.length = keep;
    this.totalBytes -= seg.size;
    seg.size = 0;
    seg.maxTimestamp = Number.NEGATIVE_INFINITY;
    for (const b of seg.batches) {
      seg.size += b.bytes.length;
      if (b.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = b.maxTimestamp;
    }
    if (keep === 0) seg.firstAppendAt = null;
    this.totalBytes += seg.size;
  }

  async applyRetention(): Promise<RetentionResult> {
    if (this.closed) throw closedError();
    const expired = expireSegments(this.segments, this.totalBytes, this.opts, this.opts.now());
    let deletedBytes = 0;
    for (const seg of expired) deletedBytes += seg.size;
    this.totalBytes -= deletedBytes;
    return { deletedSegments: expired.length, deletedBytes };
  }

  async flush(): Promise<void> {
    if (this.closed) throw closedError();
  }

  stats(): LogStats {
    return {
      startOffset: this.startOffset,
      endOffset: this.endOffset,
      sizeBytes: this.totalBytes,
      segmentCount: this.segments.length,
    };
  }

  /** Releases nothing but marks the log closed; a second close is a no-op. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private checkRange(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.endOffset) {
      throw new GregorError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside [${this.startOffset}, ${this.endOffset}] of the memory log`,
      );
    }
  }
}

function closedError(): GregorError {
  return new GregorError('LOG_CLOSED', 'partition log (memory) is closed');
}

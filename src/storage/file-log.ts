import path from 'node:path';
import { GregorError } from '../errors.js';
import { type LogFs, nodeLogFs } from './log-fs.js';
import { expireSegments, type ResolvedLogOptions, resolveLogOptions } from './log-options.js';
import type {
  AppendOptions,
  AppendResult,
  LogOptions,
  LogStats,
  PartitionLog,
  ReadResult,
  RecoveryReport,
  RetentionResult,
} from './partition-log.js';
import { stampBatch, validateBatch } from './record-batch.js';
import { readRecoveryPoint, recoverLog, writeRecoveryPoint } from './recovery.js';
import { Segment, segmentFileName, storageError } from './segment.js';

/** LogOptions plus the file system to use (tests inject faults through it). */
export interface FileLogOptions extends LogOptions {
  /** File-system calls; default the real one (`nodeLogFs`). */
  fs?: LogFs;
  /**
   * CRC-check every batch of every segment at open, not only the active one (closed segments
   * otherwise get the cheap header-chain check). Costs a full read of the log. Default false.
   */
  verifyAllSegments?: boolean;
}

/** Relative offsets are uint32 in the index, so a segment may span at most this many offsets. */
const MAX_RELATIVE_OFFSET = 0xffff_ffff;

/**
 * Opens the partition log stored in `dir` (created if missing), running recovery first; see
 * recovery.ts for what is checked and repaired. Rejects with CORRUPT_LOG naming file and byte
 * position when a closed segment is damaged, or STORAGE_ERROR when the file system fails.
 */
export async function openFileLog(dir: string, opts: FileLogOptions = {}): Promise<FileLog> {
  const resolved = resolveLogOptions(opts);
  const fs = opts.fs ?? nodeLogFs;
  const { segments, report } = recoverLog(
    fs,
    dir,
    resolved.indexIntervalBytes,
    opts.verifyAllSegments ?? false,
  );
  return new FileLog(dir, fs, resolved, segments, report);
}

/**
 * A partition log in a directory of segment files. Appends are synchronous O_APPEND writes made
 * in call order (so offsets are assigned without a lock); durability follows the fsync policy,
 * and under `always` concurrent appends share one fdatasync (group commit).
 */
export class FileLog implements PartitionLog {
  /** What recovery found and repaired when the log was opened. */
  readonly recovery: RecoveryReport;
  private readonly segments: Segment[];
  private active: Segment;
  private totalBytes = 0;
  private closed = false;
  /** Everything below this offset is known to be on stable storage. */
  private durableOffset: number;
  /** Segment and byte position matching durableOffset: where a failed fsync cuts back to. */
  private durableSegment: Segment;
  private durablePosition: number;
  /** Segments written since their last fsync (the active one, and a just-rolled one). */
  private readonly unsynced = new Set<Segment>();
  /** A segment file was created or deleted since the directory was last fsynced. */
  private dirDirty = false;
  /** Segments ending at or before this offset are fsynced; recovery fully checks only the others. */
  private recoveryPoint: number;
  private syncing: Promise<void> | null = null;
  /** Lowest end offset set by a truncation while a sync was in flight. */
  private syncLowWater = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  /** A background (interval) fsync failed; the next flush or close reports it. */
  private backgroundError: unknown = null;

  constructor(
    readonly dir: string,
    private readonly fs: LogFs,
    private readonly opts: ResolvedLogOptions,
    segments: Segment[],
    report: RecoveryReport,
  ) {
    this.segments = segments;
    this.active = segments[segments.length - 1]!;
    this.recovery = report;
    for (const s of segments) this.totalBytes += s.size;
    // What recovery read back is what survived; it counts as durable.
    this.durableOffset = this.active.nextOffset;
    this.durableSegment = this.active;
    this.durablePosition = this.active.size;
    this.recoveryPoint = readRecoveryPoint(fs, dir);
    if (opts.fsync.kind === 'interval') {
      this.timer = setInterval(() => this.backgroundSync(), opts.fsync.intervalMs);
      this.timer.unref();
    }
  }

  /** First offset still held. */
  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Next offset to be assigned. */
  get endOffset(): number {
    return this.active.nextOffset;
  }

  append(batch: Buffer, opts?: AppendOptions): Promise<AppendResult> {
    if (this.closed) return Promise.reject(closedError(this.dir));
    try {
      const h = validateBatch(batch, this.opts.maxBatchBytes);
      let seg = this.active;
      const now = this.opts.now();
      const count = h.recordCount;
      if (
        seg.size > 0 &&
        (seg.size + batch.length > this.opts.segmentBytes ||
          now - (seg.firstAppendAt ?? now) >= this.opts.segmentMs ||
          seg.nextOffset + count - 1 - seg.baseOffset > MAX_RELATIVE_OFFSET)
      ) {
        seg = this.roll();
      }
      const baseOffset = seg.nextOffset;
      const position = seg.size;
      stampBatch(batch, baseOffset, opts?.leaderEpoch ?? 0);
      seg.write(batch, batch.length);
      if (seg.firstAppendAt === null) seg.firstAppendAt = now;
      seg.noteBatch(position, baseOffset, baseOffset + count - 1, batch.length, h.maxTimestamp);
      this.totalBytes += batch.length;
      this.unsynced.add(seg);
      const lastOffset = baseOffset + count - 1;
      if (this.opts.fsync.kind === 'always') {
        return this.syncTo(lastOffset + 1).then(() => ({ baseOffset, lastOffset, durable: true }));
      }
      return Promise.resolve({ baseOffset, lastOffset, durable: false });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Starts a new active segment. The old one is not fsynced here (that would stall appends for
   * the whole flush): it stays in `unsynced` and the next sync, timed or group commit, covers it.
   */
  private roll(): Segment {
    const old = this.active;
    old.writeIndexes();
    old.forgetRecent();
    const base = old.nextOffset;
    const logPath = path.join(this.dir, segmentFileName(base, '.log'));
    let fd: number;
    try {
      fd = this.fs.openSync(logPath, 'a+');
    } catch (err) {
      throw storageError('creating segment', logPath, err);
    }
    const seg = new Segment(this.fs, this.dir, base, fd, this.opts.indexIntervalBytes);
    this.segments.push(seg);
    this.active = seg;
    this.dirDirty = true;
    return seg;
  }

  private markDurable(seg: Segment, position: number, offset: number): void {
    if (offset < this.durableOffset) return;
    this.durableOffset = offset;
    this.durableSegment = seg;
    this.durablePosition = position;
  }

  /** Waits until everything below `target` is fsynced, sharing one fdatasync among all waiters. */
  private async syncTo(target: number): Promise<void> {
    for (let round = 0; this.durableOffset < target; round++) {
      if (target > this.endOffset) {
        throw new GregorError(
          'STORAGE_ERROR',
          `${this.dir}: batch ending at ${target - 1} was truncated before it was synced`,
        );
      }
      if (round > 1_000_000) throw new GregorError('STORAGE_ERROR', `${this.dir}: fsync made no progress`);
      if (this.syncing === null) this.syncing = this.runSync(this.opts.fsync.kind === 'always');
      await this.syncing;
    }
  }

  /** fdatasyncs every segment written since its last sync (and the directory if it changed). */
  private async runSync(rollbackOnError: boolean, recordEnd = false): Promise<void> {
    const seg = this.active;
    const covering = seg.nextOffset;
    const position = seg.size;
    const segs = [...this.unsynced].filter((s) => !s.isDeleted);
    this.unsynced.clear();
    const dir = this.dirDirty;
    this.dirDirty = false;
    this.syncLowWater = Number.POSITIVE_INFINITY;
    for (const s of segs) s.acquire();
    const started = performance.now();
    const results = await Promise.allSettled([
      ...segs.map((s) => this.fs.fdatasync(s.fd)),
      dir ? this.fs.fsyncDir(this.dir) : Promise.resolve(),
    ]);
    this.opts.onFsync?.((performance.now() - started) / 1000);
    const bad = results.findIndex((r) => r.status === 'rejected');
    for (const s of segs) s.release();
    this.syncing = null;
    if (bad >= 0) {
      for (const s of segs) this.unsynced.add(s);
      if (dir) this.dirDirty = true;
      if (rollbackOnError) this.rollbackUnsynced();
      const file = bad < segs.length ? segs[bad]!.logPath : this.dir;
      throw storageError('fsync', file, (results[bad] as PromiseRejectedResult).reason);
    }
    if (covering <= this.syncLowWater && !seg.isDeleted) this.markDurable(seg, position, covering);
    // At close the exact end is recorded; while running only segment boundaries, so this file is
    // rewritten once per roll rather than once per fsync.
    const point = recordEnd ? Math.min(covering, this.syncLowWater) : seg.baseOffset;
    if (point > this.recoveryPoint && point <= this.endOffset && !seg.isDeleted) {
      try {
        writeRecoveryPoint(this.fs, this.dir, point);
        this.recoveryPoint = point;
      } catch {
        // A stale recovery point is safe: the next recovery just checks more segments in full.
      }
    }
  }

  /**
   * After a failed fsync nothing past the last durable point can be trusted (Linux may drop the
   * dirty pages), so under `always` those batches are cut and their appends fail.
   */
  private rollbackUnsynced(): void {
    if (this.durableSegment.isDeleted) return;
    if (this.durableSegment === this.active && this.durablePosition >= this.active.size) return;
    this.cutTo(this.durableSegment, this.durablePosition);
  }

  /** Deletes the segments after `target` and cuts `target` at `position`, which becomes the end. */
  private cutTo(target: Segment, position: number): void {
    if (this.recoveryPoint > target.baseOffset) {
      // Segments re-written after the cut are not fsynced yet: recovery must check them in full.
      try {
        writeRecoveryPoint(this.fs, this.dir, target.baseOffset);
      } catch (err) {
        throw storageError('writing recovery point in', this.dir, err);
      }
      this.recoveryPoint = target.baseOffset;
    }
    while (this.segments.length > 1 && this.segments[this.segments.length - 1] !== target) {
      const seg = this.segments.pop()!;
      this.totalBytes -= seg.size;
      this.unsynced.delete(seg);
      seg.delete();
      this.dirDirty = true;
    }
    this.active = this.segments[this.segments.length - 1]!;
    this.totalBytes -= target.size;
    try {
      target.truncateAtPosition(position);
    } finally {
      this.totalBytes += target.size;
    }
    const end = target.nextOffset;
    this.syncLowWater = Math.min(this.syncLowWater, end);
    if (this.durableOffset > end) {
      this.durableOffset = end;
      this.durableSegment = target;
      this.durablePosition = target.size;
    }
  }

  private backgroundSync(): void {
    if (this.closed || this.syncing !== null || (this.unsynced.size === 0 && !this.dirDirty)) return;
    this.syncing = this.runSync(false);
    this.syncing.catch((err) => {
      this.backgroundError = err;
    });
  }

  read(offset: number, maxBytes: number): Promise<ReadResult> {
    if (this.closed) return Promise.reject(closedError(this.dir));
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.endOffset) {
      return Promise.reject(outOfRange(this.dir, offset, this.startOffset, this.endOffset));
    }
    if (offset === this.endOffset)
      return Promise.resolve({ bytes: Buffer.alloc(0), nextOffset: offset, batchCount: 0 });
    return this.segmentFor(offset).read(offset, maxBytes);
  }

  /** The segment whose offsets include `offset` (binary search on base offsets). */
  private segmentFor(offset: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!;
  }

  async offsetForTimestamp(ts: number): Promise<number | null> {
    if (this.closed) throw closedError(this.dir);
    for (const seg of this.segments.slice()) {
      if (seg.maxTimestamp >= ts) return seg.offsetForTimestamp(ts);
    }
    return null;
  }

  async truncateTo(offset: number): Promise<void> {
    if (this.closed) throw closedError(this.dir);
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.endOffset) {
      throw outOfRange(this.dir, offset, this.startOffset, this.endOffset);
    }
    if (offset === this.endOffset) return;
    const target = this.segmentFor(offset);
    let position = 0;
    if (offset > target.baseOffset) {
      // Appends during this await only add batches after `offset`, so the position stays right.
      target.acquire();
      let b: { position: number; baseOffset: number };
      try {
        b = await target.locate(offset);
      } finally {
        target.release();
      }
      if (b.baseOffset !== offset) {
        throw new GregorError(
          'INVALID_ARGUMENT',
          `truncateTo(${offset}) in ${this.dir}: offset is inside the batch starting at ${b.baseOffset}`,
        );
      }
      position = b.position;
    }
    if (this.closed) throw closedError(this.dir);
    this.cutTo(target, position);
    this.unsynced.add(target);
  }

  async applyRetention(): Promise<RetentionResult> {
    if (this.closed) throw closedError(this.dir);
    const expired = expireSegments(this.segments, this.totalBytes, this.opts, this.opts.now());
    let deletedBytes = 0;
    for (const seg of expired) {
      this.totalBytes -= seg.size;
      deletedBytes += seg.size;
      this.unsynced.delete(seg);
      seg.delete();
      this.dirDirty = true;
    }
    return { deletedSegments: expired.length, deletedBytes };
  }

  async flush(): Promise<void> {
    if (this.closed) throw closedError(this.dir);
    await this.flushInternal();
  }

  /** Syncs everything written so far; then reports a failed background fsync, if one happened since. */
  private async flushInternal(recordEnd = false): Promise<void> {
    for (let i = 0; this.syncing && i < 1000; i++) await this.syncing.catch(() => undefined);
    if (this.durableOffset < this.endOffset || this.unsynced.size > 0 || this.dirDirty || recordEnd) {
      this.syncing = this.runSync(false, recordEnd);
      await this.syncing;
    }
    if (this.backgroundError) {
      const err = this.backgroundError;
      this.backgroundError = null;
      throw err;
    }
  }

  stats(): LogStats {
    return {
      startOffset: this.startOffset,
      endOffset: this.endOffset,
      sizeBytes: this.totalBytes,
      segmentCount: this.segments.length,
    };
  }

  /** Flushes, writes the active segment's indexes and closes every file. A second close is a no-op. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.flushInternal(true);
      this.active.writeIndexes();
    } finally {
      for (const s of this.segments) s.close();
    }
  }
}

function closedError(dir: string): GregorError {
  return new GregorError('LOG_CLOSED', `partition log ${dir} is closed`);
}

function outOfRange(dir: string, offset: number, start: number, end: number): GregorError {
  return new GregorError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${start}, ${end}] of ${dir}`);
}

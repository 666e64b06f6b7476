import path from 'node:path';
import { GregorError } from '../errors.js';
import type { LogFs } from './log-fs.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  OFF_BATCH_LENGTH,
  OFF_MAX_TIMESTAMP,
  OFF_RECORD_COUNT,
  readInt64,
} from './record-batch.js';
import { OffsetIndex, TimeIndex } from './segment-index.js';
import { type ScannedBatch, scanSegment } from './segment-scan.js';

/** Zero-padded base offset, so segment files sort by name in offset order. */
export function segmentFileName(baseOffset: number, ext: '.log' | '.index' | '.timeindex'): string {
  return `${String(baseOffset).padStart(20, '0')}${ext}`;
}

/** Wraps an fs failure so the caller learns which operation on which file failed. */
export function storageError(op: string, file: string, err: unknown): GregorError {
  const msg = err instanceof Error ? err.message : String(err);
  return new GregorError('STORAGE_ERROR', `${op} ${file} failed: ${msg}`, { cause: err });
}

/** What a positional walk over headers reports for each batch; return true to stop. */
type HeaderVisitor = (
  position: number,
  baseOffset: number,
  lastOffset: number,
  size: number,
  maxTs: number,
) => boolean;

const WALK_WINDOW = 16 << 10;

/**
 * One `.log` file with its two sparse indexes. The segment tracks its valid size itself: bytes
 * past `size` (a failed write that could not be cut back) are never served.
 */
/** Bytes of the newest writes a segment keeps in memory for caught-up readers. */
const RECENT_BYTES = 64 * 1024;

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Bytes of whole, valid batches. */
  size = 0;
  /** Copies of the newest written bytes, oldest first (see rememberRecent). */
  private recent: { position: number; bytes: Buffer }[] = [];
  private recentBytes = 0;
  /** Offset after the last batch. */
  nextOffset: number;
  /** Largest maxTimestamp of any batch here; -Infinity when empty. */
  maxTimestamp = Number.NEGATIVE_INFINITY;
  /** Clock time of the first append (or the first batch's timestamp after a restart); drives segmentMs. */
  firstAppendAt: number | null = null;
  index = new OffsetIndex();
  timeIndex = new TimeIndex();
  /** True when the in-memory indexes are ahead of the files. */
  indexesDirty = true;
  /** A failed write left bytes past `size` that the next append must cut first. */
  tailDirty = false;
  /** Recovery found this segment past the recovery point (it may not have been fsynced). */
  unflushed = false;
  private bytesSinceIndex = 0;
  private runningMaxTs = Number.NEGATIVE_INFINITY;
  private readers = 0;
  private closed = false;
  private deleted = false;
  /** Where the last read stopped, so a sequential consumer skips the index lookup and scan. */
  private hintOffset = -1;
  private hintPosition = 0;

  constructor(
    private readonly fs: LogFs,
    dir: string,
    readonly baseOffset: number,
    public fd: number,
    private readonly indexIntervalBytes: number,
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, '.log'));
    this.indexPath = path.join(dir, segmentFileName(baseOffset, '.index'));
    this.timeIndexPath = path.join(dir, segmentFileName(baseOffset, '.timeindex'));
    this.nextOffset = baseOffset;
  }

  /** Accounts for a batch now at `position` (after an append or during a scan). */
  noteBatch(position: number, baseOffset: number, lastOffset: number, size: number, maxTs: number): void {
    const rel = baseOffset - this.baseOffset;
    if (maxTs > this.runningMaxTs) this.runningMaxTs = maxTs;
    if (this.index.length === 0 || this.bytesSinceIndex >= this.indexIntervalBytes) {
      this.index.add(rel, position);
      this.timeIndex.add(this.runningMaxTs, rel);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
    this.size = position + size;
    this.nextOffset = lastOffset + 1;
    if (maxTs > this.maxTimestamp) this.maxTimestamp = maxTs;
    this.indexesDirty = true;
  }

  /** Rebuilds size and indexes from the file's first `validBytes` bytes (after a truncation). */
  rescan(validBytes: number): void {
    this.forgetRecent();
    this.index = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.bytesSinceIndex = 0;
    this.runningMaxTs = Number.NEGATIVE_INFINITY;
    this.maxTimestamp = Number.NEGATIVE_INFINITY;
    this.size = 0;
    this.nextOffset = this.baseOffset;
    this.hintOffset = -1;
    const res = scanSegment(this.fs, this.fd, validBytes, this.baseOffset, false, (b: ScannedBatch) =>
      this.noteBatch(b.position, b.baseOffset, b.lastOffset, b.sizeBytes, b.maxTimestamp),
    );
    if (res.damage) {
      throw new GregorError(
        'CORRUPT_LOG',
        `${this.logPath} at byte ${res.damage.position}: ${res.damage.reason} (found while rescanning after truncation)`,
      );
    }
    if (this.size === 0) this.firstAppendAt = null;
  }

  /** Writes `len` bytes of `buf` at the end of the file; on failure cuts the file back so no partial batch stays. */
  write(buf: Buffer, len: number): void {
    const position = this.size;
    if (this.tailDirty) {
      try {
        this.fs.ftruncateSync(this.fd, this.size);
        this.tailDirty = false;
      } catch (err) {
        throw storageError('truncating the failed write at the end of', this.logPath, err);
      }
    }
    let written = 0;
    try {
      while (written < len) {
        const n = this.fs.writeSync(this.fd, buf, written, len - written);
        if (n <= 0) throw new Error(`write made no progress at byte ${this.size + written}`);
        written += n;
      }
    } catch (err) {
      // Even a write that reports nothing written may have extended the file before failing.
      try {
        this.fs.ftruncateSync(this.fd, this.size);
      } catch {
        this.tailDirty = true;
      }
      this.forgetRecent();
      throw storageError(`appending ${len} bytes at byte ${this.size} of`, this.logPath, err);
    }
    this.rememberRecent(position, buf, len);
  }

  /**
   * Keeps a copy of the newest written bytes (at most RECENT_BYTES, contiguous up to the end of
   * the file), so a reader that has caught up with the producers, the usual live subscriber, is
   * answered from memory instead of a read through libuv's thread pool, which it would share with
   * fsyncs and every other partition's reads.
   */
  private rememberRecent(position: number, buf: Buffer, len: number): void {
    const last = this.recent.at(-1);
    if (len > RECENT_BYTES || (last && last.position + last.bytes.length !== position)) {
      this.forgetRecent();
      if (len > RECENT_BYTES) return;
    }
    this.recent.push({ position, bytes: Buffer.from(buf.subarray(0, len)) });
    this.recentBytes += len;
    while (this.recentBytes > RECENT_BYTES) this.recentBytes -= this.recent.shift()!.bytes.length;
  }

  /** Drops the recent copies (on truncation, a failed write, or when the segment stops being the active one). */
  forgetRecent(): void {
    this.recent = [];
    this.recentBytes = 0;
  }

  /** Fills buf[0, len) from the recent copies when they hold all of [position, position + len). */
  private readRecent(buf: Buffer, len: number, position: number): boolean {
    const first = this.recent[0];
    if (!first || position < first.position || position + len > this.size) return false;
    let got = 0;
    for (const r of this.recent) {
      const end = r.position + r.bytes.length;
      if (end <= position + got) continue;
      got += r.bytes.copy(
        buf,
        got,
        position + got - r.position,
        Math.min(r.bytes.length, position + len - r.position),
      );
      if (got >= len) break;
    }
    return got === len;
  }

  /** Cuts the file at `position` (a batch boundary) and rebuilds the in-memory state. */
  truncateAtPosition(position: number): void {
    this.forgetRecent();
    try {
      this.fs.ftruncateSync(this.fd, position);
    } catch (err) {
      throw storageError(`truncating at byte ${position}`, this.logPath, err);
    }
    this.tailDirty = false;
    this.rescan(position);
    // Index files must never point past the log (recovery treats that as damage).
    this.writeIndexes();
  }

  /** Persists both indexes whole (at roll and close; the active segment's are rebuilt on recovery). */
  writeIndexes(): void {
    if (!this.indexesDirty) return;
    try {
      this.fs.replaceFileSync(this.indexPath, this.index.toBuffer());
    } catch (err) {
      throw storageError('writing index', this.indexPath, err);
    }
    try {
      this.fs.replaceFileSync(this.timeIndexPath, this.timeIndex.toBuffer());
    } catch (err) {
      throw storageError('writing time index', this.timeIndexPath, err);
    }
    this.indexesDirty = false;
  }

  /** Visits batch headers from `position` on with windowed positional reads, until `visit` says stop. */
  private async walk(position: number, end: number, visit: HeaderVisitor): Promise<void> {
    const buf = Buffer.allocUnsafe(WALK_WINDOW);
    let winStart = 0;
    let winLen = 0;
    let pos = position;
    while (pos < end) {
      if (pos < winStart || pos + BATCH_HEADER_BYTES > winStart + winLen) {
        const want = Math.min(WALK_WINDOW, end - pos);
        winLen = await this.readFully(buf, want, pos);
        winStart = pos;
        if (winLen < BATCH_HEADER_BYTES) break;
      }
      const o = pos - winStart;
      const size = buf.readInt32BE(o + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
      const base = readInt64(buf, o);
      const last = base + buf.readInt32BE(o + OFF_RECORD_COUNT) - 1;
      if (size < BATCH_HEADER_BYTES)
        throw new GregorError('CORRUPT_LOG', `${this.logPath} at byte ${pos}: bad batch length`);
      if (visit(pos, base, last, size, readInt64(buf, o + OFF_MAX_TIMESTAMP))) return;
      pos += size;
    }
  }

  private async readFully(buf: Buffer, len: number, position: number): Promise<number> {
    if (this.readRecent(buf, len, position)) return len;
    let got = 0;
    while (got < len) {
      let n: number;
      try {
        n = await this.fs.read(this.fd, buf, got, len - got, position + got);
      } catch (err) {
        throw storageError(`reading ${len} bytes at byte ${position} of`, this.logPath, err);
      }
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /** Position and size of the batch holding `offset` (which must be in [baseOffset, nextOffset)). */
  async locate(offset: number): Promise<{ position: number; size: number; baseOffset: number }> {
    let start = 0;
    const i = this.index.floor(offset - this.baseOffset);
    if (i >= 0) start = this.index.positionAt(i);
    if (
      this.hintOffset >= 0 &&
      this.hintOffset <= offset &&
      this.hintPosition >= start &&
      this.hintPosition < this.size
    ) {
      start = this.hintPosition;
    }
    let found: { position: number; size: number; baseOffset: number } | null = null;
    await this.walk(start, this.size, (pos, base, last, size) => {
      if (offset < base) return true;
      if (offset <= last) {
        found = { position: pos, size, baseOffset: base };
        return true;
      }
      return false;
    });
    if (!found)
      throw new GregorError('CORRUPT_LOG', `${this.logPath}: offset ${offset} not found from byte ${start}`);
    return found;
  }

  /** Whole batches from the one holding `offset`, up to `maxBytes` but at least one. */
  async read(
    offset: number,
    maxBytes: number,
  ): Promise<{ bytes: Buffer; nextOffset: number; batchCount: number }> {
    this.readers++;
    try {
      const first = await this.locate(offset);
      let len = Math.min(this.size - first.position, Number.isNaN(maxBytes) ? 0 : Math.max(maxBytes, 0));
      if (len < first.size) len = first.size;
      const buf = Buffer.allocUnsafe(len);
      const got = await this.readFully(buf, len, first.position);
      let end = 0;
      let count = 0;
      let next = offset;
      while (got - end >= BATCH_HEADER_BYTES) {
        const size = buf.readInt32BE(end + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
        if (size < BATCH_HEADER_BYTES || end + size > got) break;
        next = readInt64(buf, end) + buf.readInt32BE(end + OFF_RECORD_COUNT);
        end += size;
        count++;
      }
      if (count === 0)
        throw new GregorError('CORRUPT_LOG', `${this.logPath}: no whole batch at byte ${first.position}`);
      this.hintOffset = next;
      this.hintPosition = first.position + end;
      return { bytes: buf.subarray(0, end), nextOffset: next, batchCount: count };
    } finally {
      this.release();
    }
  }

  /** Base offset of the first batch with maxTimestamp >= ts, or null if there is none here. */
  async offsetForTimestamp(ts: number): Promise<number | null> {
    if (this.maxTimestamp < ts) return null;
    this.readers++;
    try {
      let start = 0;
      const i = this.timeIndex.lastBefore(ts);
      if (i >= 0) {
        const b = await this.locate(this.baseOffset + this.timeIndex.relativeOffsetAt(i));
        start = b.position + b.size;
      }
      let result: number | null = null;
      await this.walk(start, this.size, (_pos, base, _last, _size, maxTs) => {
        if (maxTs >= ts) {
          result = base;
          return true;
        }
        return false;
      });
      return result;
    } finally {
      this.release();
    }
  }

  /** Keeps the descriptor open while an fsync or read uses it; pair with release(). */
  acquire(): void {
    this.readers++;
  }

  /** Closes the file once no read is using it. */
  close(): void {
    this.closed = true;
    this.release(0);
  }

  /** Removes the files (indexes first, so a crash in between leaves a rebuildable log). */
  delete(): void {
    this.deleted = true;
    for (const p of [this.indexPath, this.timeIndexPath, this.logPath]) {
      try {
        this.fs.unlinkSync(p);
      } catch (err) {
        throw storageError('deleting', p, err);
      }
    }
    this.close();
  }

  /** True once delete() ran. */
  get isDeleted(): boolean {
    return this.deleted;
  }

  /** Ends an acquire() (or, with 0, just closes if nothing is in use). */
  release(n = 1): void {
    this.readers -= n;
    if (this.closed && this.readers === 0 && this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      try {
        this.fs.closeSync(fd);
      } catch {
        // Closing can only fail for a bad descriptor; nothing is left to release then.
      }
    }
  }
}

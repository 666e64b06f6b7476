import path from 'node:path';
import { GregorError } from '../errors.js';
import type { LogFs } from './log-fs.js';
import type { RecoveryReport } from './partition-log.js';
import { Segment, segmentFileName, storageError } from './segment.js';
import { OFFSET_ENTRY_BYTES, TIME_ENTRY_BYTES } from './segment-index.js';
import { scanSegment } from './segment-scan.js';

const LOG_NAME = /^(\d{20})\.log$/;
/** Sidecar file: every segment that ends at or before this offset is known to be fsynced. */
export const RECOVERY_POINT_FILE = 'recovery-point';

/** Reads the recovery point; missing or unreadable means 0 (check everything in full: safe, slower). */
export function readRecoveryPoint(fs: LogFs, dir: string): number {
  let buf: Buffer | null = null;
  try {
    buf = fs.readFileOrNullSync(path.join(dir, RECOVERY_POINT_FILE));
  } catch {
    return 0;
  }
  const m = buf ? /^(\d{1,16})\n$/.exec(buf.toString('latin1')) : null;
  return m ? Number(m[1]) : 0;
}

/**
 * Records a new recovery point. Not fsynced: it is written only after the data it vouches for
 * was fsynced, so whichever version survives a crash is true (an old one only costs a longer scan).
 */
export function writeRecoveryPoint(fs: LogFs, dir: string, offset: number): void {
  fs.replaceFileSync(path.join(dir, RECOVERY_POINT_FILE), Buffer.from(`${offset}\n`, 'latin1'));
}

function fileSizeOf(fs: LogFs, file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    return fs.fileSizeSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
const SIDE_NAME = /^(\d{20})\.(index|timeindex)$/;

/** The segments of a partition directory, oldest first, and what recovery had to do. */
export interface RecoveredLog {
  segments: Segment[];
  report: RecoveryReport;
}

/**
 * Checks a stored index against the batches the scan found, merged in position order: every
 * entry must name the position and relative offset of a real batch, in increasing order.
 */
class IndexChecker {
  private k = 0;
  private m = 0;
  offsetOk: boolean;
  timeOk: boolean;
  private runningMax = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly base: number,
    private readonly offsetFile: Buffer | null,
    private readonly timeFile: Buffer | null,
  ) {
    this.offsetOk = offsetFile !== null && offsetFile.length % OFFSET_ENTRY_BYTES === 0;
    this.timeOk = timeFile !== null && timeFile.length % TIME_ENTRY_BYTES === 0;
  }

  visit(position: number, baseOffset: number, maxTs: number): void {
    const rel = baseOffset - this.base;
    if (this.offsetOk) {
      const f = this.offsetFile!;
      if (this.k * OFFSET_ENTRY_BYTES < f.length) {
        const entryPos = f.readUInt32BE(this.k * OFFSET_ENTRY_BYTES + 4);
        if (entryPos < position) this.offsetOk = false;
        else if (entryPos === position) {
          if (f.readUInt32BE(this.k * OFFSET_ENTRY_BYTES) !== rel) this.offsetOk = false;
          this.k++;
        }
      }
    }
    this.visitTime(rel, maxTs);
  }

  private visitTime(rel: number, maxTs: number): void {
    if (maxTs > this.runningMax) this.runningMax = maxTs;
    if (!this.timeOk) return;
    const f = this.timeFile!;
    const n = f.length / TIME_ENTRY_BYTES;
    if (this.m >= n) return;
    const o = this.m * TIME_ENTRY_BYTES;
    const entryRel = f.readUInt32BE(o + 8);
    if (entryRel < rel) this.timeOk = false;
    else if (entryRel === rel) {
      const ts = f.readInt32BE(o) * 0x1_0000_0000 + f.readUInt32BE(o + 4);
      if (ts !== this.runningMax) this.timeOk = false;
      this.m++;
    }
  }

  /**
   * Final verdicts. Entries past the last batch are damage even in the active segment: its
   * indexes are written only after the log was fsynced (close, roll) or cut (truncateTo), so a
   * torn tail never holds batches an index entry points at.
   */
  finish(): { offsetOk: boolean; timeOk: boolean } {
    if (this.offsetOk && this.k * OFFSET_ENTRY_BYTES !== this.offsetFile!.length) this.offsetOk = false;
    if (this.timeOk && this.m * TIME_ENTRY_BYTES !== this.timeFile!.length) this.timeOk = false;
    return { offsetOk: this.offsetOk, timeOk: this.timeOk };
  }
}

function tryFs<T>(op: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw storageError(op, file, err);
  }
}

/**
 * Opens (or creates) a partition directory. The newest segment, and any older one not yet known
 * to be fsynced (past the recovery point, as after a crash soon after a roll), is checked batch
 * by batch with CRCs; a torn or corrupt tail is cut off there and later segments dropped. The
 * other segments get the cheap check (each header's length lands on the next header or on end
 * of file, offsets run on without a gap); damage there is CORRUPT_LOG with file and byte
 * position, because cutting a flushed segment would lose acknowledged data behind the cut.
 * Missing or damaged indexes are rebuilt.
 */
export function recoverLog(
  fs: LogFs,
  dir: string,
  indexIntervalBytes: number,
  verifyAll = false,
): RecoveredLog {
  tryFs('creating directory', dir, () => fs.mkdirSync(dir));
  const names = tryFs('listing', dir, () => fs.readdirSync(dir));
  const bases: number[] = [];
  const logs = new Set<string>();
  for (const name of names) {
    const m = LOG_NAME.exec(name);
    if (m) {
      bases.push(Number(m[1]));
      logs.add(m[1]!);
    }
  }
  for (const name of names) {
    // Leftovers of an interrupted index write or segment deletion.
    const side = SIDE_NAME.exec(name);
    if (name.endsWith('.tmp') || (side && !logs.has(side[1]!))) {
      tryFs('deleting leftover', path.join(dir, name), () => fs.unlinkSync(path.join(dir, name)));
    }
  }
  bases.sort((a, b) => a - b);
  const report: RecoveryReport = { truncatedBytes: 0, rebuiltIndexes: [] };
  if (bases.length === 0) {
    const logPath = path.join(dir, segmentFileName(0, '.log'));
    const fd = tryFs('creating', logPath, () => fs.openSync(logPath, 'a+'));
    tryFs('syncing directory', dir, () => fs.fsyncDirSync(dir));
    return { segments: [new Segment(fs, dir, 0, fd, indexIntervalBytes)], report };
  }
  const recoveryPoint = readRecoveryPoint(fs, dir);
  const segments: Segment[] = [];
  /** Cuts the log at `position` of `seg` (an unflushed segment) and drops every later segment. */
  const cutHere = (
    seg: Segment,
    fd: number,
    fileSize: number,
    position: number,
    reason: string,
    from: number,
  ) => {
    tryFs(`truncating torn tail at byte ${position} of`, seg.logPath, () => fs.ftruncateSync(fd, position));
    report.truncatedBytes = fileSize - position;
    report.truncatedAt = { file: seg.logPath, position, reason };
    for (const later of bases.slice(from)) {
      const laterLog = path.join(dir, segmentFileName(later, '.log'));
      report.truncatedBytes += tryFs('sizing', laterLog, () => fileSizeOf(fs, laterLog));
      for (const ext of ['.index', '.timeindex', '.log'] as const) {
        const p = path.join(dir, segmentFileName(later, ext));
        tryFs('deleting', p, () => fs.unlinkSync(p));
      }
    }
  };
  try {
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const active = i === bases.length - 1;
      // A segment holding offsets at or past the recovery point may not have been fsynced
      // before a crash: it is checked in full and may be cut, like the active one.
      const unflushed = active || (bases[i + 1] ?? Number.POSITIVE_INFINITY) > recoveryPoint;
      const logPath = path.join(dir, segmentFileName(base, '.log'));
      const prev = segments[segments.length - 1];
      if (prev && prev.nextOffset !== base) {
        if (prev.nextOffset > recoveryPoint) {
          // The previous segment lost whole batches at its end; what follows cannot be used.
          cutHere(
            prev,
            prev.fd,
            prev.size,
            prev.size,
            `segment ends at offset ${prev.nextOffset} but ${logPath} starts at ${base}`,
            i,
          );
          break;
        }
        throw new GregorError(
          'CORRUPT_LOG',
          `${logPath} at byte 0: segment starts at offset ${base} but ${prev.logPath} ends at offset ${prev.nextOffset}`,
        );
      }
      const fd = tryFs('opening', logPath, () => fs.openSync(logPath, 'a+'));
      const seg = new Segment(fs, dir, base, fd, indexIntervalBytes);
      seg.unflushed = unflushed;
      segments.push(seg);
      const fileSize = tryFs('reading size of', logPath, () => fs.fileSizeSync(fd));
      const offsetFile = tryFs('reading', seg.indexPath, () => fs.readFileOrNullSync(seg.indexPath));
      const timeFile = tryFs('reading', seg.timeIndexPath, () => fs.readFileOrNullSync(seg.timeIndexPath));
      const checker = new IndexChecker(base, offsetFile, timeFile);
      const res = tryFs('scanning', logPath, () =>
        scanSegment(fs, fd, fileSize, base, unflushed || verifyAll, (b) => {
          if (seg.firstAppendAt === null) seg.firstAppendAt = b.maxTimestamp;
          checker.visit(b.position, b.baseOffset, b.maxTimestamp);
          seg.noteBatch(b.position, b.baseOffset, b.lastOffset, b.sizeBytes, b.maxTimestamp);
        }),
      );
      if (res.damage && !unflushed) {
        throw new GregorError(
          'CORRUPT_LOG',
          `${logPath} at byte ${res.damage.position}: ${res.damage.reason}`,
        );
      }
      if (res.damage) cutHere(seg, fd, fileSize, res.validEnd, res.damage.reason, i + 1);
      const verdict = checker.finish();
      // An empty segment has nothing to index, so a missing index file there is not news.
      const missingIsFine = seg.size === 0;
      if (!verdict.offsetOk && !(missingIsFine && offsetFile === null))
        report.rebuiltIndexes.push(seg.indexPath);
      if (!verdict.timeOk && !(missingIsFine && timeFile === null))
        report.rebuiltIndexes.push(seg.timeIndexPath);
      const fresh = seg.index.toBuffer().equals(offsetFile ?? Buffer.alloc(0)) && offsetFile !== null;
      const freshTime = seg.timeIndex.toBuffer().equals(timeFile ?? Buffer.alloc(0)) && timeFile !== null;
      if (fresh && freshTime) seg.indexesDirty = false;
      else seg.writeIndexes();
      if (res.damage) break;
    }
  } catch (err) {
    for (const s of segments) s.close();
    throw err;
  }
  return { segments, report };
}

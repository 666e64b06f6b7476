import type { LogFs } from './log-fs.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BATCH_MAGIC,
  computeBatchCrc,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_RECORD_COUNT,
  readInt64,
} from './record-batch.js';

/** One batch as a scan sees it. */
export interface ScannedBatch {
  position: number;
  baseOffset: number;
  lastOffset: number;
  sizeBytes: number;
  maxTimestamp: number;
}

/** How far a scan got: `validEnd` is the byte just past the last good batch. */
export interface ScanResult {
  validEnd: number;
  /** Offset after the last good batch (the segment's end offset if nothing is damaged). */
  nextOffset: number;
  batchCount: number;
  /** First damaged byte and why, when the scan stopped before the end of the file. */
  damage?: { position: number; reason: string };
}

const FULL_WINDOW = 1 << 20;
const HEADER_WINDOW = 256 << 10;

/**
 * Walks a segment's batches from byte 0, checking that each header is sane (length fits the
 * file, magic, counts) and that offsets run on from `baseOffset` without a gap. With `verifyCrc`
 * every batch is read whole and its CRC32C checked (the active segment at start-up); without it
 * only headers are read, which costs one small read per large batch (closed segments).
 */
export function scanSegment(
  fs: LogFs,
  fd: number,
  fileSize: number,
  baseOffset: number,
  verifyCrc: boolean,
  onBatch: (b: ScannedBatch) => void,
): ScanResult {
  let buf = Buffer.allocUnsafe(verifyCrc ? FULL_WINDOW : HEADER_WINDOW);
  let winStart = 0;
  let winLen = 0;
  let pos = 0;
  let expected = baseOffset;
  let batchCount = 0;
  let lastSize = 0;
  const fill = (at: number, need: number): void => {
    const want = Math.min(fileSize - at, Math.max(need, verifyCrc || lastSize < 16384 ? buf.length : 4096));
    if (want > buf.length) buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(fd, buf, got, want - got, at + got);
      if (n === 0) break;
      got += n;
    }
    winStart = at;
    winLen = got;
  };
  const stop = (reason: string): ScanResult => ({
    validEnd: pos,
    nextOffset: expected,
    batchCount,
    damage: { position: pos, reason },
  });
  while (pos < fileSize) {
    const remaining = fileSize - pos;
    if (remaining < BATCH_HEADER_BYTES)
      return stop(`${remaining} trailing bytes are too few for a batch header`);
    if (pos < winStart || pos + BATCH_HEADER_BYTES > winStart + winLen) fill(pos, BATCH_HEADER_BYTES);
    let o = pos - winStart;
    const size = buf.readInt32BE(o + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
    if (size < BATCH_HEADER_BYTES) return stop(`batchLength says ${size} bytes, less than a header`);
    if (size > remaining)
      return stop(`batch of ${size} bytes runs past the end of the file (${remaining} left)`);
    if (buf.readInt8(o + OFF_MAGIC) !== BATCH_MAGIC) return stop(`magic is ${buf.readInt8(o + OFF_MAGIC)}`);
    const batchBase = readInt64(buf, o);
    if (batchBase !== expected) return stop(`baseOffset is ${batchBase}, expected ${expected}`);
    const count = buf.readInt32BE(o + OFF_RECORD_COUNT);
    if (count < 1 || buf.readInt32BE(o + OFF_LAST_OFFSET_DELTA) !== count - 1)
      return stop(`recordCount ${count} and lastOffsetDelta disagree`);
    const maxTimestamp = readInt64(buf, o + OFF_MAX_TIMESTAMP);
    if (verifyCrc) {
      if (pos + size > winStart + winLen) {
        fill(pos, size);
        o = 0;
      }
      const batch = buf.subarray(o, o + size);
      if (computeBatchCrc(batch) !== batch.readUInt32BE(OFF_CRC)) return stop('CRC32C does not match');
    }
    onBatch({
      position: pos,
      baseOffset: batchBase,
      lastOffset: batchBase + count - 1,
      sizeBytes: size,
      maxTimestamp,
    });
    expected = batchBase + count;
    batchCount++;
    lastSize = size;
    pos += size;
  }
  return { validEnd: pos, nextOffset: expected, batchCount };
}

/**
 * The two sparse per-segment indexes, kept in memory as typed arrays and written to disk whole.
 *
 * `.index` (8 bytes per entry, big-endian, like Kafka's offset index):
 *     0 4 relativeOffset   batch baseOffset - segment baseOffset
 *     4 4 position         byte position of that batch in the .log file
 * `.timeindex` (12 bytes per entry):
 *     0 8 timestamp        largest maxTimestamp of all batches up to and including this one
 *     8 4 relativeOffset   baseOffset of the batch at which the entry was taken, minus segment base
 *
 * Both gain an entry for the first batch of a segment and then once every `indexIntervalBytes`
 * of log, so a lookup lands within about one interval of its target and scans the rest.
 */
/** Bytes per `.index` entry. */
export const OFFSET_ENTRY_BYTES = 8;
/** Bytes per `.timeindex` entry. */
export const TIME_ENTRY_BYTES = 12;

/** Sparse relative offset -> file position map of one segment. */
export class OffsetIndex {
  private rel = new Uint32Array(64);
  private pos = new Uint32Array(64);
  /** Number of entries. */
  length = 0;

  add(relativeOffset: number, position: number): void {
    if (this.length === this.rel.length) {
      const rel = new Uint32Array(this.length * 2);
      rel.set(this.rel);
      this.rel = rel;
      const pos = new Uint32Array(this.length * 2);
      pos.set(this.pos);
      this.pos = pos;
    }
    this.rel[this.length] = relativeOffset;
    this.pos[this.length] = position;
    this.length++;
  }

  relativeOffsetAt(i: number): number {
    return this.rel[i]!;
  }

  positionAt(i: number): number {
    return this.pos[i]!;
  }

  /** Index of the last entry with relativeOffset <= rel, or -1. */
  floor(rel: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= rel) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops every entry whose position is at or past `position` (after a truncation). */
  truncateToPosition(position: number): void {
    while (this.length > 0 && this.pos[this.length - 1]! >= position) this.length--;
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length * OFFSET_ENTRY_BYTES);
    for (let i = 0; i < this.length; i++) {
      out.writeUInt32BE(this.rel[i]!, i * OFFSET_ENTRY_BYTES);
      out.writeUInt32BE(this.pos[i]!, i * OFFSET_ENTRY_BYTES + 4);
    }
    return out;
  }
}

/** Sparse running-max-timestamp -> relative offset map of one segment. */
export class TimeIndex {
  private ts = new Float64Array(64);
  private rel = new Uint32Array(64);
  /** Number of entries. */
  length = 0;

  add(timestamp: number, relativeOffset: number): void {
    if (this.length > 0 && timestamp <= this.ts[this.length - 1]!) return;
    if (this.length === this.ts.length) {
      const ts = new Float64Array(this.length * 2);
      ts.set(this.ts);
      this.ts = ts;
      const rel = new Uint32Array(this.length * 2);
      rel.set(this.rel);
      this.rel = rel;
    }
    this.ts[this.length] = timestamp;
    this.rel[this.length] = relativeOffset;
    this.length++;
  }

  timestampAt(i: number): number {
    return this.ts[i]!;
  }

  relativeOffsetAt(i: number): number {
    return this.rel[i]!;
  }

  /** Index of the last entry with timestamp < ts, or -1: every batch up to it is older than ts. */
  lastBefore(ts: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < ts) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops every entry at or past relative offset `rel`. */
  truncateToRelativeOffset(rel: number): void {
    while (this.length > 0 && this.rel[this.length - 1]! >= rel) this.length--;
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length * TIME_ENTRY_BYTES);
    for (let i = 0; i < this.length; i++) {
      const o = i * TIME_ENTRY_BYTES;
      const t = this.ts[i]!;
      out.writeInt32BE(Math.floor(t / 0x1_0000_0000), o);
      out.writeUInt32BE(t >>> 0, o + 4);
      out.writeUInt32BE(this.rel[i]!, o + 8);
    }
    return out;
  }
}

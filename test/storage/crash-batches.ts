import assert from 'node:assert/strict';
import { decodeBatch, encodeBatch, readBatchHeader } from '../../src/storage/record-batch.js';

/** Records in the batch that starts at `base`: 1 to 5, so batch boundaries vary. */
export function recordCountFor(base: number): number {
  return 1 + (base % 5);
}

/** The value of the record at `offset`; its length varies so batches straddle pages. */
export function valueFor(offset: number): string {
  return `v${offset}|${'abcdefghij'.repeat((offset * 7) % 40)}`;
}

/** The batch the crash writer appends when the log ends at `base`: content follows from the offset. */
export function batchFor(base: number): Buffer {
  const records = [];
  for (let i = 0; i < recordCountFor(base); i++) {
    records.push({ key: `k${base + i}`, value: valueFor(base + i), timestamp: 1_700_000_000_000 + base });
  }
  return encodeBatch(records, { timestamp: 1_700_000_000_000 + base });
}

/** Decodes a batch read back and checks every record is the one the writer derived from its offset. */
export function checkBatch(batch: Buffer): { baseOffset: number; lastOffset: number } {
  const h = readBatchHeader(batch);
  const records = decodeBatch(batch);
  assert.equal(records.length, recordCountFor(h.baseOffset), `record count of batch ${h.baseOffset}`);
  for (const [i, r] of records.entries()) {
    assert.equal(r.offset, h.baseOffset + i);
    assert.equal(r.key?.toString(), `k${r.offset}`);
    assert.equal(r.value?.toString(), valueFor(r.offset), `value at offset ${r.offset}`);
  }
  return { baseOffset: h.baseOffset, lastOffset: h.baseOffset + records.length - 1 };
}

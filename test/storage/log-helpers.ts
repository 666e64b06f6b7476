import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { decodeBatch, encodeBatch, readBatchHeader, splitBatches } from '../../src/storage/record-batch.js';

/** A batch of `count` records whose values are `${tag}-${i}`, all with timestamp `ts`. */
export function makeBatch(tag: string, count: number, ts = 1_700_000_000_000, valueBytes = 0): Buffer {
  const records = [];
  for (let i = 0; i < count; i++) {
    const pad = valueBytes > 0 ? `:${'x'.repeat(valueBytes)}` : '';
    records.push({ key: `k${i}`, value: `${tag}-${i}${pad}`, timestamp: ts });
  }
  return encodeBatch(records, { timestamp: ts });
}

/** Values of every record of a read's bytes, with their offsets. */
export function decodeAll(bytes: Buffer): { offset: number; value: string }[] {
  const out: { offset: number; value: string }[] = [];
  for (const b of splitBatches(bytes)) {
    for (const r of decodeBatch(b)) out.push({ offset: r.offset, value: r.value!.toString() });
  }
  return out;
}

/** Reads the whole log with `maxBytes`-sized reads, checking batches are contiguous on the way. */
export async function readAll(log: PartitionLog, maxBytes = 1 << 20): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  let offset = log.startOffset;
  for (let i = 0; offset < log.endOffset; i++) {
    assert.ok(i < 1_000_000, 'readAll did not terminate');
    const r = await log.read(offset, maxBytes);
    assert.ok(r.batchCount >= 1, `read at ${offset} returned nothing before the end`);
    const parts = splitBatches(r.bytes);
    assert.equal(parts.length, r.batchCount);
    for (const b of parts) {
      const h = readBatchHeader(b);
      if (batches.length === 0)
        assert.ok(h.baseOffset <= offset && offset <= h.baseOffset + h.recordCount - 1);
      else assert.equal(h.baseOffset, offset, 'batches are not contiguous');
      offset = h.baseOffset + h.recordCount;
      batches.push(b);
    }
    assert.equal(r.nextOffset, offset);
  }
  return batches;
}

/**
 * Makes a temp dir removed after the test, after running `beforeRemove` hooks (closing logs)
 * registered through the returned `onCleanup`, since node:test runs after-hooks in order.
 */
export async function tempDir(t: TestContext, prefix = 'gregor-log-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const hooks: (() => Promise<unknown>)[] = [];
  cleanups.set(dir, hooks);
  t.after(async () => {
    for (const h of hooks.reverse()) await h().catch(() => undefined);
    cleanups.delete(dir);
    await fs.rm(dir, { recursive: true, force: true });
  });
  return dir;
}

const cleanups = new Map<string, (() => Promise<unknown>)[]>();

/** Runs `fn` (e.g. closing a log) before `dir`, made by tempDir, is removed. */
export function beforeRemove(dir: string, fn: () => Promise<unknown>): void {
  const hooks = cleanups.get(dir);
  if (!hooks) throw new Error(`${dir} was not made by tempDir`);
  hooks.push(fn);
}

/** Asserts `p` rejects with a GregorError of `code`, optionally whose message matches `re`. */
export async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (re) assert.match(err.message, re);
    return true;
  });
}

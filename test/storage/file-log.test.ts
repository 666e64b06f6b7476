import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { type FileLog, type FileLogOptions, openFileLog } from '../../src/storage/file-log.js';
import { readBatchHeader } from '../../src/storage/record-batch.js';
import { beforeRemove, makeBatch, readAll, tempDir } from './log-helpers.js';
import { runLogSuite } from './log-suite.js';

async function openTemp(t: TestContext, opts: FileLogOptions = {}): Promise<{ log: FileLog; dir: string }> {
  const dir = await tempDir(t);
  const log = await openFileLog(dir, opts);
  beforeRemove(dir, () => log.close());
  return { log, dir };
}

runLogSuite('FileLog (fsync interval:1000)', async (t, opts) => (await openTemp(t, opts)).log);
runLogSuite(
  'FileLog (fsync always)',
  async (t, opts) => (await openTemp(t, { ...opts, fsync: { kind: 'always' } })).log,
);

/** Fills a log with `n` batches of 3 records over several segments. */
async function fill(log: FileLog, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++)
    await log.append(makeBatch(`f${i}`, 3, 1_700_000_000_000 + i * 10, 20));
}

describe('FileLog on disk', () => {
  test('segment files are named by zero-padded base offset', async (t) => {
    const { log, dir } = await openTemp(t, { segmentBytes: 500 });
    await fill(log, 10);
    await log.close();
    const names = (await fs.readdir(dir)).sort();
    assert.ok(names.includes('00000000000000000000.log'));
    assert.ok(names.includes('00000000000000000000.index'));
    assert.ok(names.includes('00000000000000000000.timeindex'));
    const logs = names.filter((n) => n.endsWith('.log'));
    assert.equal(logs.length, log.stats().segmentCount);
    assert.ok(logs.length > 2);
    for (const n of logs) {
      const first = await fs.readFile(path.join(dir, n));
      assert.equal(n, `${String(readBatchHeader(first).baseOffset).padStart(20, '0')}.log`);
    }
  });

  test('reads of the newest batches (served from memory) equal what the files hold', async (t) => {
    const dir = await tempDir(t);
    const log = await openFileLog(dir, { segmentBytes: 64 * 1024 });
    // Small and large batches, over several segments, so reads hit the in-memory copy of the
    // newest writes, straddle its start, and miss it.
    for (let i = 0; i < 600; i++)
      await log.append(makeBatch(`r${i}`, 1 + (i % 4), 1_700_000_000_000 + i, i % 50 === 0 ? 70_000 : 30));
    const live: Buffer[] = [];
    for (let o = log.startOffset; o < log.endOffset; o += 7) {
      for (const max of [1, 700, 100_000]) live.push((await log.read(o, max)).bytes);
    }
    await log.close();
    const again = await openFileLog(dir, { segmentBytes: 64 * 1024 });
    beforeRemove(dir, () => again.close());
    const fromDisk: Buffer[] = [];
    for (let o = again.startOffset; o < again.endOffset; o += 7) {
      for (const max of [1, 700, 100_000]) fromDisk.push((await again.read(o, max)).bytes);
    }
    assert.equal(live.length, fromDisk.length);
    for (let i = 0; i < live.length; i++) assert.ok(live[i]!.equals(fromDisk[i]!), `read ${i} differs`);
  });

  test('reopening preserves batches, offsets, timestamps and stats', async (t) => {
    const dir = await tempDir(t);
    const opts: FileLogOptions = { segmentBytes: 700, indexIntervalBytes: 150 };
    const log = await openFileLog(dir, opts);
    await fill(log, 40);
    await log.truncateTo(111);
    await log.append(makeBatch('tail', 2));
    const before = await readAll(log);
    const stats = log.stats();
    const lookups = [];
    for (let ts = 1_700_000_000_000 - 5; ts < 1_700_000_000_400; ts += 37)
      lookups.push(await log.offsetForTimestamp(ts));
    await log.close();
    const again = await openFileLog(dir, opts);
    beforeRemove(dir, () => again.close());
    assert.deepEqual(again.recovery, { truncatedBytes: 0, rebuiltIndexes: [] });
    assert.deepEqual(again.stats(), stats);
    assert.deepEqual(await readAll(again), before);
    for (let ts = 1_700_000_000_000 - 5, i = 0; ts < 1_700_000_000_400; ts += 37, i++) {
      assert.equal(await again.offsetForTimestamp(ts), lookups[i], `ts ${ts}`);
    }
    assert.equal((await again.append(makeBatch('more', 1))).baseOffset, stats.endOffset);
  });

  test('missing or garbage indexes are rebuilt, listed, and reads stay correct', async (t) => {
    const dir = await tempDir(t);
    const opts: FileLogOptions = { segmentBytes: 800, indexIntervalBytes: 100 };
    const log = await openFileLog(dir, opts);
    await fill(log, 30);
    const expected = await readAll(log);
    await log.close();
    const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.log')).sort();
    assert.ok(names.length >= 3);
    const idx0 = path.join(dir, names[0]!.replace('.log', '.index'));
    const time1 = path.join(dir, names[1]!.replace('.log', '.timeindex'));
    const idxActive = path.join(dir, names[names.length - 1]!.replace('.log', '.index'));
    await fs.rm(idx0);
    await fs.writeFile(time1, Buffer.from('garbage!garbage!garbage!'));
    const junk = Buffer.alloc(64);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 97 + 13) & 0xff;
    await fs.writeFile(idxActive, junk);
    const reopened = await openFileLog(dir, opts);
    assert.deepEqual([...reopened.recovery.rebuiltIndexes].sort(), [idx0, time1, idxActive].sort());
    assert.equal(reopened.recovery.truncatedBytes, 0);
    assert.deepEqual(await readAll(reopened, 250), expected);
    for (let i = 0; i < 30; i++)
      assert.equal(await reopened.offsetForTimestamp(1_700_000_000_000 + i * 10), i * 3);
    await reopened.close();
    const third = await openFileLog(dir, opts);
    beforeRemove(dir, () => third.close());
    assert.deepEqual(third.recovery.rebuiltIndexes, [], 'rebuilt indexes were written back');
  });

  test('retention removes the segment files from disk', async (t) => {
    const { log, dir } = await openTemp(t, { segmentBytes: 400, retentionBytes: 1000 });
    await fill(log, 20);
    const res = await log.applyRetention();
    assert.ok(res.deletedSegments > 0);
    const logs = (await fs.readdir(dir)).filter((n) => n.endsWith('.log'));
    assert.equal(logs.length, log.stats().segmentCount);
    let onDisk = 0;
    for (const n of logs) onDisk += (await fs.stat(path.join(dir, n))).size;
    assert.equal(onDisk, log.stats().sizeBytes);
    assert.ok(onDisk >= 1000);
  });

  test('fsync always reports durable appends; interval and os do not', async (t) => {
    for (const fsync of [
      { kind: 'always' as const },
      { kind: 'interval' as const, intervalMs: 50 },
      { kind: 'os' as const },
    ]) {
      const { log } = await openTemp(t, { fsync });
      const r = await log.append(makeBatch('d', 1));
      assert.equal(r.durable, fsync.kind === 'always');
      await log.flush();
    }
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type FileLogOptions, openFileLog } from '../../src/storage/file-log.js';
import { type LogFs, nodeLogFs } from '../../src/storage/log-fs.js';
import {
  OFF_BASE_OFFSET,
  OFF_BATCH_LENGTH,
  readBatchHeader,
  splitBatches,
} from '../../src/storage/record-batch.js';
import { beforeRemove, decodeAll, makeBatch, readAll, rejectsWith, tempDir } from './log-helpers.js';

const OPTS: FileLogOptions = { segmentBytes: 1000, indexIntervalBytes: 200 };

/** Writes `n` batches of 2 records (tags d0, d1, ...) and closes; returns the .log paths, oldest first. */
async function build(dir: string, n: number, opts = OPTS): Promise<string[]> {
  const log = await openFileLog(dir, opts);
  for (let i = 0; i < n; i++) await log.append(makeBatch(`d${i}`, 2, 1_700_000_000_000 + i, 30));
  await log.close();
  return (await fs.readdir(dir))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Byte positions of the batches in a segment file. */
async function batchPositions(file: string): Promise<number[]> {
  const bytes = await fs.readFile(file);
  const out: number[] = [];
  let pos = 0;
  for (const b of splitBatches(bytes)) {
    out.push(pos);
    pos += b.length;
  }
  return out;
}

async function flipByte(file: string, position: number): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, position);
    one[0]! ^= 0x5a;
    await fh.write(one, 0, 1, position);
  } finally {
    await fh.close();
  }
}

/** A file system that fails on demand, the way a full disk does: a short write, then ENOSPC. */
function faultyFs(): { fs: LogFs; fail: { writes: boolean; syncs: boolean; truncates: boolean } } {
  const fail = { writes: false, syncs: false, truncates: false };
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  let shortWriteDone = false;
  const wrapped: LogFs = {
    ...nodeLogFs,
    writeSync: (fd, buf, offset, length) => {
      if (!fail.writes) {
        shortWriteDone = false;
        return nodeLogFs.writeSync(fd, buf, offset, length);
      }
      if (!shortWriteDone && length > 1) {
        shortWriteDone = true;
        return nodeLogFs.writeSync(fd, buf, offset, Math.floor(length / 2));
      }
      throw enospc();
    },
    fdatasync: (fd) =>
      fail.syncs
        ? Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
        : nodeLogFs.fdatasync(fd),
    ftruncateSync: (fd, len) => {
      if (fail.truncates) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
      nodeLogFs.ftruncateSync(fd, len);
    },
  };
  return { fs: wrapped, fail };
}

describe('FileLog damage', () => {
  test('a flipped byte in the active segment: tail cut from that batch and reported', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 22);
    const active = files[files.length - 1]!;
    const positions = await batchPositions(active);
    assert.ok(positions.length >= 3, `active segment has ${positions.length} batches`);
    const victim = positions[1]!;
    const sizeBefore = (await fs.stat(active)).size;
    const victimBase = readBatchHeader((await fs.readFile(active)).subarray(victim)).baseOffset;
    await flipByte(active, victim + 70);
    const log = await openFileLog(dir, OPTS);
    beforeRemove(dir, () => log.close());
    assert.equal(log.recovery.truncatedAt?.file, active);
    assert.equal(log.recovery.truncatedAt?.position, victim);
    assert.match(log.recovery.truncatedAt!.reason, /CRC/);
    assert.equal(log.recovery.truncatedBytes, sizeBefore - victim);
    assert.equal(log.endOffset, victimBase);
    assert.equal((await fs.stat(active)).size, victim, 'nothing after the damaged byte stays in the file');
    const all = await readAll(log);
    assert.equal(all.length, victimBase / 2);
    for (const [i, b] of all.entries()) assert.equal(decodeAll(b)[0]!.value.split(':')[0], `d${i}-0`);
    assert.equal((await log.append(makeBatch('after', 1))).baseOffset, victimBase);
  });

  test('a damaged header in an older segment: open fails with CORRUPT_LOG naming file and byte', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 20);
    const older = files[0]!;
    const positions = await batchPositions(older);
    const victim = positions[2]!;
    await flipByte(older, victim + OFF_BASE_OFFSET + 7);
    const escaped = older.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    await rejectsWith(
      openFileLog(dir, OPTS),
      'CORRUPT_LOG',
      new RegExp(`${escaped} at byte ${victim}: baseOffset`),
    );
  });

  test('a flipped payload byte in an older segment is found when every segment is verified', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 20);
    const older = files[1]!;
    const victim = (await batchPositions(older))[1]!;
    await flipByte(older, victim + 80);
    await rejectsWith(
      openFileLog(dir, { ...OPTS, verifyAllSegments: true }),
      'CORRUPT_LOG',
      new RegExp(`${path.basename(older)} at byte ${victim}: CRC32C`),
    );
  });

  test('a lying batch length in an older segment breaks the chain: CORRUPT_LOG', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 20);
    const victim = (await batchPositions(files[0]!))[1]!;
    const fh = await fs.open(files[0]!, 'r+');
    const len = Buffer.alloc(4);
    len.writeInt32BE(5, 0);
    await fh.write(len, 0, 4, victim + OFF_BATCH_LENGTH);
    await fh.close();
    await rejectsWith(
      openFileLog(dir, OPTS),
      'CORRUPT_LOG',
      new RegExp(`${path.basename(files[0]!)} at byte ${victim}`),
    );
  });

  test('the active segment cut mid-batch: the torn batch is dropped and reported', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 20);
    const active = files[files.length - 1]!;
    const positions = await batchPositions(active);
    const last = positions[positions.length - 1]!;
    const size = (await fs.stat(active)).size;
    await fs.truncate(active, last + 30);
    const log = await openFileLog(dir, OPTS);
    beforeRemove(dir, () => log.close());
    assert.equal(log.recovery.truncatedBytes, 30);
    assert.deepEqual(log.recovery.truncatedAt?.position, last);
    assert.match(log.recovery.truncatedAt!.reason, /runs past the end|too few/);
    assert.equal(log.endOffset, 38);
    assert.ok(size > last + 30);
    assert.equal((await readAll(log)).length, 19);
  });

  test('an older segment cut mid-batch: CORRUPT_LOG', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 20);
    const positions = await batchPositions(files[0]!);
    await fs.truncate(files[0]!, positions[positions.length - 1]! + 10);
    await rejectsWith(openFileLog(dir, OPTS), 'CORRUPT_LOG', new RegExp(path.basename(files[0]!)));
  });

  test('every index full of garbage: all rebuilt, lookups and reads correct', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 30);
    let seed = 12345;
    for (const f of files) {
      for (const ext of ['.index', '.timeindex']) {
        const junk = Buffer.alloc(96);
        for (let i = 0; i < junk.length; i++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          junk[i] = seed >>> 24;
        }
        await fs.writeFile(f.replace('.log', ext), junk);
      }
    }
    const log = await openFileLog(dir, OPTS);
    beforeRemove(dir, () => log.close());
    assert.equal(log.recovery.rebuiltIndexes.length, files.length * 2);
    for (let i = 0; i < 30; i++) {
      assert.equal(await log.offsetForTimestamp(1_700_000_000_000 + i), i * 2);
      const r = await log.read(i * 2 + 1, 1);
      assert.equal(decodeAll(r.bytes)[1]!.value.split(':')[0], `d${i}-1`);
    }
  });

  test('empty segment files: a lone one opens empty; an empty active one continues the log', async (t) => {
    const dir = await tempDir(t);
    await fs.writeFile(path.join(dir, '00000000000000000000.log'), Buffer.alloc(0));
    const empty = await openFileLog(dir, OPTS);
    assert.equal(empty.endOffset, 0);
    assert.deepEqual(empty.recovery, { truncatedBytes: 0, rebuiltIndexes: [] });
    await empty.close();

    const dir2 = await tempDir(t);
    await build(dir2, 10);
    const probe = await openFileLog(dir2, OPTS);
    const end = probe.endOffset;
    const segs = probe.stats().segmentCount;
    await probe.close();
    await fs.writeFile(path.join(dir2, `${String(end).padStart(20, '0')}.log`), Buffer.alloc(0));
    const log = await openFileLog(dir2, OPTS);
    beforeRemove(dir2, () => log.close());
    assert.equal(log.stats().segmentCount, segs + 1);
    assert.equal(log.endOffset, end);
    assert.equal((await log.append(makeBatch('x', 1))).baseOffset, end);
    assert.equal((await readAll(log)).length, 11);
  });

  test('an empty segment whose base offset leaves a gap: CORRUPT_LOG', async (t) => {
    const dir = await tempDir(t);
    await build(dir, 10);
    const gap = path.join(dir, `${String(500).padStart(20, '0')}.log`);
    await fs.writeFile(gap, Buffer.alloc(0));
    await rejectsWith(openFileLog(dir, OPTS), 'CORRUPT_LOG', /starts at offset 500/);
  });

  test('disk full on append: STORAGE_ERROR naming the file, nothing partial visible, recovers after', async (t) => {
    const dir = await tempDir(t);
    const faulty = faultyFs();
    const log = await openFileLog(dir, { ...OPTS, fs: faulty.fs });
    beforeRemove(dir, () => log.close());
    for (let i = 0; i < 5; i++) await log.append(makeBatch(`d${i}`, 2, 1_700_000_000_000, 30));
    const before = log.stats();
    const activeFile = path.join(dir, '00000000000000000000.log');
    faulty.fail.writes = true;
    await rejectsWith(log.append(makeBatch('full', 2, 1_700_000_000_000, 30)), 'STORAGE_ERROR', /ENOSPC/);
    await rejectsWith(
      log.append(makeBatch('full', 2)),
      'STORAGE_ERROR',
      new RegExp(path.basename(activeFile)),
    );
    assert.deepEqual(log.stats(), before);
    assert.equal((await fs.stat(activeFile)).size, before.sizeBytes, 'the short write was cut back');
    assert.equal((await readAll(log)).length, 5);
    faulty.fail.writes = false;
    assert.equal((await log.append(makeBatch('ok', 2))).baseOffset, 10);
    await log.close();
    const reopened = await openFileLog(dir, OPTS);
    beforeRemove(dir, () => reopened.close());
    assert.equal(reopened.recovery.truncatedBytes, 0);
    assert.equal(reopened.endOffset, 12);
  });

  test('a failed write that cannot be cut back is never served and is cut before the next append', async (t) => {
    const dir = await tempDir(t);
    const faulty = faultyFs();
    const log = await openFileLog(dir, { ...OPTS, fs: faulty.fs });
    beforeRemove(dir, () => log.close());
    await log.append(makeBatch('a', 2));
    faulty.fail.writes = true;
    faulty.fail.truncates = true;
    await rejectsWith(log.append(makeBatch('b', 2, 1_700_000_000_000, 100)), 'STORAGE_ERROR');
    assert.equal(log.endOffset, 2);
    assert.equal((await readAll(log)).length, 1);
    faulty.fail.writes = false;
    await rejectsWith(log.append(makeBatch('c', 2)), 'STORAGE_ERROR', /truncating/);
    faulty.fail.truncates = false;
    assert.equal((await log.append(makeBatch('c', 2))).baseOffset, 2);
    const all = await readAll(log);
    assert.deepEqual(
      all.map((b) => decodeAll(b)[0]!.value),
      ['a-0', 'c-0'],
    );
  });

  test('fsync failure under `always`: the append fails and its batch is withdrawn', async (t) => {
    const dir = await tempDir(t);
    const faulty = faultyFs();
    const log = await openFileLog(dir, { ...OPTS, fsync: { kind: 'always' }, fs: faulty.fs });
    beforeRemove(dir, () => log.close());
    await log.append(makeBatch('a', 2));
    faulty.fail.syncs = true;
    const results = await Promise.allSettled([log.append(makeBatch('b', 2)), log.append(makeBatch('c', 2))]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal((r.reason as { code: string }).code, 'STORAGE_ERROR');
    }
    assert.equal(log.endOffset, 2);
    assert.equal((await fs.stat(path.join(dir, '00000000000000000000.log'))).size, log.stats().sizeBytes);
    faulty.fail.syncs = false;
    const ok = await log.append(makeBatch('d', 2));
    assert.equal(ok.baseOffset, 2);
    assert.equal(ok.durable, true);
  });

  test('fsync failure under `always` after rolls: the unsynced segments are withdrawn too', async (t) => {
    const dir = await tempDir(t);
    const faulty = faultyFs();
    const log = await openFileLog(dir, { segmentBytes: 200, fsync: { kind: 'always' }, fs: faulty.fs });
    beforeRemove(dir, () => log.close());
    await log.append(makeBatch('a', 2, 1_700_000_000_000, 40));
    faulty.fail.syncs = true;
    const results = await Promise.allSettled([
      log.append(makeBatch('b', 2, 1_700_000_000_000, 40)),
      log.append(makeBatch('c', 2, 1_700_000_000_000, 40)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(log.endOffset, 2);
    assert.equal(log.stats().segmentCount, 1);
    assert.deepEqual(
      (await fs.readdir(dir)).filter((f) => f.endsWith('.log')),
      ['00000000000000000000.log'],
    );
    faulty.fail.syncs = false;
    assert.equal((await log.append(makeBatch('d', 2, 1_700_000_000_000, 40))).baseOffset, 2);
    assert.deepEqual(
      (await readAll(log)).map((b) => decodeAll(b)[0]!.value.split(':')[0]),
      ['a-0', 'd-0'],
    );
  });

  test('damage in an older segment past the recovery point (crash soon after a roll): cut, later segments dropped', async (t) => {
    const dir = await tempDir(t);
    const files = await build(dir, 22);
    // Without the recovery point nothing is known to be fsynced, as after a crash before any sync.
    await fs.rm(path.join(dir, 'recovery-point'));
    const victimFile = files[1]!;
    const victim = (await batchPositions(victimFile))[2]!;
    const victimBase = readBatchHeader((await fs.readFile(victimFile)).subarray(victim)).baseOffset;
    let dropped = 0;
    for (const f of files.slice(2)) dropped += (await fs.stat(f)).size;
    const victimSize = (await fs.stat(victimFile)).size;
    await flipByte(victimFile, victim + 70);
    const log = await openFileLog(dir, OPTS);
    beforeRemove(dir, () => log.close());
    assert.equal(log.recovery.truncatedAt?.file, victimFile);
    assert.equal(log.recovery.truncatedAt?.position, victim);
    assert.equal(log.recovery.truncatedBytes, victimSize - victim + dropped);
    assert.equal(log.endOffset, victimBase);
    assert.equal(log.stats().segmentCount, 2);
    assert.deepEqual(
      (await fs.readdir(dir)).filter((f) => f.endsWith('.log')).sort(),
      files.slice(0, 2).map((f) => path.basename(f)),
    );
    assert.equal((await readAll(log)).length, victimBase / 2);
    assert.equal((await log.append(makeBatch('after', 1))).baseOffset, victimBase);
  });
});

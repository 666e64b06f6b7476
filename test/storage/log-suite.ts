import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { LogOptions, PartitionLog } from '../../src/storage/partition-log.js';
import { OFF_BATCH_LENGTH, OFF_CRC, readBatchHeader } from '../../src/storage/record-batch.js';
import { decodeAll, makeBatch, readAll, rejectsWith } from './log-helpers.js';

/** Opens a fresh, empty log for one test; the factory cleans up after the test itself. */
export type LogFactory = (t: TestContext, opts?: LogOptions) => Promise<PartitionLog>;

/** A settable clock for segment age and retention. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** The behaviour every PartitionLog must show; file-log.test.ts and memory-log.test.ts run it. */
export function runLogSuite(name: string, factory: LogFactory): void {
  describe(`${name}: PartitionLog suite`, () => {
    test('append and read round-trip with contiguous offsets', async (t) => {
      const log = await factory(t);
      assert.equal(log.startOffset, 0);
      assert.equal(log.endOffset, 0);
      const counts = [1, 5, 3, 10];
      let expected = 0;
      for (const [i, n] of counts.entries()) {
        const res = await log.append(makeBatch(`b${i}`, n), { leaderEpoch: 7 });
        assert.equal(res.baseOffset, expected);
        assert.equal(res.lastOffset, expected + n - 1);
        assert.equal(typeof res.durable, 'boolean');
        expected += n;
      }
      assert.equal(log.endOffset, 19);
      const r = await log.read(0, 1 << 20);
      assert.equal(r.batchCount, 4);
      assert.equal(r.nextOffset, 19);
      const values = decodeAll(r.bytes);
      assert.deepEqual(
        values.map((v) => v.offset),
        Array.from({ length: 19 }, (_, i) => i),
      );
      assert.equal(values[0]!.value, 'b0-0');
      assert.equal(values[18]!.value, 'b3-9');
      assert.equal(readBatchHeader(r.bytes).leaderEpoch, 7);
      const s = log.stats();
      assert.equal(s.endOffset, 19);
      assert.equal(s.startOffset, 0);
      assert.equal(s.sizeBytes, r.bytes.length);
      assert.ok(s.segmentCount >= 1);
    });

    test('reading an offset inside a batch returns that whole batch', async (t) => {
      const log = await factory(t);
      await log.append(makeBatch('a', 4));
      await log.append(makeBatch('b', 4));
      const r = await log.read(6, 1 << 20);
      assert.equal(r.batchCount, 1);
      assert.equal(readBatchHeader(r.bytes).baseOffset, 4);
      assert.equal(r.nextOffset, 8);
      assert.deepEqual(
        decodeAll(r.bytes).map((v) => v.value),
        ['b-0', 'b-1', 'b-2', 'b-3'],
      );
    });

    test('read limits: whole batches only, but always at least one', async (t) => {
      const log = await factory(t, { indexIntervalBytes: 100 });
      const sizes: number[] = [];
      for (let i = 0; i < 20; i++) {
        const b = makeBatch(`r${i}`, 3, 1_700_000_000_000, 50);
        sizes.push(b.length);
        await log.append(b);
      }
      const one = await log.read(0, 1);
      assert.equal(one.batchCount, 1);
      assert.equal(one.bytes.length, sizes[0]);
      assert.equal((await log.read(0, Number.NaN)).batchCount, 1);
      assert.equal((await log.read(0, -5)).batchCount, 1);
      const zero = await log.read(3, 0);
      assert.equal(zero.batchCount, 1);
      assert.equal(zero.nextOffset, 6);
      const limit = sizes[0]! + sizes[1]! + Math.floor(sizes[2]! / 2);
      const two = await log.read(0, limit);
      assert.equal(two.batchCount, 2);
      assert.ok(two.bytes.length <= limit);
      for (const maxBytes of [1, 300, 1000, 1 << 20]) {
        const all = await readAll(log, maxBytes);
        assert.equal(all.length, 20);
        assert.deepEqual(
          all.map((b) => readBatchHeader(b).baseOffset),
          Array.from({ length: 20 }, (_, i) => i * 3),
        );
      }
    });

    test('offsets outside [startOffset, endOffset] are rejected; endOffset reads empty', async (t) => {
      const log = await factory(t);
      await log.append(makeBatch('x', 2));
      const atEnd = await log.read(2, 1000);
      assert.equal(atEnd.batchCount, 0);
      assert.equal(atEnd.bytes.length, 0);
      assert.equal(atEnd.nextOffset, 2);
      await rejectsWith(log.read(3, 1000), 'OFFSET_OUT_OF_RANGE', /offset 3/);
      await rejectsWith(log.read(-1, 1000), 'OFFSET_OUT_OF_RANGE');
      await rejectsWith(log.read(0.5, 1000), 'OFFSET_OUT_OF_RANGE');
    });

    test('offsetForTimestamp finds the first batch with maxTimestamp >= ts', async (t) => {
      const log = await factory(t, { segmentBytes: 1500, indexIntervalBytes: 200 });
      assert.equal(await log.offsetForTimestamp(0), null);
      // Mostly rising timestamps with some going back, as producers' clocks do.
      const stamps: number[] = [];
      for (let i = 0; i < 60; i++) stamps.push(10_000 + i * 100 + (i % 7 === 3 ? -450 : 0));
      const bases: number[] = [];
      for (const [i, ts] of stamps.entries())
        bases.push((await log.append(makeBatch(`t${i}`, 2, ts))).baseOffset);
      assert.ok(log.stats().segmentCount > 1, 'test wants several segments');
      for (const probe of [
        0, 9_999, 10_000, 10_001, 10_250, 12_000, 12_001, 13_049, 15_900, 15_901, 99_999,
      ]) {
        const idx = stamps.findIndex((ts) => ts >= probe);
        const want = idx < 0 ? null : bases[idx]!;
        assert.equal(await log.offsetForTimestamp(probe), want, `probe ${probe}`);
      }
    });

    test('truncateTo cuts batch-aligned, across segments, and offsets are reused', async (t) => {
      const log = await factory(t, { segmentBytes: 600 });
      for (let i = 0; i < 12; i++) await log.append(makeBatch(`v${i}`, 2, 1_700_000_000_000, 40));
      const segsBefore = log.stats().segmentCount;
      assert.ok(segsBefore >= 3, `want several segments, have ${segsBefore}`);
      await rejectsWith(log.truncateTo(5), 'INVALID_ARGUMENT', /inside the batch/);
      assert.equal(log.endOffset, 24);
      await rejectsWith(log.truncateTo(25), 'OFFSET_OUT_OF_RANGE');
      await log.truncateTo(24);
      assert.equal(log.endOffset, 24);
      await log.truncateTo(6);
      assert.equal(log.endOffset, 6);
      assert.ok(log.stats().segmentCount < segsBefore);
      const all = await readAll(log);
      assert.equal(all.length, 3);
      const sizeAfter = all.reduce((a, b) => a + b.length, 0);
      assert.equal(log.stats().sizeBytes, sizeAfter);
      await rejectsWith(log.read(7, 100), 'OFFSET_OUT_OF_RANGE');
      const again = await log.append(makeBatch('new', 3));
      assert.equal(again.baseOffset, 6);
      const r = await log.read(6, 1 << 20);
      assert.deepEqual(
        decodeAll(r.bytes).map((v) => v.value),
        ['new-0', 'new-1', 'new-2'],
      );
      await log.truncateTo(0);
      assert.equal(log.endOffset, 0);
      assert.equal(log.stats().sizeBytes, 0);
      assert.equal((await log.append(makeBatch('z', 1))).baseOffset, 0);
    });

    test('segments roll by size and reads span them', async (t) => {
      const log = await factory(t, { segmentBytes: 1000 });
      const tag = (i: number) => `s${String(i).padStart(2, '0')}`;
      const batch = makeBatch(tag(0), 4, 1_700_000_000_000, 30);
      for (let i = 0; i < 30; i++) await log.append(makeBatch(tag(i), 4, 1_700_000_000_000, 30));
      const perSegment = Math.max(1, Math.floor(1000 / batch.length));
      assert.equal(log.stats().segmentCount, Math.ceil(30 / perSegment));
      const all = await readAll(log, 700);
      assert.equal(all.length, 30);
      assert.equal(decodeAll(all[29]!)[3]!.value.split(':')[0], 's29-3');
    });

    test('a batch larger than segmentBytes still goes in, alone in its segment', async (t) => {
      const log = await factory(t, { segmentBytes: 200 });
      await log.append(makeBatch('small', 1));
      const big = await log.append(makeBatch('big', 5, 1_700_000_000_000, 100));
      await log.append(makeBatch('after', 1));
      assert.equal(big.baseOffset, 1);
      assert.equal(log.stats().segmentCount, 3);
      const r = await log.read(1, 10);
      assert.equal(r.batchCount, 1);
      assert.equal(r.nextOffset, 6);
    });

    test('segments roll by age (segmentMs, injected clock)', async (t) => {
      const clock = fakeClock();
      const log = await factory(t, { segmentMs: 1000, now: clock.now });
      await log.append(makeBatch('a', 1));
      clock.advance(999);
      await log.append(makeBatch('b', 1));
      assert.equal(log.stats().segmentCount, 1);
      clock.advance(1);
      await log.append(makeBatch('c', 1));
      assert.equal(log.stats().segmentCount, 2);
      clock.advance(500);
      await log.append(makeBatch('d', 1));
      assert.equal(log.stats().segmentCount, 2);
      assert.equal((await readAll(log)).length, 4);
    });

    test('retention by total bytes deletes whole old segments, never the active one', async (t) => {
      const probe = makeBatch('p0', 2, 1_700_000_000_000, 40);
      const log = await factory(t, { segmentBytes: probe.length * 2, retentionBytes: probe.length * 5 });
      for (let i = 0; i < 10; i++) await log.append(makeBatch(`p${i}`, 2, 1_700_000_000_000, 40));
      assert.equal(log.stats().segmentCount, 5);
      const res = await log.applyRetention();
      // 10 batches, 2 per segment, keep >= 5 batches' bytes: the two oldest segments go.
      assert.equal(res.deletedSegments, 2);
      assert.equal(res.deletedBytes, probe.length * 4);
      assert.equal(log.startOffset, 8);
      assert.equal(log.stats().startOffset, 8);
      assert.equal(log.stats().sizeBytes, probe.length * 6);
      await rejectsWith(log.read(7, 100), 'OFFSET_OUT_OF_RANGE');
      assert.equal(decodeAll((await log.read(8, 1)).bytes)[0]!.value.split(':')[0], 'p4-0');
      assert.deepEqual(await log.applyRetention(), { deletedSegments: 0, deletedBytes: 0 });
      assert.equal(await log.offsetForTimestamp(0), 8);
    });

    test('retention by age uses each segment newest timestamp; the active segment stays', async (t) => {
      const clock = fakeClock(5_000_000);
      const log = await factory(t, { segmentMs: 100, retentionMs: 10_000, now: clock.now });
      await log.append(makeBatch('old1', 1, clock.now()));
      clock.advance(100);
      await log.append(makeBatch('old2', 1, clock.now()));
      clock.advance(100);
      await log.append(makeBatch('new', 1, clock.now()));
      assert.equal(log.stats().segmentCount, 3);
      clock.advance(10_000);
      // old1 is now 10,200 ms old, old2 10,100: both past 10,000. `new` is active.
      const res = await log.applyRetention();
      assert.equal(res.deletedSegments, 2);
      assert.equal(log.startOffset, 2);
      clock.advance(1_000_000);
      assert.equal((await log.applyRetention()).deletedSegments, 0, 'the active segment is never deleted');
      assert.equal(log.stats().segmentCount, 1);
      assert.equal((await log.append(makeBatch('later', 1, clock.now()))).baseOffset, 3);
    });

    test('bad batches are rejected and leave the log unchanged', async (t) => {
      const log = await factory(t, { maxBatchBytes: 2000 });
      await log.append(makeBatch('good', 2));
      const before = log.stats();
      const badCrc = makeBatch('bad', 2);
      badCrc[badCrc.length - 1]! ^= 0xff;
      await rejectsWith(log.append(badCrc), 'CORRUPT_MESSAGE', /CRC/);
      const storedCrc = makeBatch('bad', 2);
      storedCrc.writeUInt32BE((storedCrc.readUInt32BE(OFF_CRC) ^ 1) >>> 0, OFF_CRC);
      await rejectsWith(log.append(storedCrc), 'CORRUPT_MESSAGE');
      const longer = makeBatch('lie', 2);
      longer.writeInt32BE(longer.readInt32BE(OFF_BATCH_LENGTH) + 10, OFF_BATCH_LENGTH);
      await rejectsWith(log.append(longer), 'CORRUPT_MESSAGE', /batchLength/);
      const shorter = makeBatch('lie', 2);
      shorter.writeInt32BE(shorter.readInt32BE(OFF_BATCH_LENGTH) - 10, OFF_BATCH_LENGTH);
      await rejectsWith(log.append(shorter), 'CORRUPT_MESSAGE');
      await rejectsWith(log.append(Buffer.alloc(10)), 'CORRUPT_MESSAGE');
      await rejectsWith(
        log.append(makeBatch('huge', 10, 1_700_000_000_000, 300)),
        'MESSAGE_TOO_LARGE',
        /2000/,
      );
      assert.deepEqual(log.stats(), before);
      const r = await log.read(0, 1 << 20);
      assert.deepEqual(
        decodeAll(r.bytes).map((v) => v.value),
        ['good-0', 'good-1'],
      );
      assert.equal((await log.append(makeBatch('next', 1))).baseOffset, 2);
    });

    test('concurrent appends get distinct contiguous offsets in call order', async (t) => {
      const log = await factory(t);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => log.append(makeBatch(`c${i}`, 1 + (i % 3)))),
      );
      let next = 0;
      for (const [i, r] of results.entries()) {
        assert.equal(r.baseOffset, next);
        next += 1 + (i % 3);
      }
      assert.equal((await readAll(log)).length, 50);
    });

    test('after close every operation rejects with LOG_CLOSED; close twice is fine', async (t) => {
      const log = await factory(t);
      await log.append(makeBatch('x', 1));
      await log.flush();
      await log.close();
      await log.close();
      await rejectsWith(log.append(makeBatch('y', 1)), 'LOG_CLOSED');
      await rejectsWith(log.read(0, 100), 'LOG_CLOSED');
      await rejectsWith(log.offsetForTimestamp(0), 'LOG_CLOSED');
      await rejectsWith(log.truncateTo(0), 'LOG_CLOSED');
      await rejectsWith(log.applyRetention(), 'LOG_CLOSED');
      await rejectsWith(log.flush(), 'LOG_CLOSED');
    });

    test('bad options are rejected naming the option', async (t) => {
      await rejectsWith(factory(t, { segmentBytes: 0 }), 'INVALID_ARGUMENT', /segmentBytes/);
      await rejectsWith(factory(t, { retentionMs: -5 }), 'INVALID_ARGUMENT', /retentionMs/);
    });
  });
}

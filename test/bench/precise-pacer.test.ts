import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monotonicMs, precisePaced } from '../../bench/broker-bench/precise-pacer.js';

test('precisePaced sends every slot once, in order, each with its scheduled time', async () => {
  const start = monotonicMs();
  const slots: number[] = [];
  const sent = await precisePaced(2000, start, 50, (slot) => slots.push(slot));
  assert.equal(sent, 100);
  assert.equal(slots.length, 100);
  assert.deepEqual(
    slots,
    Array.from({ length: 100 }, (_, i) => start + i * 0.5),
  );
});

test('precisePaced never calls send before a slot is due', async () => {
  const start = monotonicMs() + 5;
  const early: number[] = [];
  await precisePaced(1000, start, 20, (slot) => {
    if (monotonicMs() < slot) early.push(slot);
  });
  assert.deepEqual(early, []);
});

test('precisePaced refuses a rate or duration it cannot schedule', async () => {
  await assert.rejects(() => precisePaced(0, monotonicMs(), 10, () => undefined), /bad rate 0/);
  await assert.rejects(() => precisePaced(10, monotonicMs(), Number.NaN, () => undefined), /duration NaN/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualScheduler } from '../../src/cluster/clock.js';
import {
  DETECTOR_PRESETS,
  PhiAccrualDetector,
  phiOf,
  validateDetectorOptions,
} from '../../src/cluster/phi-accrual.js';
import { StallGuard } from '../../src/cluster/stall-guard.js';

const opts = DETECTOR_PRESETS.lan;

test('phi is 0 before the first heartbeat and grows with silence', () => {
  const d = new PhiAccrualDetector(opts);
  assert.equal(d.phi(1000), 0);
  let t = 0;
  for (let i = 0; i < 50; i++) {
    t += 500;
    d.heartbeat(t);
  }
  const values = [0, 500, 1000, 1500, 2000, 3000].map((dt) => d.phi(t + dt));
  for (let i = 1; i < values.length; i++)
    assert.ok(values[i]! >= values[i - 1]!, `phi not monotonic: ${values}`);
  assert.ok(values[1]! < 1, `phi right at the mean should be small, got ${values[1]}`);
  assert.equal(d.liveness(t + 500), 'alive');
  assert.equal(d.liveness(t + 10_000), 'dead');
});

test('liveness passes through suspect before dead', () => {
  const d = new PhiAccrualDetector(opts);
  let t = 0;
  for (let i = 0; i < 20; i++) {
    t += 500;
    d.heartbeat(t);
  }
  const seen = new Set<string>();
  for (let dt = 0; dt <= 5000; dt += 10) seen.add(d.liveness(t + dt));
  assert.deepEqual([...seen], ['alive', 'suspect', 'dead']);
});

test('a regular 500 ms rhythm with the lan preset convicts between 1 and 3 s of silence', () => {
  const d = new PhiAccrualDetector(opts);
  let t = 0;
  for (let i = 0; i < 200; i++) {
    t += 500;
    d.heartbeat(t);
  }
  let dt = 0;
  while (d.phi(t + dt) < opts.threshold) dt += 10;
  assert.ok(dt > 1000 && dt < 3000, `conviction after ${dt} ms of silence`);
});

test('the sample window is bounded and adapts to a new rhythm', () => {
  const d = new PhiAccrualDetector({ ...opts, maxSampleSize: 10 });
  let t = 0;
  for (let i = 0; i < 10; i++) {
    t += 100;
    d.heartbeat(t);
  }
  for (let i = 0; i < 10; i++) {
    t += 2000;
    d.heartbeat(t);
  }
  assert.equal(d.meanIntervalMs(), 2000);
});

test('phiOf matches the normal tail: one sd above the mean is about -log10(0.16)', () => {
  assert.ok(Math.abs(phiOf(1100, 1000, 100) - -Math.log10(0.1587)) < 0.02);
  assert.ok(phiOf(0, 1000, 100) < 1e-6);
  assert.ok(Number.isFinite(phiOf(1e9, 1, 1)));
});

test('validateDetectorOptions names the bad option', () => {
  assert.equal(validateDetectorOptions(opts), undefined);
  assert.match(validateDetectorOptions({ ...opts, suspectThreshold: 9 }) ?? '', /suspectThreshold/);
  assert.match(validateDetectorOptions({ ...opts, maxSampleSize: 1 }) ?? '', /maxSampleSize/);
});

test('stall guard suspends convictions after a late timer and resumes later', () => {
  const s = new VirtualScheduler();
  const clock = s.createClock();
  const guard = new StallGuard(clock, { stallThresholdMs: 500, suspendMs: 5000 });
  s.runFor(1000);
  assert.equal(guard.observe(990), 10);
  assert.equal(guard.convictionsSuspended(), false);
  s.runFor(3000); // now 4000: a timer due at 1500 fired 2.5 s late
  assert.equal(guard.observe(1500), 2500);
  assert.equal(guard.stalls, 1);
  assert.equal(guard.convictionsSuspended(), true);
  s.runFor(4999);
  assert.equal(guard.convictionsSuspended(), true);
  s.runFor(2);
  assert.equal(guard.convictionsSuspended(), false);
});

test('a paused virtual clock runs its timers late and in order', () => {
  const s = new VirtualScheduler();
  const clock = s.createClock();
  const fired: Array<[string, number]> = [];
  clock.setTimeout(() => fired.push(['a', s.now()]), 100);
  clock.setTimeout(() => fired.push(['b', s.now()]), 200);
  s.runFor(50);
  clock.pause(1000);
  s.runFor(2000);
  assert.deepEqual(fired, [
    ['a', 1050],
    ['b', 1050],
  ]);
});

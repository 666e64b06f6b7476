/**
 * The arithmetic behind `gregorctl metrics`, on pages rendered by the broker's own registry:
 * rates from counter deltas (with resets), histogram_quantile as PromQL computes it, and the
 * one-screen rendering.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSummary, type Scrape, summarize } from '../../cli/ctl/metrics.js';
import {
  counterDelta,
  histogramBuckets,
  histogramQuantile,
  parseExposition,
  sumSamples,
} from '../../src/observability/exposition.js';
import { createMetrics } from '../../src/observability/metrics.js';

const at = async (m: ReturnType<typeof createMetrics>, atMs: number): Promise<Scrape> => ({
  atMs,
  wallTime: new Date(0),
  exposition: parseExposition(await m.render()),
});

test('parser: labels with escapes, special values, comments skipped, bad lines named', () => {
  const e = parseExposition(
    '# HELP x help\n# TYPE x gauge\nx{a="q\\"\\\\\\n",b="2"} 1.5\nx{a="b"} +Inf\ny NaN 1700000000\n',
  );
  assert.equal(e.types.get('x'), 'gauge');
  assert.deepEqual(e.samples.get('x')?.[0]?.labels, { a: 'q"\\\n', b: '2' });
  assert.equal(e.samples.get('x')?.[1]?.value, Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(e.samples.get('y')?.[0]?.value));
  assert.equal(sumSamples(e, 'x', { b: '2' }), 1.5);
  assert.throws(() => parseExposition('ok 1\nx{a="1} 2\n'), /line 2: unterminated/);
  assert.throws(() => parseExposition('x one\n'), /line 1: bad sample value "one"/);
});

test('counterDelta treats a smaller reading as a restart; histogramQuantile interpolates like PromQL', () => {
  assert.equal(counterDelta(10, 15), 5);
  assert.equal(counterDelta(10, 3), 3, 'reset: the counter began again at 0');
  assert.equal(counterDelta(undefined, 7), 7);
  assert.equal(counterDelta(5, undefined), 0);
  // 100 observations: 50 <= 0.1, 90 <= 0.2, 100 <= 0.4. p50 = 0.1; p90 = 0.2; p99 in (0.2, 0.4].
  const b = new Map([
    [0.1, 50],
    [0.2, 90],
    [0.4, 100],
    [Number.POSITIVE_INFINITY, 100],
  ]);
  assert.equal(histogramQuantile(0.5, b), 0.1);
  assert.ok(Math.abs(histogramQuantile(0.9, b)! - 0.2) < 1e-12);
  assert.ok(Math.abs(histogramQuantile(0.99, b)! - 0.38) < 1e-12);
  assert.equal(histogramQuantile(0.99, new Map([[Number.POSITIVE_INFINITY, 0]])), undefined);
  const overflow = new Map([
    [0.1, 1],
    [Number.POSITIVE_INFINITY, 10],
  ]);
  assert.equal(histogramQuantile(0.99, overflow), 0.1, 'in the +Inf bucket: the highest finite bound');
});

test('summarize: rates over the window, p99 of the window only, lag per group, top topics first', async () => {
  const m = createMetrics();
  m.recordIn('old', 1000, 100_000);
  for (let i = 0; i < 100; i++) m.observeRequest('PRODUCE', 'ok', 0.5); // before the window: slow
  m.connectionOpened();
  const a = await at(m, 0);
  m.recordIn('busy', 4000, 2_000_000);
  m.recordIn('old', 200, 20_000);
  m.recordOut('busy', 1000, 500_000);
  for (let i = 0; i < 100; i++) m.observeRequest('PRODUCE', 'ok', 0.002);
  m.observeRequest('FETCH', 'UNKNOWN_TOPIC', 0.0001);
  m.observeFsync(0.003);
  m.setGroupLagProvider(() => [
    { group: 'g1', topic: 'busy', partition: 0, lag: 5 },
    { group: 'g1', topic: 'busy', partition: 1, lag: 20 },
    { group: 'g2', topic: 'old', partition: 0, lag: 1 },
  ]);
  const b = await at(m, 2000);
  const s = summarize(a, b);
  assert.equal(s.windowSeconds, 2);
  assert.equal(s.in.msgsPerSec, 2100);
  assert.equal(s.in.mbPerSec, 1.01);
  assert.equal(s.in.totalMessages, 5200);
  assert.equal(s.out.msgsPerSec, 500);
  assert.deepEqual(
    s.topics.map((x) => [x.topic, x.inMsgsPerSec, x.outMsgsPerSec]),
    [
      ['busy', 2000, 500],
      ['old', 100, 0],
    ],
  );
  const produce = s.requests.find((r) => r.op === 'PRODUCE')!;
  assert.equal(produce.perSec, 50);
  assert.ok(
    produce.p99Ms! > 1 && produce.p99Ms! <= 2.5,
    `window p99 ignores the slow earlier requests: ${produce.p99Ms}`,
  );
  assert.equal(s.requests.find((r) => r.op === 'FETCH')?.errorsPerSec, 0.5);
  assert.deepEqual(s.lag[0], { group: 'g1', topic: 'busy', lag: 25, maxPartitionLag: 20 });
  assert.equal(s.fsync.perSec, 0.5);
  assert.ok(s.fsync.p99Ms! > 2.5 && s.fsync.p99Ms! <= 5);
  assert.equal(s.connections, 1);
  assert.ok(s.rssBytes! > 0);
  assert.equal(
    histogramBuckets(b.exposition, 'gregormq_request_duration_seconds', { op: 'PRODUCE' }).size,
    18,
  );

  const text = renderSummary(s, '127.0.0.1:9441', 1);
  assert.match(text, /^in\s+2,100\.0 msg\/s\s+1\.01 MB\/s/m);
  assert.match(text, /^busy\s+2000\s+1\s+500\s+0\.25$/m);
  assert.match(text, /\(1 more topics; --top N or --json\)/);
  assert.match(text, /^g1\s+busy\s+25\s+20$/m);
  assert.doesNotMatch(text, /^old\s/m, '--top 1 keeps one topic row');
});

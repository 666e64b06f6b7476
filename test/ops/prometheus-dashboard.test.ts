/**
 * The "done when", checked with the real pieces: a real Prometheus scrapes a real broker
 * while `gregorctl produce` and `consume` run, and every query of the Grafana dashboard returns
 * data. Only panels that need what a single node without consumer groups cannot have (peers,
 * followers, groups) may stay empty, and they are listed by name.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Dashboard, dashboardQueries, findRepoRoot } from '../deploy/static-checks.js';
import { onPath, startPrometheus } from '../helpers/prometheus.js';
import { createTopic, ctl, startBrokerProcess } from './broker-process.js';

/** Metrics that need peers, followers or consumer groups; their panels are empty on one bare node. */
const NEEDS_MORE_THAN_ONE_NODE = [
  'gregormq_consumer_group_lag',
  'gregormq_consumer_group_members',
  'gregormq_messages_redelivered_total',
  'gregormq_messages_dead_lettered_total',
  'gregormq_consumer_group_rebalances_total',
  'gregormq_cluster_member_phi',
  'gregormq_replication_lag_messages',
];

/** Grafana's variables, as "All" and a rate window several scrape intervals wide. */
function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '30s')
    .replaceAll('$job', '.*')
    .replaceAll('$instance', '.*')
    .replaceAll('$topic', '.*');
}

test('a real Prometheus scrapes the broker; every dashboard query has data after some traffic', async (t) => {
  if (!(await onPath('prometheus'))) {
    t.skip('prometheus not on PATH (Debian package "prometheus"; .ci/run installs it)');
    return;
  }
  const b = await startBrokerProcess(t);
  const prom = await startPrometheus(t, [b.http]);
  const up = await prom.waitFor('up{job="gregormq"}', (r) => r.length === 1);
  assert.equal(up[0]?.value[1], '1', `Prometheus could not scrape the broker; its log:\n${prom.log()}`);

  const topic = `dash-${randomUUID().slice(0, 8)}`;
  await createTopic(b, topic, 2);
  // Refused requests for the error panels: one now, one after the traffic, so rate() sees a rise.
  assert.equal((await ctl(b, ['topics', 'create', topic])).code, 1);
  // The broker exports a topic's counters at 0 from its first scrape on, so rate() sees the jump.
  const zero = await prom.waitFor(`gregormq_messages_in_total{topic="${topic}"}`, (r) => r.length === 1);
  assert.equal(zero[0]?.value[1], '0', 'a new topic starts with a 0 series');
  const produced = await ctl(b, ['produce', topic, '--count', '3000', '--size', '200']);
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await ctl(b, ['consume', topic, '--from', 'earliest', '--count', '3000']);
  assert.equal(consumed.code, 0, consumed.stderr);

  assert.equal((await ctl(b, ['topics', 'create', topic])).code, 1);
  // Wait for a scrape after the second refusal: the earlier waits below can all be met by scrapes
  // taken before it, and then the error counter would look flat over the rate window.
  const refused = await prom.waitFor(
    'sum(gregormq_requests_total{outcome="TOPIC_EXISTS"})',
    (r) => Number(r[0]?.value[1]) >= 2,
  );
  assert.ok(Number(refused[0]?.value[1]) >= 2, 'both refusals reached Prometheus, labelled with their code');

  // The produced message count, through PromQL.
  const count = await prom.waitFor(
    `sum(gregormq_messages_in_total{topic="${topic}"})`,
    (r) => r[0]?.value[1] === '3000',
  );
  assert.equal(count[0]?.value[1], '3000', `Prometheus never saw 3000 messages in; log:\n${prom.log()}`);
  const out = await prom.waitFor(
    `sum(gregormq_messages_out_total{topic="${topic}"})`,
    (r) => Number(r[0]?.value[1]) >= 3000,
  );
  assert.ok(Number(out[0]?.value[1]) >= 3000, 'messages out reached Prometheus');
  // One more scrape, so the rate windows hold a sample after the traffic too.
  const fsyncs = await prom.waitFor(
    'sum(gregormq_fsync_duration_seconds_count)',
    (r) => Number(r[0]?.value[1]) > 0,
  );
  assert.ok(Number(fsyncs[0]?.value[1]) > 0, 'fsyncs reached Prometheus');

  const dashboard = JSON.parse(
    readFileSync(
      join(findRepoRoot(import.meta.url), 'charts', 'gregormq', 'dashboards', 'gregormq.json'),
      'utf8',
    ),
  ) as Dashboard;
  const queries = dashboardQueries(dashboard).filter((q) => !q.where.startsWith('variable'));
  assert.ok(queries.length > 30);
  const empty: string[] = [];
  const unexpectedlyFilled: string[] = [];
  const values = new Map<string, number>();
  for (const { where, expr } of queries) {
    const result = await prom.query(substitute(expr));
    const allowedEmpty = NEEDS_MORE_THAN_ONE_NODE.some((m) => expr.includes(m));
    if (result.length === 0 && !allowedEmpty) empty.push(`${where}: ${expr}`);
    if (result.length > 0 && allowedEmpty && !expr.includes('consumer_group_lag'))
      unexpectedlyFilled.push(where);
    values.set(where, Math.max(...result.map((r) => Number(r.value[1])).filter((v) => !Number.isNaN(v)), 0));
  }
  assert.deepEqual(empty, [], `dashboard queries with no data from a busy broker:\n  ${empty.join('\n  ')}`);
  t.diagnostic(`panels empty on one node by design: ${NEEDS_MORE_THAN_ONE_NODE.join(', ')}`);
  if (unexpectedlyFilled.length > 0) t.diagnostic(`now filled as well: ${unexpectedlyFilled.join(', ')}`);

  // The numbers moved: the core panels show the traffic, not just zero series.
  const moved = (titlePart: string) =>
    [...values].filter(([where]) => where.includes(`"${titlePart}"`)).some(([, v]) => v > 0);
  for (const title of [
    'Messages in /s',
    'Messages out /s',
    'Bytes in /s',
    'Request p99',
    'Messages in by topic',
    'Bytes out by topic',
    'Request rate by op',
    'Errors by op and outcome',
    'Latency by op (p99)',
    'Log size by topic',
    'Segments by topic',
    'Append rate by partition (log end offset)',
    'fsync latency p50 / p99',
    'Resident memory',
    'Nodes up (NORMAL)',
  ]) {
    assert.ok(moved(title), `panel "${title}" shows no non-zero value`);
  }
});

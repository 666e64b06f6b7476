import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { type BrokerMetrics, createMetrics } from '../../src/observability/metrics.js';
import { onPath, startPrometheus } from '../helpers/prometheus.js';
import { type Family, parseExposition, sampleValue } from './exposition-parser.js';

/** A registry with a bit of everything, as a busy broker would have. */
function sampleMetrics(): BrokerMetrics {
  const m = createMetrics();
  m.observeRequest('produce', 'ok', 0.0012);
  m.observeRequest('produce', 'ok', 0.004);
  m.observeRequest('fetch', 'UNKNOWN_TOPIC', 0.0001);
  m.recordIn('orders', 10, 1000);
  m.recordIn('orders', 5, 600);
  m.recordOut('orders', 7, 900);
  m.recordIn('we"ird\\topic\nname', 1, 1);
  m.connectionOpened();
  m.connectionOpened();
  m.connectionClosed();
  m.observeFsync(0.002);
  m.setNodeInfo({ node: 'node-a', cluster: 'prod', version: '0.1.0', zone: 'z1' });
  m.setLogStatsProvider(() => [
    { topic: 'orders', partition: 0, sizeBytes: 4096, segments: 2, startOffset: 0, endOffset: 15 },
    { topic: 'orders', partition: 1, sizeBytes: 0, segments: 1, startOffset: 0, endOffset: 0 },
  ]);
  m.setGroupLagProvider(async () => [{ group: 'billing', topic: 'orders', partition: 0, lag: 8 }]);
  m.setGroupMembersProvider(() => [{ group: 'billing', members: 3 }]);
  m.setClusterProvider(() => ({
    members: [
      { node: 'node-a', status: 'normal' },
      { node: 'node-b', status: 'normal', phi: 0.4 },
      { node: 'node-c', status: 'suspect', phi: 9.5 },
    ],
    partitionsOwned: 6,
    partitionsLed: 2,
    underReplicatedPartitions: 1,
    offlinePartitions: 0,
  }));
  m.setReplicationLagProvider(() => [{ topic: 'orders', partition: 0, follower: 'node-b', lagMessages: 3 }]);
  return m;
}

const EXPECTED_FAMILIES: Record<string, Family['type']> = {
  gregormq_requests_total: 'counter',
  gregormq_request_duration_seconds: 'histogram',
  gregormq_requests_in_flight: 'gauge',
  gregormq_messages_in_total: 'counter',
  gregormq_messages_out_total: 'counter',
  gregormq_bytes_in_total: 'counter',
  gregormq_bytes_out_total: 'counter',
  gregormq_connections: 'gauge',
  gregormq_connections_total: 'counter',
  gregormq_log_size_bytes: 'gauge',
  gregormq_log_segments: 'gauge',
  gregormq_log_start_offset: 'gauge',
  gregormq_log_end_offset: 'gauge',
  gregormq_fsync_duration_seconds: 'histogram',
  gregormq_consumer_group_lag: 'gauge',
  gregormq_consumer_group_members: 'gauge',
  gregormq_consumer_group_rebalances_total: 'counter',
  gregormq_messages_redelivered_total: 'counter',
  gregormq_messages_dead_lettered_total: 'counter',
  gregormq_cluster_members: 'gauge',
  gregormq_cluster_member_phi: 'gauge',
  gregormq_partitions_owned: 'gauge',
  gregormq_partitions_led: 'gauge',
  gregormq_under_replicated_partitions: 'gauge',
  gregormq_offline_partitions: 'gauge',
  gregormq_replication_lag_messages: 'gauge',
  gregormq_leader_elections_total: 'counter',
  gregormq_gossip_rounds_total: 'counter',
  gregormq_partition_moves_total: 'counter',
  gregormq_node_info: 'gauge',
  gregormq_process_cpu_seconds_total: 'counter',
  gregormq_process_resident_memory_bytes: 'gauge',
  gregormq_nodejs_eventloop_lag_seconds: 'gauge',
};

test('the exposition parses strictly and carries the recorded values', async () => {
  const m = sampleMetrics();
  const text = await m.render();
  assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  const families = parseExposition(text);
  for (const [name, type] of Object.entries(EXPECTED_FAMILIES)) {
    assert.equal(families.get(name)?.type, type, `family ${name}`);
  }
  const v = (name: string, labels?: Record<string, string>) => sampleValue(families, name, labels);
  assert.equal(v('gregormq_requests_total', { op: 'produce', outcome: 'ok' }), 2);
  assert.equal(v('gregormq_requests_total', { op: 'fetch', outcome: 'UNKNOWN_TOPIC' }), 1);
  assert.equal(v('gregormq_request_duration_seconds_count', { op: 'produce' }), 2);
  assert.equal(v('gregormq_request_duration_seconds_bucket', { op: 'produce', le: '0.0025' }), 1);
  assert.equal(v('gregormq_request_duration_seconds_bucket', { op: 'produce', le: '+Inf' }), 2);
  assert.ok(Math.abs(v('gregormq_request_duration_seconds_sum', { op: 'produce' })! - 0.0052) < 1e-12);
  assert.equal(v('gregormq_messages_in_total', { topic: 'orders' }), 15);
  assert.equal(v('gregormq_bytes_in_total', { topic: 'orders' }), 1600);
  assert.equal(v('gregormq_messages_out_total', { topic: 'orders' }), 7);
  assert.equal(v('gregormq_bytes_out_total', { topic: 'orders' }), 900);
  assert.equal(
    v('gregormq_messages_in_total', { topic: 'we"ird\\topic\nname' }),
    1,
    'label escaping round-trips',
  );
  assert.equal(v('gregormq_connections'), 1);
  assert.equal(v('gregormq_connections_total'), 2);
  assert.equal(v('gregormq_fsync_duration_seconds_count'), 1);
  assert.equal(v('gregormq_log_size_bytes', { topic: 'orders', partition: '0' }), 4096);
  assert.equal(v('gregormq_log_segments', { topic: 'orders', partition: '0' }), 2);
  assert.equal(v('gregormq_log_end_offset', { topic: 'orders', partition: '0' }), 15);
  assert.equal(v('gregormq_log_segments', { topic: 'orders', partition: '1' }), 1);
  assert.equal(v('gregormq_consumer_group_lag', { group: 'billing', topic: 'orders', partition: '0' }), 8);
  assert.equal(v('gregormq_consumer_group_members', { group: 'billing' }), 3);
  assert.equal(v('gregormq_cluster_members', { status: 'normal' }), 2);
  assert.equal(v('gregormq_cluster_members', { status: 'suspect' }), 1);
  assert.equal(v('gregormq_cluster_member_phi', { node: 'node-c' }), 9.5);
  assert.equal(v('gregormq_cluster_member_phi', { node: 'node-a' }), undefined);
  assert.equal(v('gregormq_partitions_owned'), 6);
  assert.equal(v('gregormq_partitions_led'), 2);
  assert.equal(v('gregormq_under_replicated_partitions'), 1);
  assert.equal(
    v('gregormq_replication_lag_messages', { topic: 'orders', partition: '0', follower: 'node-b' }),
    3,
  );
  assert.equal(v('gregormq_node_info', { node: 'node-a', cluster: 'prod', version: '0.1.0', zone: 'z1' }), 1);
});

test('names follow Prometheus conventions: prefix, _total on counters only, help on every family', async () => {
  const families = parseExposition(await sampleMetrics().render());
  assert.ok(families.size > 30);
  for (const f of families.values()) {
    assert.match(f.name, /^gregormq_[a-z0-9_]+$/, f.name);
    assert.ok(f.help && f.help.length > 0, `${f.name} has no HELP`);
    if (f.type === 'counter') assert.match(f.name, /_total$/, `counter ${f.name}`);
    else assert.doesNotMatch(f.name, /_total$/, `${f.type} ${f.name} must not end in _total`);
    assert.doesNotMatch(f.name, /_(milliseconds|ms|kilobytes|megabytes)$/, `${f.name} must use base units`);
  }
});

test('state gauges come from providers at scrape time and follow provider changes', async () => {
  const m = createMetrics({ processMetrics: false });
  let families = parseExposition(await m.render());
  assert.equal(families.get('gregormq_log_size_bytes')?.samples.length, 0, 'no provider, no series');
  let size = 100;
  let partitions = [0, 1];
  m.setLogStatsProvider(() =>
    partitions.map((p) => ({
      topic: 't',
      partition: p,
      sizeBytes: size,
      segments: 1,
      startOffset: 0,
      endOffset: 1,
    })),
  );
  families = parseExposition(await m.render());
  assert.equal(sampleValue(families, 'gregormq_log_size_bytes', { topic: 't', partition: '1' }), 100);
  size = 250;
  partitions = [0];
  families = parseExposition(await m.render());
  assert.equal(sampleValue(families, 'gregormq_log_size_bytes', { topic: 't', partition: '0' }), 250);
  assert.equal(
    sampleValue(families, 'gregormq_log_segments', { topic: 't', partition: '1' }),
    undefined,
    'a partition that went away loses its series',
  );
  m.setLogStatsProvider(undefined);
  families = parseExposition(await m.render());
  assert.equal(families.get('gregormq_log_end_offset')?.samples.length, 0);
});

test('a slow async provider still fills every gauge of its family in the same scrape', async () => {
  const m = createMetrics({ processMetrics: false });
  m.setLogStatsProvider(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return [{ topic: 't', partition: 0, sizeBytes: 1, segments: 2, startOffset: 3, endOffset: 4 }];
  });
  const families = parseExposition(await m.render());
  const labels = { topic: 't', partition: '0' };
  assert.equal(sampleValue(families, 'gregormq_log_size_bytes', labels), 1);
  assert.equal(sampleValue(families, 'gregormq_log_segments', labels), 2);
  assert.equal(sampleValue(families, 'gregormq_log_start_offset', labels), 3);
  assert.equal(sampleValue(families, 'gregormq_log_end_offset', labels), 4);
});

test('a failing provider empties its gauges, is reported, and does not break the scrape', async () => {
  const reported: string[] = [];
  const m = createMetrics({ processMetrics: false, onCollectError: (_err, metric) => reported.push(metric) });
  m.setClusterProvider(() => {
    throw new Error('membership not started');
  });
  m.recordIn('a', 1, 1);
  const families = parseExposition(await m.render());
  assert.equal(families.get('gregormq_cluster_members')?.samples.length, 0);
  assert.equal(sampleValue(families, 'gregormq_messages_in_total', { topic: 'a' }), 1);
  assert.deepEqual(reported, ['gregormq_cluster_members']);
});

test('each broker has its own registry; the global one stays empty', async () => {
  const a = createMetrics({ processMetrics: false });
  const b = createMetrics({ processMetrics: false });
  a.recordIn('x', 3, 30);
  assert.equal(
    sampleValue(parseExposition(await a.render()), 'gregormq_messages_in_total', { topic: 'x' }),
    3,
  );
  assert.equal(
    sampleValue(parseExposition(await b.render()), 'gregormq_messages_in_total', { topic: 'x' }),
    undefined,
  );
  assert.ok(!(await globalRegistry.metrics()).includes('gregormq_'));
});

test('forgetTopic drops the per-topic series of a deleted topic', async () => {
  const m = createMetrics({ processMetrics: false });
  m.recordIn('gone', 1, 10);
  m.recordOut('gone', 1, 10);
  m.recordIn('kept', 1, 10);
  m.forgetTopic('gone');
  const text = await m.render();
  assert.ok(!text.includes('topic="gone"'));
  assert.ok(text.includes('topic="kept"'));
  m.recordIn('gone', 2, 20);
  assert.equal(
    sampleValue(parseExposition(await m.render()), 'gregormq_messages_in_total', { topic: 'gone' }),
    2,
  );
});

test('a published exposition-format parser agrees (parse-prometheus-text-format)', async (t) => {
  const pkg = 'parse-prometheus-text-format';
  let parse: ((text: string) => Array<{ name: string; type: string; metrics: unknown[] }>) | undefined;
  try {
    const mod = await import(pkg);
    parse = mod.default ?? mod;
  } catch {
    t.skip(
      `npm package ${pkg} is not installed; the strict parser in exposition-parser.ts covered the format`,
    );
    return;
  }
  const text = await sampleMetrics().render();
  const theirs = parse!(text);
  const ours = parseExposition(text);
  assert.deepEqual(new Set(theirs.map((f) => f.name)), new Set(ours.keys()));
  for (const f of theirs) assert.equal(f.type.toLowerCase(), ours.get(f.name)!.type, f.name);
});

test('promtool check metrics accepts the output', async (t) => {
  if (!(await onPath('promtool'))) {
    t.skip('promtool not on PATH (Debian package "prometheus" provides it)');
    return;
  }
  const text = await sampleMetrics().render();
  const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
  assert.equal(result.code, 0, `promtool check metrics failed:\n${result.out}`);
});

test('a real Prometheus server scrapes the endpoint on loopback', async (t) => {
  if (!(await onPath('prometheus'))) {
    t.skip('prometheus not on PATH (Debian package "prometheus")');
    return;
  }
  const m = sampleMetrics();
  const target = http.createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': m.contentType });
    res.end(await m.render());
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => target.close(resolve)));
  const targetPort = (target.address() as AddressInfo).port;

  const prom = await startPrometheus(t, [`127.0.0.1:${targetPort}`]);
  const query = prom.query;
  const up = await prom.waitFor('up{job="gregormq"}', (r) => r.length > 0);
  assert.equal(up.length, 1, `Prometheus never scraped the target; its log:\n${prom.log()}`);
  assert.equal(up[0]!.value[1], '1', 'scrape failed (up=0): Prometheus could not parse the exposition');
  const lag = await query('gregormq_consumer_group_lag{group="billing"}');
  assert.equal(lag[0]?.value[1], '8');
  const inRate = await query('gregormq_messages_in_total{topic="orders"}');
  assert.equal(inRate[0]?.value[1], '15');
  const p99 = await query(
    'histogram_quantile(0.99, sum by (le) (gregormq_request_duration_seconds_bucket{op="produce"}))',
  );
  assert.equal(p99.length, 1);
  assert.ok(
    Number(p99[0]!.value[1]) > 0.0025 && Number(p99[0]!.value[1]) <= 0.005,
    `p99 ${p99[0]!.value[1]}`,
  );
});

test('the strict parser itself refuses malformed expositions', () => {
  const bad: Array<[string, RegExp]> = [
    ['x_total 1\n', /no TYPE line/],
    ['# TYPE x gauge\nx{a="1} 1\n', /unterminated/],
    ['# TYPE x gauge\nx{a="\\q"} 1\n', /bad escape/],
    ['# TYPE x gauge\nx one\n', /bad value/],
    ['# TYPE x gauge\nx 1\nx 2\n', /duplicate series/],
    ['# TYPE x gauge\n# TYPE x gauge\n', /second TYPE/],
    ['# TYPE x thing\n', /unknown type/],
    ['# TYPE 1x gauge\n', /bad metric name/],
    ['# TYPE x gauge\nx 1', /end with a newline/],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n', /!= _count/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf bucket/],
  ];
  for (const [text, why] of bad) assert.throws(() => parseExposition(text), why, JSON.stringify(text));
  const ok = parseExposition(
    '# HELP x A gauge.\n# TYPE x gauge\nx{a="q\\"\\\\\\n"} NaN\nx{a="b"} -Inf 1700000000\n',
  );
  assert.equal(ok.get('x')?.samples[0]?.labels.a, 'q"\\\n');
  assert.equal(ok.get('x')?.help, 'A gauge.');
});

test('per-message counters summed between scrapes come out exactly once, and a forgotten topic drops its sums', async () => {
  const m = createMetrics({ processMetrics: false });
  const line = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(series));
  for (let i = 0; i < 3; i++) {
    m.recordIn('t', 2, 100);
    m.recordOut('t', 1, 50);
    m.observeRequest('PUBLISH', 'ok', 0.0001);
  }
  let text = await m.render();
  assert.equal(
    line(text, 'gregormq_messages_in_total{topic="t"}'),
    'gregormq_messages_in_total{topic="t"} 6',
  );
  assert.equal(line(text, 'gregormq_bytes_out_total{topic="t"}'), 'gregormq_bytes_out_total{topic="t"} 150');
  assert.equal(
    line(text, 'gregormq_requests_total{op="PUBLISH",outcome="ok"}'),
    'gregormq_requests_total{op="PUBLISH",outcome="ok"} 3',
  );
  text = await m.render();
  assert.equal(
    line(text, 'gregormq_messages_in_total{topic="t"}'),
    'gregormq_messages_in_total{topic="t"} 6',
  );
  m.recordIn('t', 5, 500);
  m.forgetTopic('t');
  text = await m.render();
  assert.equal(line(text, 'gregormq_messages_in_total{topic="t"}'), undefined);
  m.recordIn('t', 1, 10);
  text = await m.render();
  assert.equal(
    line(text, 'gregormq_messages_in_total{topic="t"}'),
    'gregormq_messages_in_total{topic="t"} 1',
  );
});

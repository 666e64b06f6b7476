/**
 * The operator's path end to end, with the real binaries: start `gregormq`, run `gregorctl
 * produce`, and read `/metrics` the three ways an operator would (curl, promtool,
 * `gregorctl metrics`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import type { MetricsSummary } from '../../cli/ctl/metrics.js';
import { type Exposition, parseExposition, sumSamples } from '../../src/observability/exposition.js';
import { onPath } from '../helpers/prometheus.js';
import {
  type BrokerProcess,
  cleanEnv,
  createTopic,
  ctl,
  GREGORCTL,
  httpGet,
  pollUntil,
  runNode,
  startBrokerProcess,
} from './broker-process.js';

async function scrape(b: BrokerProcess): Promise<{ text: string; e: Exposition }> {
  const res = await httpGet(b, '/metrics');
  assert.equal(res.status, 200, res.text);
  return { text: res.text, e: parseExposition(res.text) };
}

function promtoolCheck(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(text);
  });
}

test('gregorctl produce moves the counters; promtool and a published parser accept the real output', async (t) => {
  const b = await startBrokerProcess(t);
  const topic = `ops-${randomUUID().slice(0, 8)}`;
  await createTopic(b, topic, 2);
  // A refused request, so the error outcome series exists as it would in production.
  const dup = await ctl(b, ['topics', 'create', topic]);
  assert.equal(dup.code, 1);

  const before = await scrape(b);
  // The series exists, at 0, from the first scrape that sees the topic (so rate() has two samples).
  assert.equal(sumSamples(before.e, 'gregormq_messages_in_total', { topic }), 0);
  const produced = await ctl(b, ['produce', topic, '--count', '2000', '--size', '100', '--json']);
  assert.equal(produced.code, 0, produced.stderr);
  assert.equal(JSON.parse(produced.stdout.trim().split('\n').at(-1)!).acked, 2000);

  const { text, e } = await scrape(b);
  assert.equal(sumSamples(e, 'gregormq_messages_in_total', { topic }), 2000);
  assert.ok(sumSamples(e, 'gregormq_bytes_in_total', { topic })! > 2000 * 100, 'bytes in counts batch bytes');
  assert.ok(sumSamples(e, 'gregormq_requests_total', { op: 'PRODUCE', outcome: 'ok' })! >= 1);
  assert.ok(sumSamples(e, 'gregormq_request_duration_seconds_count', { op: 'PRODUCE' })! >= 1);
  const createErrors = e.samples
    .get('gregormq_requests_total')!
    .filter((s) => s.labels.op === 'CREATE_TOPIC' && s.labels.outcome !== 'ok');
  assert.equal(
    createErrors.reduce((n, s) => n + s.value, 0),
    1,
    'the refused create is counted as an error',
  );
  assert.deepEqual(
    createErrors.map((s) => s.labels.outcome),
    ['TOPIC_EXISTS'],
    'the outcome label is the error code the client was sent',
  );
  assert.equal(sumSamples(e, 'gregormq_requests_in_flight'), 0, 'every request was answered');
  assert.equal(sumSamples(e, 'gregormq_log_end_offset', { topic }), 2000, 'end offsets of both partitions');
  assert.equal(e.samples.get('gregormq_log_segments')!.filter((s) => s.labels.topic === topic).length, 2);
  assert.ok(sumSamples(e, 'gregormq_log_size_bytes', { topic })! > 2000 * 100);
  assert.equal(sumSamples(e, 'gregormq_connections'), 0, 'gregorctl closed its connection');
  assert.ok(sumSamples(e, 'gregormq_connections_total')! >= 3);
  assert.ok(sumSamples(e, 'gregormq_process_resident_memory_bytes')! > 10_000_000);
  assert.ok(e.samples.get('gregormq_node_info')?.[0]?.labels.node, 'node_info names the node');
  // fsync runs off the append path (policy interval:<ms>), so wait for the first one to land.
  const fsyncs = await pollUntil('the first fsync to be observed', async () => {
    const n = sumSamples((await scrape(b)).e, 'gregormq_fsync_duration_seconds_count') ?? 0;
    return n > 0 ? n : undefined;
  });
  assert.ok(fsyncs > 0);

  // An independent, published parser reads the same families and values.
  const pkg = 'parse-prometheus-text-format'; // untyped package: imported by name, typed here
  const mod = (await import(pkg)) as {
    default: (s: string) => Array<{
      name: string;
      type: string;
      metrics: Array<{ value?: string; labels?: Record<string, string> }>;
    }>;
  };
  const theirs = mod.default(text);
  const families = new Set([...e.types.keys()]);
  assert.deepEqual(new Set(theirs.map((f) => f.name)), families);
  const messagesIn = theirs.find((f) => f.name === 'gregormq_messages_in_total')!;
  assert.equal(messagesIn.type, 'COUNTER');
  assert.equal(Number(messagesIn.metrics.find((m) => m.labels?.topic === topic)?.value), 2000);

  if (!(await onPath('promtool'))) {
    t.diagnostic('promtool not on PATH (Debian package "prometheus"): exposition lint skipped');
    return;
  }
  const lint = await promtoolCheck(text);
  assert.equal(lint.code, 0, `promtool check metrics on the real broker's output:\n${lint.out}`);
  assert.equal(lint.out.trim(), '', `promtool found lint problems:\n${lint.out}`);
});

test('gregorctl metrics: --json --count 2 sees the produce rate; the human form; bad flags and addresses', async (t) => {
  const b = await startBrokerProcess(t);
  const topic = `ops-${randomUUID().slice(0, 8)}`;
  await createTopic(b, topic);

  // A long produce in the background; killed once the samples are taken.
  const producer = spawn(
    process.execPath,
    [GREGORCTL, 'produce', topic, '--count', '50000000', '--size', '100'],
    {
      env: cleanEnv({ GREGOR_BROKER: b.broker }),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let producerErr = '';
  producer.stderr!.setEncoding('utf8').on('data', (d: string) => {
    producerErr = (producerErr + d).slice(-2000);
  });
  const producerExited = new Promise((resolve) => producer.once('exit', resolve));
  t.after(async () => {
    producer.kill('SIGKILL');
    await producerExited;
  });
  await pollUntil('the background produce to reach the broker', async () => {
    if (producer.exitCode !== null) throw new Error(`produce exited ${producer.exitCode}: ${producerErr}`);
    const n = sumSamples((await scrape(b)).e, 'gregormq_messages_in_total', { topic }) ?? 0;
    return n > 0 ? n : undefined;
  });

  const watched = await ctl(b, ['metrics', '--json', '--count', '2', '--interval-ms', '500']);
  assert.equal(watched.code, 0, watched.stderr);
  const samples = watched.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsSummary);
  assert.equal(samples.length, 2, watched.stdout);
  for (const s of samples) {
    assert.ok(s.windowSeconds >= 0.4, `window ${s.windowSeconds}`);
    assert.ok(s.in.msgsPerSec > 0, `msgs in rate while producing: ${JSON.stringify(s.in)}`);
    assert.ok(s.in.mbPerSec > 0);
    const row = s.topics.find((x) => x.topic === topic);
    assert.ok(row && row.inMsgsPerSec > 0, JSON.stringify(s.topics));
    const produce = s.requests.find((r) => r.op === 'PRODUCE');
    assert.ok(
      produce && produce.perSec > 0 && produce.p99Ms !== null && produce.p99Ms > 0,
      JSON.stringify(s.requests),
    );
    assert.equal(s.connections, 1, 'the producer connection');
    assert.ok(s.rssBytes !== null && s.rssBytes > 0);
    assert.ok(typeof s.node === 'string' && s.node.length > 0);
    assert.deepEqual(s.lag, [], 'no consumer groups on this node');
  }
  assert.ok(samples[1]!.in.totalMessages > samples[0]!.in.totalMessages);
  producer.kill('SIGKILL');
  await producerExited;

  // Not a terminal: plain repeated blocks, no ANSI escapes.
  const human = await ctl(b, ['metrics', '--count', '2', '--interval-ms', '200']);
  assert.equal(human.code, 0, human.stderr);
  assert.ok(!human.stdout.includes('\u001b['), 'no ANSI escapes when stdout is not a terminal');
  const blocks = human.stdout.trim().split(/\n\n(?=node )/);
  assert.equal(blocks.length, 2, human.stdout);
  for (const block of blocks) {
    assert.match(block, /^node \S+ \(127\.0\.0\.1:\d+\)\s+window \d/);
    assert.match(block, /^in\s+[\d,.]+ msg\/s\s+[\d,.]+ MB\/s\s+total [\d,]+ msgs/m);
    assert.match(block, /^TOPIC\s+IN MSG\/S\s+IN MB\/S/m);
    assert.match(block, new RegExp(`^${topic}\\s`, 'm'));
    assert.match(block, /^connections \d+\s+rss [\d.]+ MiB\s+fsync /m);
  }
  const once = await ctl(b, ['metrics', '--interval-ms', '100']);
  assert.equal(once.code, 0, once.stderr);
  assert.equal(once.stdout.match(/^node /gm)?.length, 1, 'without --watch or --count: one report');

  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const unreachable = await runNode(GREGORCTL, ['metrics', '--http', `127.0.0.1:${closedPort}`], {
    env: cleanEnv(),
  });
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, new RegExp(`127\\.0\\.0\\.1:${closedPort}/metrics: ECONNREFUSED`));
  const badAddress = await ctl(b, ['metrics', '--http', 'nowhere']);
  assert.equal(badAddress.code, 2);
  assert.match(badAddress.stderr, /--http must be host:port, got "nowhere"/);
  const badInterval = await ctl(b, ['metrics', '--interval-ms', '5']);
  assert.equal(badInterval.code, 2);
  assert.match(badInterval.stderr, /--interval-ms must be an integer >= 100, got "5"/);
  const notMetrics = await runNode(GREGORCTL, ['metrics', '--http', `${b.broker}`], { env: cleanEnv() });
  assert.equal(notMetrics.code, 1, 'the client port is not an HTTP server');
  assert.match(notMetrics.stderr, new RegExp(`${b.broker}/metrics`));
});

/**
 * Cross-node ephemeral pub/sub with two in-process brokers, each with its own membership node
 * (127.0.0.1, mDNS off, one seed): a topic created on A reaches B by gossip, B's subscriber
 * interest reaches A, and a publish on A arrives at B's subscriber over the interbroker channel,
 * once, while A's own subscriber gets it locally. Also the frame reader's bounds.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Broker } from '../../src/broker/broker.js';
import { type ClusterNode, startClusterNode } from '../../src/cluster/cluster-node.js';
import { connect } from '../../src/index.js';
import { FrameReader, publishHeader } from '../../src/interbroker/channel.js';
import { INTEREST_KEY } from '../../src/interbroker/pubsub-forwarder.js';
import { attachClusterServices, type ClusterServices } from '../../src/routing/attach.js';
import { startTestBroker } from '../helpers/broker.js';

async function waitFor<T>(what: string, cond: () => T | undefined | false, deadlineMs = 15_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startNode(
  t: TestContext,
  name: string,
  seeds: string[],
): Promise<{ broker: Broker; node: ClusterNode; services: ClusterServices }> {
  const broker = await startTestBroker(t, { nodeName: name, httpPort: -1 });
  const dir = await mkdtemp(join(tmpdir(), 'gregor-ib-'));
  const node = await startClusterNode({
    dataDir: dir,
    clusterPort: 0,
    host: '127.0.0.1',
    mdns: false,
    seeds,
    nodeName: name,
    detector: 'local',
    gossipIntervalMs: 100,
    joinTimeoutMs: 500,
    advertise: { client: `127.0.0.1:${broker.port}` },
  });
  const services = await attachClusterServices(broker, node, { dataDir: broker.dataDir });
  t.after(async () => {
    await services.stop();
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { broker, node, services };
}

function clusterPort(node: ClusterNode): number {
  return Number(/\/tcp\/(\d+)/.exec(node.listenAddresses()[0]!)![1]);
}

test('a publish on node A reaches subscribers on A and B exactly once each', async (t) => {
  const a = await startNode(t, 'a', []);
  const b = await startNode(t, 'b', [`127.0.0.1:${clusterPort(a.node)}`]);
  await waitFor('both NORMAL members of one cluster', () =>
    [a.node, b.node].every((n) => n.members().filter((m) => m.status === 'NORMAL').length === 2),
  );
  const ca = await connect({ brokers: [`127.0.0.1:${a.broker.port}`] });
  const cb = await connect({ brokers: [`127.0.0.1:${b.broker.port}`] });
  t.after(() => Promise.all([ca.close(), cb.close()]));
  await ca.admin.createTopic({ name: 'ticks', partitions: 2, kind: 'ephemeral' });
  await waitFor('B knows the topic', () => b.broker.topics.has('ticks'));

  const subB = cb.subscribe('ticks');
  const subA = ca.subscribe('ticks');
  await Promise.all([subA.ready(), subB.ready()]);
  await waitFor('A sees B interested in ticks', () => {
    const v = a.node.member(b.node.id)?.facts[INTEREST_KEY];
    return Array.isArray(v) && v.includes('ticks');
  });
  const N = 200;
  for (let i = 0; i < N; i++) await ca.publish('ticks', `m${i}`, { key: `k${i}` });
  for (const [who, sub] of [
    ['A', subA],
    ['B', subB],
  ] as const) {
    const got: string[] = [];
    for await (const m of sub) {
      got.push(m.value!.toString());
      if (got.length === N) break;
    }
    assert.deepEqual(got.sort(), Array.from({ length: N }, (_, i) => `m${i}`).sort(), `subscriber on ${who}`);
  }
  assert.equal(a.services.pubsub.stats().sent, N, 'A forwarded each batch once');
  assert.equal(b.services.pubsub.received, N);
  assert.equal(b.services.pubsub.stats().sent, 0, 'B does not forward what it received');
});

test('frame reader: frames split across chunks, and an oversized length is refused', () => {
  const frames: { type: number; len: number }[] = [];
  const r = new FrameReader((type, body) => frames.push({ type, len: body.length }));
  const batch = Buffer.alloc(50, 7);
  const bytes = Buffer.concat([publishHeader('t', 3, batch.length), batch, publishHeader('tt', 1, 0)]);
  for (let i = 0; i < bytes.length; i += 7) r.push(bytes.subarray(i, i + 7));
  assert.deepEqual(frames, [
    { type: 1, len: 2 + 1 + 4 + 50 },
    { type: 1, len: 2 + 2 + 4 },
  ]);
  const bad = Buffer.alloc(5);
  bad.writeUInt32BE(0xffffffff, 0);
  assert.throws(() => new FrameReader(() => undefined).push(bad), /declares length 4294967295/);
});

/**
 * Real libp2p nodes in one process on 127.0.0.1, port 0, mDNS off, found through one seed:
 * discovery, conviction of a stopped node, restart under the same id with a higher generation,
 * graceful leave, and refusal of a node holding the wrong private-network key.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  type ClusterNode,
  type ClusterNodeOptions,
  startClusterNode,
} from '../../src/cluster/cluster-node.js';
import type { Libp2pTransport } from '../../src/cluster/libp2p-transport.js';

const dirs: string[] = [];
const running = new Set<ClusterNode>();
after(async () => {
  for (const n of running) await n.stop().catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gregor-cluster-'));
  dirs.push(d);
  return d;
}

async function start(opts: Partial<ClusterNodeOptions> & { dataDir: string }): Promise<ClusterNode> {
  const n = await startClusterNode({
    host: '127.0.0.1',
    clusterPort: 0,
    mdns: false,
    clusterName: 'libp2p-test',
    ...opts,
  });
  running.add(n);
  return n;
}

async function stop(n: ClusterNode): Promise<void> {
  await n.stop();
  running.delete(n);
}

async function waitFor(what: string, cond: () => boolean, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function seedOf(n: ClusterNode): string {
  const port = /\/tcp\/(\d+)/.exec(n.listenAddresses()[0] ?? '')?.[1];
  assert.ok(port, 'node has a TCP listen address');
  return `127.0.0.1:${port}`;
}

test('three nodes with one seed find each other; stop, restart and leave are seen', async () => {
  const dirA = await tempDir();
  const dirC = await tempDir();
  const a = await start({ dataDir: dirA, nodeName: 'a' });
  const seed = seedOf(a);
  const b = await start({ dataDir: await tempDir(), nodeName: 'b', seeds: [seed] });
  let c = await start({ dataDir: dirC, nodeName: 'c', seeds: [seed] });
  const cId = c.id;
  await waitFor('all see 3 members', () => [a, b, c].every((n) => n.members().length === 3));
  await Promise.all([a.joined, b.joined, c.joined]);
  for (const n of [a, b, c]) {
    assert.deepEqual(
      n
        .members()
        .map((m) => m.name)
        .sort(),
      ['a', 'b', 'c'],
    );
    assert.ok(n.members().every((m) => m.status === 'NORMAL' || m.status === 'JOINING'));
    assert.equal(n.self().isSelf, true);
    assert.ok(n.self().addresses.cluster[0]?.includes('/tcp/'));
  }

  // Stopped without leave: convicted dead by the others.
  await stop(c);
  await waitFor('c convicted by a and b', () =>
    [a, b].every((n) => n.member(cId)?.liveness === 'dead' && n.member(cId)?.status !== 'LEFT'),
  );

  // Restart on the same data dir: same peer id, next generation, alive again.
  c = await start({ dataDir: dirC, nodeName: 'c', seeds: [seed] });
  assert.equal(c.id, cId);
  assert.equal(c.generation, 2);
  await waitFor('restarted c alive at generation 2', () =>
    [a, b].every((n) => n.member(cId)?.generation === 2 && n.member(cId)?.liveness === 'alive'),
  );

  // Graceful leave: LEFT everywhere.
  const confirmations = await b.leave();
  assert.ok(confirmations >= 1, `leave confirmed by ${confirmations} peers`);
  await stop(b);
  await waitFor('b LEFT at a and c', () => [a, c].every((n) => n.member(b.id)?.status === 'LEFT'));
});

test('membership messages share one long-lived stream per peer, and a restarted peer gets a new one', async () => {
  const dirB = await tempDir();
  const a = await start({ dataDir: await tempDir(), nodeName: 'a', gossipIntervalMs: 50 });
  let b = await start({ dataDir: dirB, nodeName: 'b', gossipIntervalMs: 50, seeds: [seedOf(a)] });
  const stats = (a.transport as Libp2pTransport).stats;
  await waitFor('a sent 60 messages to b', () => stats.messagesSent >= 60);
  // One stream to b, plus at most one more if the first message raced the connection set-up.
  assert.ok(stats.streamsOpened <= 2, `${stats.streamsOpened} streams for ${stats.messagesSent} messages`);
  assert.ok(stats.messagesReceived >= 30, `a received ${stats.messagesReceived}`);
  const bId = b.id;
  await stop(b);
  b = await start({ dataDir: dirB, nodeName: 'b', gossipIntervalMs: 50, seeds: [seedOf(a)] });
  await waitFor('b alive again at generation 2 on a', () => {
    const m = a.member(bId);
    return m?.generation === 2 && m.liveness === 'alive';
  });
  const sent = stats.messagesSent;
  await waitFor('a keeps gossiping with the restarted b', () => stats.messagesSent >= sent + 40);
  assert.ok(stats.streamsOpened <= 5, `${stats.streamsOpened} streams for ${stats.messagesSent} messages`);
});

test('a node with the wrong cluster key is refused', async () => {
  const keyDir = await tempDir();
  const { writeClusterKeyFile } = await import('../../src/cluster/libp2p-transport.js');
  const good = join(keyDir, 'good.key');
  const bad = join(keyDir, 'bad.key');
  await writeClusterKeyFile(good);
  await writeClusterKeyFile(bad);
  const a = await start({ dataDir: await tempDir(), nodeName: 'a', clusterKeyFile: good });
  const seed = seedOf(a);
  const b = await start({ dataDir: await tempDir(), nodeName: 'b', clusterKeyFile: good, seeds: [seed] });
  const x = await start({ dataDir: await tempDir(), nodeName: 'x', clusterKeyFile: bad, seeds: [seed] });
  await waitFor('a and b (same key) see each other', () => [a, b].every((n) => n.members().length === 2));
  const xStats = (x.transport as Libp2pTransport).stats;
  await waitFor('x failed to dial its seed', () => xStats.seedDialFailures >= 1, 30_000);
  assert.deepEqual(
    x.members().map((m) => m.name),
    ['x'],
  );
  assert.equal(a.member(x.id), undefined);
  assert.equal(b.member(x.id), undefined);
  assert.ok(!a.transport.connectedPeers().includes(x.id), 'a holds no connection to x');
});

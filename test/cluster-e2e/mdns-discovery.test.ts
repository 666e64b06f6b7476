/**
 * Zero configuration: three broker processes with mDNS on and no seeds, in a network namespace
 * this test creates (mDNS must never multicast off the machine), find each other within 5 s and
 * `gregorctl cluster nodes --json` on each lists all three; a fourth broker with another
 * `--cluster-name` in the same namespace stays apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BrokerProcess, createNetns, ctl, ctlNodes, Fleet, waitFor } from './broker-process.js';

/** The target: discovery by mDNS within 5 s of the last node's cluster layer starting. */
const DISCOVERY_TARGET_MS = 5000;

/** Time (log clock) at which `node` had logged "member joined" for every id in `peers`, or undefined. */
function sawAll(node: BrokerProcess, peers: string[]): number | undefined {
  let latest = 0;
  for (const id of peers) {
    const line = node.logged('member joined').find((l) => l.peer === id);
    if (!line) return undefined;
    latest = Math.max(latest, line.time);
  }
  return latest;
}

test('mDNS: three brokers with no seeds find each other; another cluster name stays apart', async (t) => {
  const netns = createNetns(t);
  const fleet = new Fleet(t);
  const blue = await Promise.all(
    ['n1', 'n2', 'n3'].map((nodeName) =>
      fleet.start({ nodeName, netns, mdns: true, args: ['--cluster-name', 'blue'] }),
    ),
  );
  const green = await fleet.start({ nodeName: 'g1', netns, mdns: true, args: ['--cluster-name', 'green'] });
  await Promise.all([...blue, green].map((n) => n.ready()));
  const ids = blue.map((n) => n.peerId);
  const lastStart = Math.max(...blue.map((n) => n.clusterStartTime()));

  const seen = await waitFor(
    'each blue broker logs the other two as members',
    () => {
      const times = blue.map((n) =>
        sawAll(
          n,
          ids.filter((id) => id !== n.peerId),
        ),
      );
      return times.every((x) => x !== undefined) ? (times as number[]) : undefined;
    },
    20_000,
  );
  const tookMs = Math.max(...seen) - lastStart;
  t.diagnostic(`mDNS discovery complete ${tookMs} ms after the last cluster layer started`);
  assert.ok(tookMs < DISCOVERY_TARGET_MS, `discovery took ${tookMs} ms (target ${DISCOVERY_TARGET_MS} ms)`);

  for (const n of blue) {
    const members = await waitFor(
      `gregorctl on ${n.opts.nodeName} lists n1, n2, n3 alive and NORMAL`,
      async () => {
        const ms = await ctlNodes(n);
        const ok = ms.length === 3 && ms.every((m) => m.liveness === 'alive' && m.status === 'NORMAL');
        return ok ? ms : undefined;
      },
      10_000,
      200,
    );
    assert.deepEqual(members.map((m) => m.name).sort(), ['n1', 'n2', 'n3']);
    assert.deepEqual(members.map((m) => m.id).sort(), [...ids].sort());
  }

  // Separation: let green gossip for 2 s more (two mDNS announcement rounds) while everyone is up,
  // measured by green's own heartbeat counter rather than a sleep.
  const beat = async () => (await ctlNodes(green)).find((m) => m.isSelf)?.heartbeat ?? 0;
  const from = await beat();
  await waitFor('green to gossip 20 more rounds', async () => (await beat()) >= from + 20, 20_000, 200);
  const greenView = await ctlNodes(green);
  assert.deepEqual(
    greenView.map((m) => m.name),
    ['g1'],
  );
  for (const n of blue) {
    assert.ok(!(await ctlNodes(n)).some((m) => m.id === green.peerId), `${n.opts.nodeName} lists g1`);
    assert.equal(n.logged('member joined').filter((l) => l.peer === green.peerId).length, 0);
  }
  assert.equal(green.logged('member joined').length, 0, 'green never took a blue node as a member');
  const status = await ctl(['cluster', 'status', '--json', '--http', green.http], netns);
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout) as { clusterName: string; members: number; joined: boolean };
  assert.equal(s.clusterName, 'green');
  assert.equal(s.members, 1);
  assert.equal(s.joined, true);
});

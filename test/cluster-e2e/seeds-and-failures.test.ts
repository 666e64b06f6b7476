/**
 * Three real broker processes on 127.0.0.1 with mDNS off and one seed address: they form one
 * cluster that `gregorctl cluster nodes` shows on every node; kill -9 of one is convicted by the
 * others, which then see it rejoin under the same id with a higher generation after a restart on
 * the same data dir; SIGTERM makes a node leave (LEFT) instead of being convicted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ctl, ctlNodes, Fleet, hasExactly, httpMembers, waitFor } from './broker-process.js';

/**
 * Deadline for conviction. With the `local` preset (100 ms gossip, 1 s acceptable pause) a dead
 * node is convicted in about 2 s; the stall guard may hold convictions back for 5 s more after a
 * stall of the observer's own event loop, which a shared 2-core test machine can cause.
 */
const CONVICTION_DEADLINE_MS = 10_000;

test('seeds: three brokers form a cluster; kill -9 is convicted, restart rejoins, SIGTERM leaves', async (t) => {
  const fleet = new Fleet(t);
  const {
    nodes: [n1, n2, n3],
  } = await fleet.startSeeded(['n1', 'n2', 'n3']);
  const all = [n1, n2, n3];
  const names = ['n1', 'n2', 'n3'];

  await waitFor(
    'every node lists n1, n2, n3 alive',
    async () => (await Promise.all(all.map(httpMembers))).every((ms) => hasExactly(ms, names)),
    15_000,
  );
  for (const n of all) {
    const members = await ctlNodes(n);
    assert.deepEqual(members.map((m) => m.name).sort(), names, `gregorctl on ${n.opts.nodeName}`);
    for (const m of members) {
      assert.equal(m.liveness, 'alive');
      assert.equal(m.status, 'NORMAL');
      assert.equal(m.isSelf, m.name === n.opts.nodeName);
    }
    assert.deepEqual(
      members.map((m) => m.id).sort(),
      all.map((x) => x.peerId).sort(),
      'member ids are the peer ids the brokers logged',
    );
  }
  const status = await ctl(['cluster', 'status', '--http', n2.http]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /joined:\s+yes/);
  assert.match(status.stdout, /members:\s+3/);
  const table = await ctl(['cluster', 'nodes', '--http', n2.http]);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trimEnd().split('\n');
  assert.equal(rows.length, 4, table.stdout);
  assert.match(rows[0]!, /^NAME\s+ID\s+STATUS\s+LIVENESS\s+PHI\s+CLIENT\s+CLUSTER\s+ZONE\s+GEN\s+UPTIME$/);
  const readyRes = await fetch(`http://${n1.http}/health/ready`);
  assert.equal(readyRes.status, 200);
  assert.deepEqual(((await readyRes.json()) as { checks: { cluster: unknown } }).checks.cluster, {
    ok: true,
  });
  const metrics = await (await fetch(`http://${n1.http}/metrics`)).text();
  assert.match(metrics, /^gregormq_cluster_members\{status="NORMAL"\} 3$/m);
  assert.match(metrics, /^gregormq_cluster_member_phi\{node="n2"\} /m);

  // kill -9: the survivors convict n3.
  const oldId = n3.peerId;
  const oldGeneration = n3.generation;
  const killedAt = Date.now();
  await n3.kill('SIGKILL');
  await waitFor(
    'n1 and n2 see n3 dead',
    async () =>
      (await Promise.all([n1, n2].map(httpMembers))).every(
        (ms) => ms.find((m) => m.id === oldId)?.liveness === 'dead',
      ),
    CONVICTION_DEADLINE_MS,
  );
  for (const n of [n1, n2]) {
    const at = n.logged('member convicted').find((l) => l.peer === oldId)?.time;
    t.diagnostic(
      `${n.opts.nodeName} convicted n3 ${at === undefined ? '(not logged)' : `after ${at - killedAt} ms`}`,
    );
  }

  // Restart on the same data dir: same id, next generation, alive again everywhere, still 3 members.
  n3.start();
  await n3.ready();
  assert.equal(n3.peerId, oldId, 'a restart keeps the node id');
  assert.ok(n3.generation > oldGeneration, `generation ${n3.generation} > ${oldGeneration}`);
  await waitFor(
    'every node sees n3 alive at its new generation',
    async () =>
      (await Promise.all(all.map(httpMembers))).every(
        (ms) => hasExactly(ms, names) && ms.find((m) => m.id === oldId)?.generation === n3.generation,
      ),
    15_000,
  );

  // SIGTERM: n2 announces LEFT before exiting, so the others see LEFT, not a crash.
  const n2Id = n2.peerId;
  await n2.kill('SIGTERM');
  assert.equal(n2.exitCode, 0, `n2 exit code (stderr: ${n2.stderr})`);
  assert.ok(n2.logged('left the cluster').length === 1, 'n2 logged that it left');
  await waitFor(
    'n1 and n3 see n2 LEFT',
    async () =>
      (await Promise.all([n1, n3].map(httpMembers))).every(
        (ms) => ms.find((m) => m.id === n2Id)?.status === 'LEFT',
      ),
    10_000,
  );
  const viewOfN2 = (await ctlNodes(n1)).find((m) => m.id === n2Id);
  assert.equal(viewOfN2?.status, 'LEFT');
});

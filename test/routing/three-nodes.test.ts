/**
 * Done-when of cluster routing, with real broker processes on 127.0.0.1 (mDNS off, one seed):
 * a 12-partition topic created through one node spreads over all three as the ring says, every
 * partition is open only on its owner, `gregorctl produce` through n1 and `gregorctl consume`
 * through n3 move every message; a fourth node takes about a quarter of the ring, every node's
 * `gregorctl cluster ring` shows it, and partitions whose data stays behind keep being served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RingBody } from '../../src/routing/attach.js';
import { ctl, Fleet, hasExactly, httpMembers, waitFor } from '../cluster-e2e/broker-process.js';
import { agree, ctlWithInput, ownersOf, ringOf } from './ring-helpers.js';

const TOPIC = 'orders';
const PARTITIONS = 12;
const PER_PARTITION = 25;

interface DescribeBody {
  partitions: { partition: number; leader: string; highWatermark: number }[];
}

/** `gregorctl consume` of the whole topic from the start through `node`, as JSON lines. */
function consumeAll(node: { port: number }, total: number) {
  return ctl([
    'consume',
    TOPIC,
    '--from',
    'earliest',
    '--count',
    String(total),
    '--json',
    '--broker',
    `127.0.0.1:${node.port}`,
  ]);
}

test('3 nodes: ring spreads 12 partitions, produce via n1 and consume via n3; a 4th node joins', async (t) => {
  const fleet = new Fleet(t);
  const {
    nodes: [n1, n2, n3],
    seed,
  } = await fleet.startSeeded(['n1', 'n2', 'n3']);
  const three = [n1, n2, n3];
  await waitFor(
    'every node lists n1, n2, n3 alive',
    async () => (await Promise.all(three.map(httpMembers))).every((ms) => hasExactly(ms, ['n1', 'n2', 'n3'])),
    20_000,
  );
  await waitFor(
    'every ring lists three nodes',
    async () => (await Promise.all(three.map(ringOf))).every((r) => r?.nodes.length === 3),
    20_000,
  );

  const created = await ctl([
    'topics',
    'create',
    TOPIC,
    '--partitions',
    String(PARTITIONS),
    '--broker',
    `127.0.0.1:${n1.port}`,
  ]);
  assert.equal(created.code, 0, created.stderr);

  const rings = await waitFor(
    'all three rings agree on the owners of 12 partitions',
    async () => {
      const rs = await Promise.all(three.map(ringOf));
      return agree(rs, TOPIC, PARTITIONS, 3) ? (rs as RingBody[]) : undefined;
    },
    20_000,
  );
  const owners = ownersOf(rings[0]!, TOPIC);
  const perNode = new Map<string, number>();
  for (const o of owners.values()) perNode.set(o!, (perNode.get(o!) ?? 0) + 1);
  assert.deepEqual([...perNode.keys()].sort(), ['n1', 'n2', 'n3'], 'every node owns partitions');
  for (const [node, n] of perNode) assert.ok(n <= rings[0]!.replicaCapacity, `${node} holds ${n} > capacity`);
  for (const p of rings[0]!.partitions)
    assert.equal(p.owner, p.preferredLeader, 'no data yet: ring owner serves');

  // Produce through n1 only: the SDK follows metadata to each partition's owner.
  const sent = new Set<string>();
  const runs = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, p) => {
      const lines = Array.from({ length: PER_PARTITION }, (_, i) => `p${p}-m${i}`);
      for (const l of lines) sent.add(l);
      return ctlWithInput(
        ['produce', TOPIC, '--partition', String(p), '--json', '--broker', `127.0.0.1:${n1.port}`],
        `${lines.join('\n')}\n`,
      );
    }),
  );
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { acked: number; failed: number };
    assert.equal(summary.acked, PER_PARTITION);
    assert.equal(summary.failed, 0);
  }

  // Each partition's log is open only on its owner and holds exactly what was produced to it.
  for (const n of three) {
    const d = (await (await fetch(`http://${n.http}/v1/topics/${TOPIC}`)).json()) as DescribeBody;
    for (const p of d.partitions) {
      assert.equal(
        p.leader,
        owners.get(p.partition),
        `describe on ${n.opts.nodeName}: owner of ${p.partition}`,
      );
      if (p.leader === n.opts.nodeName) assert.equal(p.highWatermark, PER_PARTITION);
      else assert.equal(p.highWatermark, -1, `${n.opts.nodeName} must not open ${TOPIC}/${p.partition}`);
    }
  }

  // Consume everything through n3.
  const total = PARTITIONS * PER_PARTITION;
  const consumed = await consumeAll(n3, total);
  assert.equal(consumed.code, 0, consumed.stderr);
  const got = consumed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { partition: number; value: string });
  assert.equal(got.length, total);
  assert.deepEqual(new Set(got.map((m) => m.value)), sent);
  for (const m of got) assert.equal(m.value.split('-')[0], `p${m.partition}`);

  // A fourth node joins: the ring gives it about a quarter, and every node shows it.
  const n4 = await fleet.start({ nodeName: 'n4', args: seed });
  await n4.ready();
  const four = [n1, n2, n3, n4];
  const after = await waitFor(
    'all four rings agree and include n4',
    async () => {
      const rs = await Promise.all(four.map(ringOf));
      return agree(rs, TOPIC, PARTITIONS, 4) ? (rs as RingBody[]) : undefined;
    },
    30_000,
  );
  const ringAfter = after[0]!.partitions.filter((p) => p.topic === TOPIC);
  const toN4 = ringAfter.filter((p) => p.preferredLeader === 'n4').length;
  const moved = ringAfter.filter(
    (p) =>
      p.preferredLeader !==
      rings[0]!.partitions.find((q) => q.topic === TOPIC && q.partition === p.partition)!.preferredLeader,
  ).length;
  // Placement replays members in join order, so the newcomer takes exactly its share from the
  // others and nothing else moves: 3 of 12.
  assert.equal(toN4, PARTITIONS / 4, `n4 got ${toN4} of 12 ring partitions`);
  assert.equal(moved, PARTITIONS / 4, `a join moved ${moved} of 12 partitions`);
  // RF=1 and no replication yet: partitions with data stay served where their data is.
  for (const p of ringAfter) {
    assert.equal(p.owner, owners.get(p.partition), `${TOPIC}/${p.partition} keeps its serving node`);
    assert.equal(p.sticky, p.owner !== p.preferredLeader);
  }
  for (const n of four) {
    const r = await ctl(['cluster', 'ring', '--json', '--http', n.http]);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as RingBody;
    assert.deepEqual(
      body.nodes.map((x) => x.name).sort(),
      ['n1', 'n2', 'n3', 'n4'],
      `ring on ${n.opts.nodeName}`,
    );
  }
  // And everything is still readable through the newcomer.
  const again = await consumeAll(n4, total);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim().split('\n').length, total);

  // n4 dies: after the grace period it is departed on every node. It keeps its place in the join
  // order, so exactly its 3 ring partitions go elsewhere and the other 9 stay where they were.
  await n4.kill('SIGKILL');
  let last: (RingBody | undefined)[] = [];
  const gone = await waitFor(
    'every ring lists n4 as departed',
    async () => {
      const rs = await Promise.all(three.map(ringOf));
      last = rs;
      const ok = rs.every((r) => r?.nodes.length === 3 && r.departed.some((d) => d.name === 'n4'));
      return ok && agree(rs, TOPIC, PARTITIONS, 3) ? (rs as RingBody[]) : undefined;
    },
    30_000,
  ).catch(async (err: Error) => {
    const ms = await httpMembers(n1).catch(() => []);
    throw new Error(
      `${err.message}; members on n1: ${JSON.stringify(ms)}; last rings: ${JSON.stringify(last.map((r) => r && { nodes: r.nodes.map((x) => x.name), departed: r.departed, owners: [...ownersOf(r, TOPIC)] }))}`,
    );
  });
  const ringGone = gone[0]!.partitions.filter((p) => p.topic === TOPIC);
  for (const p of ringGone) {
    const before = ringAfter.find((q) => q.partition === p.partition)!.preferredLeader;
    if (before === 'n4') assert.notEqual(p.preferredLeader, 'n4');
    else assert.equal(p.preferredLeader, before, `${TOPIC}/${p.partition} stays on ${before}`);
  }
  // Forgetting it for good is an operator action, seen by every node.
  const forgot = await ctl(['cluster', 'forget', 'n4', '--http', n2.http]);
  assert.equal(forgot.code, 0, forgot.stderr);
  assert.match(forgot.stdout, /forgot n4/);
  await waitFor(
    'no ring lists n4 any more',
    async () => (await Promise.all(three.map(ringOf))).every((r) => r && r.departed.length === 0),
    20_000,
  );
  const again4 = await ctl(['cluster', 'forget', 'n4', '--http', n1.http]);
  assert.equal(again4.code, 1);
  assert.match(again4.stderr, /UNKNOWN_NODE|not in the cluster roster/);
  const live = await ctl(['cluster', 'forget', 'n1', '--http', n1.http]);
  assert.notEqual(live.code, 0);
  assert.match(live.stderr, /live member/);
});

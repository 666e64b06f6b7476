import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGregorError } from '../../src/errors.js';
import {
  computePlacement,
  diffPlacements,
  loadStats,
  ownerOf,
  type Placement,
  type PlacementMember,
  type PlacementTopic,
  partitionsOf,
} from '../../src/placement/index.js';
import { seededRandom } from '../helpers/seeded-random.js';

// Seeded PRNG so a failing property case reproduces.
const rng = seededRandom;
function shuffle<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
/** Members node-0..node-(n-1), joined in that order (as their persisted join times would say). */
const nodes = (n: number, zones = 0): PlacementMember[] =>
  Array.from({ length: n }, (_, i) =>
    zones ? { id: `node-${i}`, zone: `z${i % zones}`, joinedAt: i } : { id: `node-${i}`, joinedAt: i },
  );

/** The simulation workload: 10 topics x 100 partitions = 1,000 partitions at RF=3 (as in bench/). */
const SIM_TOPICS: PlacementTopic[] = Array.from({ length: 10 }, (_, i) => ({
  name: `topic-${i}`,
  partitions: 100,
  replicationFactor: 3,
}));
const SIM_N = [5, 7, 10, 16, 25, 50, 100];
const joinRatio = (n: number, joiner: string): number => {
  const before = computePlacement(nodes(n), SIM_TOPICS);
  const after = computePlacement([...nodes(n), { id: joiner, joinedAt: n }], SIM_TOPICS);
  return diffPlacements(before, after).movedReplicas / (3000 / (n + 1));
};

function assertWellFormed(p: Placement, members: readonly PlacementMember[]): void {
  const ids = new Set(members.map((m) => m.id));
  const load = new Map<string, number>();
  for (const a of p.partitions) {
    assert.equal(new Set(a.replicas).size, a.replicas.length, `${a.topic}/${a.partition} repeats a node`);
    assert.equal(a.replicas.length, Math.min(a.replicationFactor, ids.size));
    assert.equal(a.underReplicated, a.replicas.length < a.replicationFactor);
    for (const r of a.replicas) {
      assert.ok(ids.has(r), `unknown node ${r}`);
      load.set(r, (load.get(r) ?? 0) + 1);
    }
  }
  for (const [id, l] of p.loads) assert.equal(l.replicas, load.get(id) ?? 0, `load of ${id}`);
}

test('simulation: max/mean replicas per node <= 1.10 for N = 5..100, 1,000 partitions at RF=3', () => {
  for (const n of SIM_N) {
    const p = computePlacement(nodes(n), SIM_TOPICS);
    assertWellFormed(p, nodes(n));
    const s = loadStats(p);
    assert.ok(s.replicaMaxOverMean <= 1.1 + 1e-9, `N=${n}: max/mean ${s.replicaMaxOverMean}`);
    assert.equal(p.overCapacity, false);
    assert.ok(s.leaderMaxOverMean <= 1.1 + 1e-9, `N=${n}: leader max/mean ${s.leaderMaxOverMean}`);
  }
});

test('simulation: a join moves <= 1.25x the ideal 1/(N+1) of replicas for N = 5..100', () => {
  for (const n of SIM_N) {
    for (const joiner of ['joiner-0', 'joiner-1', 'joiner-2']) {
      const r = joinRatio(n, joiner);
      // Measured 0.99-1.04x (bench/placement-sim.ts); the lower bound catches a join that takes nothing.
      assert.ok(r <= 1.25 && r >= 0.9, `N=${n} ${joiner}: moved ${r.toFixed(3)}x ideal`);
    }
  }
});

test('simulation: a departed node hands over exactly what it held, and gets it back on return', () => {
  for (const n of [10, 50, 100]) {
    const members = nodes(n);
    const before = computePlacement(members, SIM_TOPICS);
    for (const g of [0, Math.floor(n / 2), n - 1]) {
      const gone = `node-${g}`;
      const departed = members.map((m) => (m.id === gone ? { ...m, departed: true } : m));
      const after = computePlacement(departed, SIM_TOPICS);
      assertWellFormed(
        after,
        members.filter((m) => m.id !== gone),
      );
      assert.ok(!after.members.includes(gone));
      const held = before.loads.get(gone)!.replicas;
      const d = diffPlacements(before, after);
      assert.equal(d.movedReplicas, held, `N=${n}: ${gone} held ${held}, ${d.movedReplicas} moved`);
      for (const ch of d.changes) assert.deepEqual(ch.removed, ch.added.length ? [gone] : []);
      assert.ok(loadStats(after).replicaMaxOverMean <= 1.1 + 1e-9);
      // Back again (same id, same join time): exactly the old placement.
      assert.deepEqual(computePlacement(members, SIM_TOPICS).partitions, before.partitions);
    }
  }
});

test('creating a topic or adding partitions moves no other topic', () => {
  const members = nodes(20);
  const topics = SIM_TOPICS.map((t, i) => ({ ...t, createdAt: 1000 + i }));
  const before = computePlacement(members, topics);
  // Sorts first by name but was created last: placed last, so nothing earlier changes.
  const created = computePlacement(members, [
    ...topics,
    { name: 'aaa', partitions: 64, replicationFactor: 3, createdAt: 5000 },
  ]);
  const d = diffPlacements(before, created);
  assert.equal(d.movedReplicas, 0);
  assert.equal(d.created.length, 64);
  const grown = computePlacement(
    members,
    topics.map((t) => (t.name === 'topic-9' ? { ...t, partitions: 120 } : t)),
  );
  const g = diffPlacements(before, grown);
  // Only preferred leaders elsewhere may shift (no data moves with them).
  assert.ok(g.changes.every((ch) => ch.topic === 'topic-9' || ch.added.length === 0));
});

test('join order: unknown join times sort last, ties by id, and order changes the result deterministically', () => {
  const topics = [{ name: 'o', partitions: 60, replicationFactor: 2 }];
  const a = computePlacement([{ id: 'x' }, { id: 'y', joinedAt: 5 }, { id: 'z', joinedAt: 5 }], topics);
  const b = computePlacement([{ id: 'z', joinedAt: 5 }, { id: 'x' }, { id: 'y', joinedAt: 5 }], topics);
  assert.deepEqual(a.partitions, b.partitions);
  // x joins last: it takes its share from y and z, both of which hold every partition before.
  const yz = computePlacement(
    [
      { id: 'y', joinedAt: 5 },
      { id: 'z', joinedAt: 5 },
    ],
    topics,
  );
  assert.equal(diffPlacements(yz, a).movedReplicas, a.loads.get('x')!.replicas);
  assert.equal(a.loads.get('x')!.replicas, 40);
});

test('property: RF distinct nodes, distinct zones when zones >= RF, same answer under shuffling', () => {
  const rand = rng(7);
  for (let c = 0; c < 25; c++) {
    const n = 3 + Math.floor(rand() * 20);
    const zones = [0, 2, 3, 4][Math.floor(rand() * 4)]!;
    const members = nodes(n, zones);
    const topics: PlacementTopic[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => ({
      name: `t${c}-${i}`,
      partitions: Math.floor(rand() * 40),
      replicationFactor: 1 + Math.floor(rand() * 3),
    }));
    const p = computePlacement(members, topics);
    assertWellFormed(p, members);
    const q = computePlacement(shuffle(members, rand), shuffle(topics, rand));
    assert.deepEqual(q.partitions, p.partitions, `case ${c}: shuffled input changed the placement`);
    assert.deepEqual([...q.loads], [...p.loads]);
    if (zones >= 3) {
      const zoneOf = new Map(members.map((m) => [m.id, m.zone]));
      for (const a of p.partitions) {
        const z = new Set(a.replicas.map((r) => zoneOf.get(r)));
        assert.equal(z.size, a.replicas.length, `case ${c}: ${a.topic}/${a.partition} shares a zone`);
      }
    }
  }
});

test('property: a node that departs moves exactly its replicas, also with zones and mixed RF', () => {
  const rand = rng(11);
  for (let c = 0; c < 15; c++) {
    const n = 4 + Math.floor(rand() * 30);
    const zones = [0, 3][c % 2]!;
    const members = nodes(n, zones);
    const partitions = 4 * n + Math.floor(rand() * 400);
    const topics: PlacementTopic[] = [
      { name: `leave-${c}`, partitions, replicationFactor: 3 },
      { name: `small-${c}`, partitions: 1 + Math.floor(rand() * 10), replicationFactor: 1 + (c % 3) },
    ];
    const before = computePlacement(members, topics);
    const gone = members[Math.floor(rand() * n)]!.id;
    const after = computePlacement(
      members.map((m) => (m.id === gone ? { ...m, departed: true } : m)),
      topics,
    );
    const held = before.loads.get(gone)!.replicas;
    const d = diffPlacements(before, after);
    const rehomed = d.changes.filter((ch) => ch.removed.includes(gone)).length;
    assert.equal(rehomed, held);
    // Without zones nothing else moves. With them, the zone's other nodes take the leaver's
    // replicas and the load bound may then shift a few of theirs (measured up to 16% extra).
    const limit = zones ? Math.ceil(held * 1.25) : held;
    assert.ok(d.movedReplicas <= limit, `case ${c}: N=${n} moved ${d.movedReplicas} for ${held} held`);
  }
});

test('a departed node forgotten for good reshuffles deterministically (an operator action)', () => {
  const members = nodes(12);
  const rest = members.slice(1);
  const p = computePlacement(rest, SIM_TOPICS);
  assertWellFormed(p, rest);
  assert.deepEqual(computePlacement([...rest].reverse(), SIM_TOPICS).partitions, p.partitions);
  assert.ok(loadStats(p).replicaMaxOverMean <= 1.1 + 1e-9);
});

test('RF above member count places on every member and flags under-replication', () => {
  const p = computePlacement(nodes(2), [{ name: 'big', partitions: 4, replicationFactor: 3 }]);
  for (const a of p.partitions) {
    assert.deepEqual([...a.replicas].sort(), ['node-0', 'node-1']);
    assert.equal(a.underReplicated, true);
  }
  const empty = computePlacement([], [{ name: 'x', partitions: 2, replicationFactor: 1 }]);
  assert.deepEqual(
    empty.partitions.map((a) => a.replicas),
    [[], []],
  );
  assert.equal(ownerOf(empty, 'x', 0), undefined);
});

test('lopsided zones fall back to sharing a zone rather than leaving replicas out', () => {
  const members = [
    { id: 'a', zone: 'big' },
    { id: 'b', zone: 'big' },
    { id: 'c', zone: 'big' },
    { id: 'd', zone: 'tiny' },
  ];
  const p = computePlacement(members, [{ name: 'z', partitions: 60, replicationFactor: 3 }]);
  assertWellFormed(p, members);
  for (const a of p.partitions) assert.equal(a.replicas.length, 3);
});

test('ownerOf, partitionsOf and diffPlacements agree with the assignment', () => {
  const topics = [{ name: 'orders', partitions: 12, replicationFactor: 2 }];
  const p = computePlacement(nodes(3), topics);
  assert.equal(ownerOf(p, 'orders', 5), p.byTopic.get('orders')![5]!.replicas[0]);
  assert.equal(ownerOf(p, 'orders', 12), undefined);
  assert.equal(ownerOf(p, 'nope', 0), undefined);
  let replicas = 0;
  let leaders = 0;
  for (const id of p.members) {
    const mine = partitionsOf(p, id);
    assert.equal(mine.length, p.loads.get(id)!.replicas);
    assert.equal(mine.filter((x) => x.leader).length, p.loads.get(id)!.leaders);
    replicas += mine.length;
    leaders += mine.filter((x) => x.leader).length;
  }
  assert.equal(replicas, 24);
  assert.equal(leaders, 12);
  const same = diffPlacements(p, computePlacement(nodes(3).reverse(), topics));
  assert.deepEqual(same, { changes: [], movedReplicas: 0, leaderChanges: 0, created: [], deleted: [] });
  const grown = computePlacement(nodes(4), [{ name: 'orders', partitions: 14, replicationFactor: 2 }]);
  const d = diffPlacements(p, grown);
  assert.deepEqual(d.created, [
    { topic: 'orders', partition: 12 },
    { topic: 'orders', partition: 13 },
  ]);
  assert.equal(
    d.movedReplicas,
    d.changes.reduce((s, ch) => s + ch.added.length, 0),
  );
  for (const ch of d.changes) assert.equal(ch.added.length, ch.removed.length);
});

test('bad input is refused with the culprit named', () => {
  const bad = (fn: () => unknown, re: RegExp) =>
    assert.throws(
      fn,
      (e: unknown) => isGregorError(e) && e.code === 'INVALID_ARGUMENT' && re.test(e.message),
    );
  bad(
    () => computePlacement(nodes(2), [{ name: 'a', partitions: -1, replicationFactor: 1 }]),
    /topics\[0\]\.partitions/,
  );
  bad(
    () => computePlacement(nodes(2), [{ name: 'a', partitions: 1, replicationFactor: 0 }]),
    /replicationFactor/,
  );
  bad(
    () =>
      computePlacement(nodes(2), [
        { name: 'a', partitions: 1, replicationFactor: 1 },
        { name: 'a', partitions: 2, replicationFactor: 1 },
      ]),
    /'a' twice/,
  );
  bad(() => computePlacement([{ id: 'x' }, { id: 'x' }], []), /duplicate member id 'x'/);
  bad(() => computePlacement(nodes(2), [], { loadFactor: -1 }), /loadFactor/);
  bad(() => computePlacement([{ id: 'x', joinedAt: Number.NaN }], []), /members\[0\]\.joinedAt/);
  bad(
    () =>
      computePlacement(nodes(1), [{ name: 'a', partitions: 1, replicationFactor: 1, createdAt: Infinity }]),
    /topics\[0\]\.createdAt/,
  );
});

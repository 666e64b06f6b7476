/**
 * Placement simulation: balance, leader balance and movement on join, departure, forget and topic
 * creation for N = 3..100 nodes, 1,000 partitions at RF=3, plus computePlacement timings. Members
 * node-0..node-(N-1) joined in that order; a joiner joins last. Prints a markdown table.
 *
 *   npx tsc -p . && node dist/bench/placement-sim.js [--from 3] [--to 100] [--joiners 3]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  computePlacement,
  diffPlacements,
  loadStats,
  type PlacementMember,
  type PlacementOptions,
  type PlacementTopic,
} from '../src/placement/index.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: '3' },
    to: { type: 'string', default: '100' },
    joiners: { type: 'string', default: '3' },
    vnodes: { type: 'string' },
    eps: { type: 'string' },
  },
});
const opts: PlacementOptions = {};
if (values.vnodes) opts.vnodesPerNode = Number(values.vnodes);
if (values.eps) opts.loadFactor = Number(values.eps);

/** The simulation's workload: 10 topics x 100 partitions = 1,000 partitions at RF=3. */
const topics: PlacementTopic[] = Array.from({ length: 10 }, (_, i) => ({
  name: `topic-${i}`,
  partitions: 100,
  replicationFactor: 3,
}));
const totalReplicas = 3000;
const nodes = (n: number): PlacementMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `node-${i}`, joinedAt: i }));
const newTopic: PlacementTopic = {
  name: 'created-later',
  partitions: 100,
  replicationFactor: 3,
  createdAt: 1,
};

const fmt = (x: number) => x.toFixed(3);
console.log(
  `vnodes=${opts.vnodesPerNode ?? 'default'} eps=${opts.loadFactor ?? 'default'} partitions=1000 rf=3`,
);
console.log('');
console.log(
  '| N | max/mean | leader max/mean | join moved/ideal (worst) | departure moved/held (worst) | max/mean after departure | join after a departure moved/ideal | forget moved/held | other topics moved by a create | ms |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
let worstBalance = 0;
let worstJoin = 0;
for (let n = Number(values.from); n <= Number(values.to); n++) {
  const members = nodes(n);
  const t = performance.now();
  const base = computePlacement(members, topics, opts);
  const coldMs = performance.now() - t;
  const s = loadStats(base);
  const joins: number[] = [];
  for (let j = 0; j < Number(values.joiners); j++) {
    const after = computePlacement([...members, { id: `joiner-${j}`, joinedAt: n }], topics, opts);
    joins.push(diffPlacements(base, after).movedReplicas / (totalReplicas / (n + 1)));
  }
  const leaves: number[] = [];
  let afterBalance = 0;
  let joinAfter = 0;
  for (const gone of new Set([0, Math.floor(n / 2), n - 1])) {
    const departed = members.map((m, i) => (i === gone ? { ...m, departed: true } : m));
    const after = computePlacement(departed, topics, opts);
    const held = base.loads.get(`node-${gone}`)!.replicas;
    if (held > 0) leaves.push(diffPlacements(base, after).movedReplicas / held);
    afterBalance = Math.max(afterBalance, loadStats(after).replicaMaxOverMean);
    const rejoin = computePlacement([...departed, { id: 'replacement', joinedAt: n }], topics, opts);
    joinAfter = Math.max(joinAfter, diffPlacements(after, rejoin).movedReplicas / (totalReplicas / n));
  }
  const forgotten = computePlacement(members.slice(1), topics, opts);
  const forget = diffPlacements(base, forgotten).movedReplicas / base.loads.get('node-0')!.replicas;
  const created = diffPlacements(base, computePlacement(members, [...topics, newTopic], opts)).movedReplicas;
  const jw = Math.max(...joins);
  worstBalance = Math.max(worstBalance, s.replicaMaxOverMean);
  worstJoin = Math.max(worstJoin, jw);
  console.log(
    `| ${n} | ${fmt(s.replicaMaxOverMean)} | ${fmt(s.leaderMaxOverMean)} | ${fmt(jw)} | ` +
      `${leaves.length ? fmt(Math.max(...leaves)) : '-'} | ${fmt(afterBalance)} | ${fmt(joinAfter)} | ` +
      `${fmt(forget)} | ${created} | ${coldMs.toFixed(1)} |`,
  );
}
console.log('');
console.log(`worst max/mean ${fmt(worstBalance)}, worst join moved/ideal ${fmt(worstJoin)}`);

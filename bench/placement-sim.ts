/**
 * Placement simulation: balance, leader balance and movement on join/leave for N = 3..100 nodes,
 * 1,000 partitions at RF=3, plus computePlacement timings. Prints a markdown table.
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
const nodes = (n: number): PlacementMember[] => Array.from({ length: n }, (_, i) => ({ id: `node-${i}` }));

const fmt = (x: number) => x.toFixed(3);
console.log(
  `vnodes=${opts.vnodesPerNode ?? 'default'} eps=${opts.loadFactor ?? 'default'} partitions=1000 rf=3`,
);
console.log('');
console.log(
  '| N | max/mean | leader max/mean | join moved/ideal (worst) | join mean | leave moved/ideal (worst) | cold ms | warm ms |',
);
console.log('|---|---|---|---|---|---|---|---|');
let worstBalance = 0;
let worstJoin = 0;
for (let n = Number(values.from); n <= Number(values.to); n++) {
  const members = nodes(n);
  let t = performance.now();
  const base = computePlacement(members, topics, opts);
  const coldMs = performance.now() - t;
  t = performance.now();
  computePlacement([...members].reverse(), topics, opts);
  const warmMs = performance.now() - t;
  const s = loadStats(base);
  const joins: number[] = [];
  for (let j = 0; j < Number(values.joiners); j++) {
    const after = computePlacement([...members, { id: `joiner-${j}` }], topics, opts);
    joins.push(diffPlacements(base, after).movedReplicas / (totalReplicas / (n + 1)));
  }
  const leaves: number[] = [];
  for (const gone of new Set([0, Math.floor(n / 2), n - 1])) {
    const after = computePlacement(
      members.filter((_, i) => i !== gone),
      topics,
      opts,
    );
    const held = base.loads.get(`node-${gone}`)!.replicas;
    leaves.push(diffPlacements(base, after).movedReplicas / held);
  }
  const jw = Math.max(...joins);
  worstBalance = Math.max(worstBalance, s.replicaMaxOverMean);
  worstJoin = Math.max(worstJoin, jw);
  console.log(
    `| ${n} | ${fmt(s.replicaMaxOverMean)} | ${fmt(s.leaderMaxOverMean)} | ${fmt(jw)} | ` +
      `${fmt(joins.reduce((a, b) => a + b, 0) / joins.length)} | ${fmt(Math.max(...leaves))} | ` +
      `${coldMs.toFixed(1)} | ${warmMs.toFixed(1)} |`,
  );
}
console.log('');
console.log(`worst max/mean ${fmt(worstBalance)}, worst join moved/ideal ${fmt(worstJoin)}`);

/**
 * Membership simulation in virtual time: rounds until a new node is known to all, seconds until a
 * crashed node is convicted by all, and false convictions over ten virtual minutes at 1% loss.
 * Run: `npx tsc -p . && node dist/bench/cluster-sim.js` (add GREGOR_SIM_LARGE=1 for N = 1000).
 */

import { SimCluster } from '../src/cluster/sim-cluster.js';

interface Row {
  n: number;
  bootConvergeS: number | undefined;
  joinRounds: number | undefined;
  joinS: number | undefined;
  convictS: number | undefined;
  falseConvictions: number;
  soakMin: number;
  wallS: number;
}

function measure(n: number, seed: number, soakMs: number): Row {
  const wall = performance.now();
  const sim = new SimCluster({ seed, dropRate: 0.01 });
  sim.addMany(n);
  const bootConvergeMs = sim.runUntil(() => sim.converged(), 120_000, 50);
  sim.runFor(10_000); // let detectors learn the rhythm
  const joiner = sim.add('joiner', [sim.randomUpNode().id]);
  const joinMs = sim.runUntil(() => sim.allKnow(joiner.id), 60_000, 10);
  sim.runFor(5_000);
  const victim = sim.randomUpNode([joiner.id]).id;
  sim.crash(victim);
  const convictMs = sim.runUntil(() => sim.allConvict(victim), 60_000, 10);
  // Soak: count convictions of nodes that are actually up.
  let falseConvictions = 0;
  for (const node of sim.upNodes()) {
    node.membership.on('liveness-changed', (id, _from, to) => {
      if (to === 'dead' && sim.get(id).up) falseConvictions++;
    });
  }
  sim.runFor(soakMs);
  return {
    n,
    bootConvergeS: bootConvergeMs === undefined ? undefined : bootConvergeMs / 1000,
    joinRounds: joinMs === undefined ? undefined : joinMs / sim.intervalMs,
    joinS: joinMs === undefined ? undefined : joinMs / 1000,
    convictS: convictMs === undefined ? undefined : convictMs / 1000,
    falseConvictions,
    soakMin: soakMs / 60_000,
    wallS: (performance.now() - wall) / 1000,
  };
}

const sizes = [10, 100];
if (process.env.GREGOR_SIM_LARGE === '1') sizes.push(1000);
// Ten virtual minutes cost ~80 s of CPU at N = 100 and ~100x that at N = 1000, so the large
// case soaks one minute unless GREGOR_SIM_SOAK_MS says otherwise.
const soakFor = (n: number) => Number(process.env.GREGOR_SIM_SOAK_MS ?? (n >= 1000 ? 60_000 : 600_000));
console.log('gossip 500 ms, detector preset lan, 1% message loss, latency 1-3 ms');
console.log('nodes | target rounds | join rounds | join s | convict s | false convictions (soak) | wall s');
for (const n of sizes) {
  const r = measure(n, 42, soakFor(n));
  const target = 2 * Math.log2(n);
  console.log(
    `n=${String(r.n).padEnd(4)} | ${target.toFixed(1).padStart(5)} | ${fmt(r.joinRounds)} | ${fmt(r.joinS)} | ${fmt(
      r.convictS,
    )} | ${r.falseConvictions} (${r.soakMin} min) | ${r.wallS.toFixed(1)}`,
  );
}

function fmt(x: number | undefined): string {
  return x === undefined ? 'never' : x.toFixed(2).padStart(6);
}

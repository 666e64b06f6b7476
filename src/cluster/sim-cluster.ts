/**
 * A whole cluster of Membership instances on the in-memory network, in virtual time. Used by the
 * simulation tests and `bench/cluster-sim.ts`, and meant for the placement layer's simulations:
 * start N nodes, crash, restart, pause or partition them, and run until a condition holds.
 */

import { seededRandom, type VirtualClock, VirtualScheduler } from './clock.js';
import { MemoryGenerationStore } from './generation-store.js';
import { Membership } from './membership.js';
import { MemoryNetwork, type MemoryTransport } from './memory-transport.js';
import { DETECTOR_PRESETS, type PhiAccrualOptions } from './phi-accrual.js';

/** Options of a simulated cluster. */
export interface SimClusterOptions {
  /** Seed of every random choice, so a run is reproducible. Default 1. */
  seed?: number;
  /** Gossip round period (ms). Default 500. */
  gossipIntervalMs?: number;
  /** Live peers per round. Default 3. */
  gossipFanout?: number;
  /** Detector parameters. Default DETECTOR_PRESETS.lan. */
  detector?: PhiAccrualOptions;
  /** Message loss probability. Default 0. */
  dropRate?: number;
  /** One-way latency (ms). Default 1. */
  latencyMs?: number;
  /** Latency jitter (ms). Default 2. */
  jitterMs?: number;
  /** Simulated mDNS: every node discovers every other. Default false (seeds only). */
  mdns?: boolean;
}

/** One simulated node. */
export interface SimNode {
  id: string;
  membership: Membership;
  transport: MemoryTransport;
  clock: VirtualClock;
  generations: MemoryGenerationStore;
  /** False after `crash` until `restart`. */
  up: boolean;
}

/** A simulated cluster in virtual time. */
export class SimCluster {
  /** The scheduler; `run*` methods advance it. */
  readonly scheduler = new VirtualScheduler();
  /** The network; change its knobs any time. */
  readonly network: MemoryNetwork;
  /** Every node ever added, crashed ones included. */
  readonly nodes = new Map<string, SimNode>();
  private readonly random: () => number;
  private readonly opts: SimClusterOptions;

  constructor(opts: SimClusterOptions = {}) {
    this.opts = opts;
    this.random = seededRandom(opts.seed ?? 1);
    this.network = new MemoryNetwork({
      scheduler: this.scheduler,
      latencyMs: opts.latencyMs ?? 1,
      jitterMs: opts.jitterMs ?? 2,
      dropRate: opts.dropRate ?? 0,
      random: seededRandom((opts.seed ?? 1) * 7919 + 1),
    });
  }

  /** Gossip interval in use (ms). */
  get intervalMs(): number {
    return this.opts.gossipIntervalMs ?? 500;
  }

  /** Adds and starts node `id` with the given seed ids. */
  add(id: string, seeds: string[] = []): SimNode {
    if (this.nodes.has(id)) throw new Error(`node ${id} already exists`);
    const node: SimNode = {
      id,
      clock: this.scheduler.createClock(),
      generations: new MemoryGenerationStore(),
      up: false,
      membership: undefined as unknown as Membership,
      transport: undefined as unknown as MemoryTransport,
    };
    this.nodes.set(id, node);
    this.boot(node, seeds);
    return node;
  }

  /** Adds `n` nodes named n0..n(n-1), each seeded with n0 (the first has no seed). */
  addMany(n: number, prefix = 'n'): SimNode[] {
    const out: SimNode[] = [];
    for (let i = 0; i < n; i++) out.push(this.add(`${prefix}${i}`, i === 0 ? [] : [`${prefix}0`]));
    return out;
  }

  /** Stops a node without a LEFT announcement (kill -9). */
  crash(id: string): void {
    const node = this.get(id);
    node.membership.stop();
    void node.transport.stop();
    node.up = false;
  }

  /** Boots a crashed node again: same id, next generation. */
  restart(id: string, seeds: string[] = []): SimNode {
    const node = this.get(id);
    if (node.up) this.crash(id);
    this.boot(node, seeds);
    return node;
  }

  /** Stalls a node's event loop for `ms` (SIGSTOP/SIGCONT). */
  pause(id: string, ms: number): void {
    this.get(id).clock.pause(ms);
  }

  /** Running nodes. */
  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** True when every running node other than `id` knows `id` (at `generation`, if given). */
  allKnow(id: string, generation?: number): boolean {
    for (const n of this.upNodes()) {
      if (n.id === id) continue;
      const m = n.membership.member(id);
      if (!m || (generation !== undefined && m.generation < generation)) return false;
    }
    return true;
  }

  /** True when every running node judges `id` dead. */
  allConvict(id: string): boolean {
    for (const n of this.upNodes()) {
      if (n.id !== id && n.membership.member(id)?.liveness !== 'dead') return false;
    }
    return true;
  }

  /** True when every running node knows every other running node. */
  converged(): boolean {
    const up = this.upNodes();
    for (const n of up) {
      for (const o of up) if (n !== o && !n.membership.member(o.id)) return false;
    }
    return true;
  }

  /** Runs virtual time until `predicate` holds or `maxMs` passes; returns elapsed ms or undefined. */
  runUntil(predicate: () => boolean, maxMs: number, stepMs = 10): number | undefined {
    const start = this.scheduler.now();
    const at = this.scheduler.runUntilTrue(predicate, maxMs, stepMs);
    return at === undefined ? undefined : at - start;
  }

  /** Runs virtual time for `ms`. */
  runFor(ms: number): void {
    this.scheduler.runFor(ms);
  }

  /** A uniformly random running node (from the cluster's seeded random source). */
  randomUpNode(exclude: string[] = []): SimNode {
    const up = this.upNodes().filter((n) => !exclude.includes(n.id));
    const n = up[Math.floor(this.random() * up.length)];
    if (!n) throw new Error('no running node to pick');
    return n;
  }

  /** Node by id; throws if unknown. */
  get(id: string): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private boot(node: SimNode, seeds: string[]): void {
    node.transport = this.network.createTransport(node.id, {
      clock: node.clock,
      seeds,
      mdns: this.opts.mdns ?? false,
    });
    const generation = node.generations.nextSync();
    node.membership = new Membership({
      transport: node.transport,
      clock: node.clock,
      clusterName: 'sim',
      generation,
      gossipIntervalMs: this.intervalMs,
      gossipFanout: this.opts.gossipFanout ?? 3,
      detector: this.opts.detector ?? DETECTOR_PRESETS.lan,
      random: seededRandom(Math.floor(this.random() * 2 ** 32)),
      initialKeys: { name: node.id },
    });
    void node.transport.start();
    node.membership.start();
    node.up = true;
  }
}

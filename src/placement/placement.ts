import { GregorError } from '../errors.js';
import { ClaimQueue } from './claim-queue.js';
import {
  compareIds,
  createRing,
  DEFAULT_VNODES_PER_NODE,
  type HashRing,
  ringDistance,
  ringPosition,
  successorIndex,
} from './hash-ring.js';

/**
 * Partition placement: consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam
 * 2016), a pure function of (members, topics) so every node derives the same map from the same
 * gossip state.
 *
 * How it runs, and why in this order:
 * 1. Members are sorted by id and topics by name; partitions get ordinals in (topic, index) order.
 *    Input order therefore never matters.
 * 2. Each partition hashes `${topic}/${partition}` onto the ring and walks clockwise. Instead of
 *    handling partitions one after another (the paper's sequential insertion), all walks advance
 *    together in order of ring distance: the globally nearest (partition, vnode) pair is decided
 *    first. A node thus keeps the partitions nearest its vnodes and spills the farthest ones when it
 *    reaches capacity. A newcomer's vnodes cut exactly those far ends off existing arcs, so a join
 *    mostly takes partitions that were spilled anyway; measured, this moves fewer replicas than
 *    hash-priority or replica-rank orders (see docs/benchmarks.md).
 * 3. A vnode is accepted when its node is not yet a replica, is below the replica capacity
 *    max(ceil(avg), floor((1 + loadFactor) * avg)), and (while the partition has not yet used every
 *    zone) sits in a zone the partition does not use yet. Floor rather than the paper's ceil keeps
 *    max/mean <= 1 + loadFactor exactly.
 * 4. Partitions the walk could not complete (zones too lopsided, or every node with room is already
 *    a replica) first get their missing zones from the least-loaded node there, even above
 *    capacity, then a second walk without the zone rule, then least-loaded distinct nodes.
 * 5. Leaders are chosen the same way among each partition's replicas: (replica, distance) pairs in
 *    distance order, a node taking leadership while below the leader capacity. Moving a leader moves
 *    no data, so this step never changes replica sets.
 */

/** A node that counts for placement (the caller filters out dead and leaving nodes). */
export interface PlacementMember {
  /** Stable node id (the libp2p peer id). */
  id: string;
  /** Failure domain (rack, availability zone); replicas spread over distinct zones first. */
  zone?: string;
}

/** A topic as placement sees it. */
export interface PlacementTopic {
  /** Topic name; partition keys are `${name}/${partition}`. */
  name: string;
  /** Number of partitions, 0 or more. */
  partitions: number;
  /** Wanted replicas per partition, 1 or more. */
  replicationFactor: number;
}

/** Tuning knobs; the defaults meet the simulation targets in test/placement. */
export interface PlacementOptions {
  /** Virtual nodes per member (default DEFAULT_VNODES_PER_NODE). */
  vnodesPerNode?: number;
  /** eps of the replica bound: no node holds more than (1 + eps) * average replicas (default 0.1). */
  loadFactor?: number;
  /** eps of the leader bound, same rule over preferred leaders (default 0.1). */
  leaderLoadFactor?: number;
}

/** Default eps for replica load: max/mean <= 1.10. */
export const DEFAULT_LOAD_FACTOR = 0.1;
/** Default eps for preferred-leader load. */
export const DEFAULT_LEADER_LOAD_FACTOR = 0.1;

/** Where one partition lives. */
export interface PartitionAssignment {
  /** Topic name. */
  readonly topic: string;
  /** Partition index within the topic. */
  readonly partition: number;
  /** Distinct node ids; replicas[0] is the preferred leader. */
  readonly replicas: readonly string[];
  /** The topic's wanted replication factor. */
  readonly replicationFactor: number;
  /** True when fewer members exist than the replication factor asks for. */
  readonly underReplicated: boolean;
}

/** How much one node carries. */
export interface NodeLoad {
  /** Replicas (leader or follower) placed on the node. */
  replicas: number;
  /** Partitions whose preferred leader is the node. */
  leaders: number;
}

/** The result of computePlacement. */
export interface Placement {
  /** Member ids, sorted. */
  readonly members: readonly string[];
  /** Every partition, ordered by topic name then partition index. */
  readonly partitions: readonly PartitionAssignment[];
  /** Same assignments grouped by topic, indexed by partition. */
  readonly byTopic: ReadonlyMap<string, readonly PartitionAssignment[]>;
  /** Load per member, in member order (members with nothing placed show zeros). */
  readonly loads: ReadonlyMap<string, NodeLoad>;
  /** Bound used for replicas per node. */
  readonly replicaCapacity: number;
  /** Bound used for preferred leaders per node. */
  readonly leaderCapacity: number;
  /** True when a fallback had to place replicas above replicaCapacity (only in degenerate inputs). */
  readonly overCapacity: boolean;
}

/** Upper bound per node: at most (1 + eps) * avg, but never below what is needed to fit everything. */
export function boundedCapacity(total: number, nodes: number, eps: number): number {
  if (nodes === 0) return 0;
  const avg = total / nodes;
  // The 1e-9 absorbs float noise such as 1.1 * 30 = 33.000000000000004 or 32.999999999999996.
  return Math.max(Math.ceil(avg - 1e-9), Math.floor((1 + eps) * avg + 1e-9));
}

interface Work {
  readonly ring: HashRing;
  readonly zoneOf: Int32Array;
  readonly zoneCount: number;
  readonly hash: Float64Array;
  readonly start: Int32Array;
  readonly want: Int32Array;
  readonly replicas: number[][];
  readonly claimDist: number[][];
  readonly load: Int32Array;
  capacity: number;
}

function validateTopics(topics: readonly PlacementTopic[]): PlacementTopic[] {
  if (!Array.isArray(topics)) throw new GregorError('INVALID_ARGUMENT', 'topics must be an array');
  topics.forEach((t, i) => {
    if (typeof t?.name !== 'string' || t.name.length === 0) {
      throw new GregorError('INVALID_ARGUMENT', `topics[${i}].name must be a non-empty string`);
    }
    if (!Number.isInteger(t.partitions) || t.partitions < 0) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `topics[${i}].partitions (topic '${t.name}') must be a non-negative integer, got ${t.partitions}`,
      );
    }
    if (!Number.isInteger(t.replicationFactor) || t.replicationFactor < 1) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `topics[${i}].replicationFactor (topic '${t.name}') must be a positive integer, got ${t.replicationFactor}`,
      );
    }
  });
  const sorted = [...topics].sort((a, b) => compareIds(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.name === sorted[i - 1]!.name) {
      throw new GregorError('INVALID_ARGUMENT', `topics contain '${sorted[i]!.name}' twice`);
    }
  }
  return sorted;
}

function checkFactor(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new GregorError('INVALID_ARGUMENT', `${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/** Runs every incomplete partition's ring walk together, in order of distance (see file comment). */
function walkPass(w: Work, useZones: boolean): void {
  const { capacity, ring, zoneOf, zoneCount, hash, start, want, replicas, claimDist, load } = w;
  const vnodes = ring.positions.length;
  const queue = new ClaimQueue();
  for (let p = 0; p < want.length; p++) {
    if (replicas[p]!.length < want[p]!) queue.push(ringDistance(hash[p]!, ring.positions[start[p]!]!), p, 0);
  }
  const usedZones: number[] = [];
  while (queue.size > 0) {
    const { dist, part: p, step } = queue.pop();
    const reps = replicas[p]!;
    const node = ring.owners[(start[p]! + step) % vnodes]!;
    if (load[node]! < capacity && !reps.includes(node)) {
      let ok = true;
      if (useZones) {
        usedZones.length = 0;
        for (const r of reps) if (!usedZones.includes(zoneOf[r]!)) usedZones.push(zoneOf[r]!);
        ok = usedZones.length >= zoneCount || !usedZones.includes(zoneOf[node]!);
      }
      if (ok) {
        reps.push(node);
        claimDist[p]!.push(dist);
        load[node]!++;
      }
    }
    // One lap at most: past that every vnode has been seen, so the walk cannot succeed.
    if (reps.length < want[p]! && step + 1 < vnodes) {
      const next = (start[p]! + step + 1) % vnodes;
      queue.push(ringDistance(hash[p]!, ring.positions[next]!), p, step + 1);
    }
  }
}

/**
 * Fallback for lopsided inputs: least-loaded distinct nodes, ties to the lower node index. With
 * `zonesOnly` it only adds replicas in zones the partition lacks, and stops once every zone is used:
 * zone spread (surviving a zone outage) outranks the load bound.
 */
function leastLoadedPass(w: Work, zonesOnly: boolean): boolean {
  let over = false;
  const n = w.ring.nodes.length;
  for (let p = 0; p < w.want.length; p++) {
    const reps = w.replicas[p]!;
    while (reps.length < w.want[p]!) {
      const used = new Set(reps.map((r) => w.zoneOf[r]!));
      if (zonesOnly && used.size >= w.zoneCount) break;
      let best = -1;
      for (let node = 0; node < n; node++) {
        if (reps.includes(node) || (zonesOnly && used.has(w.zoneOf[node]!))) continue;
        if (best < 0 || w.load[node]! < w.load[best]!) best = node;
      }
      if (best < 0) break;
      reps.push(best);
      // Sorts after every real walk claim, so a fallback replica is never preferred as leader.
      w.claimDist[p]!.push(Number.MAX_SAFE_INTEGER);
      w.load[best]!++;
      if (w.load[best]! > w.capacity) over = true;
    }
  }
  return over;
}

/** Picks each partition's preferred leader under the leader bound; returns its index in replicas. */
function chooseLeaders(w: Work, leaderCapacity: number): { leaderIdx: Int32Array; leaders: Int32Array } {
  const parts = w.replicas.length;
  const leaderIdx = new Int32Array(parts).fill(-1);
  const leaders = new Int32Array(w.ring.nodes.length);
  const pairs: [number, number, number][] = [];
  for (let p = 0; p < parts; p++) {
    w.claimDist[p]!.forEach((d, i) => {
      pairs.push([d, p, i]);
    });
  }
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  for (const [, p, i] of pairs) {
    const node = w.replicas[p]![i]!;
    if (leaderIdx[p] === -1 && leaders[node]! < leaderCapacity) {
      leaderIdx[p] = i;
      leaders[node]!++;
    }
  }
  for (let p = 0; p < parts; p++) {
    const reps = w.replicas[p]!;
    if (leaderIdx[p] !== -1 || reps.length === 0) continue;
    let best = 0;
    for (let i = 1; i < reps.length; i++) if (leaders[reps[i]!]! < leaders[reps[best]!]!) best = i;
    leaderIdx[p] = best;
    leaders[reps[best]!]!++;
  }
  return { leaderIdx, leaders };
}

/**
 * Places every partition of `topics` on `members`. Pure and deterministic: the same member set and
 * topic set give the same result whatever their order. Throws INVALID_ARGUMENT naming the bad field.
 */
export function computePlacement(
  members: readonly PlacementMember[],
  topics: readonly PlacementTopic[],
  opts: PlacementOptions = {},
): Placement {
  if (!Array.isArray(members)) throw new GregorError('INVALID_ARGUMENT', 'members must be an array');
  const eps = checkFactor('loadFactor', opts.loadFactor ?? DEFAULT_LOAD_FACTOR);
  const leaderEps = checkFactor('leaderLoadFactor', opts.leaderLoadFactor ?? DEFAULT_LEADER_LOAD_FACTOR);
  members.forEach((m, i) => {
    if (m?.zone !== undefined && typeof m.zone !== 'string') {
      throw new GregorError('INVALID_ARGUMENT', `members[${i}].zone (member '${m.id}') must be a string`);
    }
  });
  const ring = createRing(
    members.map((m) => m?.id),
    opts.vnodesPerNode ?? DEFAULT_VNODES_PER_NODE,
  );
  const sortedTopics = validateTopics(topics);
  const nodeCount = ring.nodes.length;

  const zoneById = new Map(members.map((m) => [m.id, m.zone ?? '']));
  const zoneNames = [...new Set(ring.nodes.map((id) => zoneById.get(id)!))].sort(compareIds);
  const zoneOf = Int32Array.from(ring.nodes, (id) => zoneNames.indexOf(zoneById.get(id)!));

  let partCount = 0;
  for (const t of sortedTopics) partCount += t.partitions;
  const w: Work = {
    ring,
    zoneOf,
    zoneCount: zoneNames.length,
    hash: new Float64Array(partCount),
    start: new Int32Array(partCount),
    want: new Int32Array(partCount),
    replicas: Array.from({ length: partCount }, () => []),
    claimDist: Array.from({ length: partCount }, () => []),
    load: new Int32Array(nodeCount),
    capacity: 0,
  };
  let total = 0;
  let p = 0;
  for (const t of sortedTopics) {
    const want = Math.min(t.replicationFactor, nodeCount);
    for (let i = 0; i < t.partitions; i++, p++) {
      const h = ringPosition(`${t.name}/${i}`);
      w.hash[p] = h;
      w.start[p] = Math.max(0, successorIndex(ring, h));
      w.want[p] = want;
      total += want;
    }
  }
  const replicaCapacity = boundedCapacity(total, nodeCount, eps);
  w.capacity = replicaCapacity;

  let overCapacity = false;
  if (nodeCount > 0) {
    walkPass(w, w.zoneCount > 1);
    if (w.zoneCount > 1) {
      overCapacity = leastLoadedPass(w, true);
      walkPass(w, false);
    }
    overCapacity = leastLoadedPass(w, false) || overCapacity;
  }
  const ledPartitions = nodeCount > 0 ? partCount : 0;
  const leaderCapacity = boundedCapacity(ledPartitions, nodeCount, leaderEps);
  const { leaderIdx, leaders } = chooseLeaders(w, leaderCapacity);

  const partitions: PartitionAssignment[] = [];
  const byTopic = new Map<string, PartitionAssignment[]>();
  p = 0;
  for (const t of sortedTopics) {
    const list: PartitionAssignment[] = [];
    for (let i = 0; i < t.partitions; i++, p++) {
      const reps = w.replicas[p]!;
      const li = leaderIdx[p]!;
      const ordered = li <= 0 ? reps : [reps[li]!, ...reps.slice(0, li), ...reps.slice(li + 1)];
      const a: PartitionAssignment = {
        topic: t.name,
        partition: i,
        replicas: ordered.map((n) => ring.nodes[n]!),
        replicationFactor: t.replicationFactor,
        underReplicated: reps.length < t.replicationFactor,
      };
      list.push(a);
      partitions.push(a);
    }
    byTopic.set(t.name, list);
  }
  const loads = new Map<string, NodeLoad>();
  ring.nodes.forEach((id, n) => {
    loads.set(id, { replicas: w.load[n]!, leaders: leaders[n]! });
  });
  return { members: ring.nodes, partitions, byTopic, loads, replicaCapacity, leaderCapacity, overCapacity };
}

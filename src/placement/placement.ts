import { GregorError } from '../errors.js';
import { compareIds, createRing, DEFAULT_VNODES_PER_NODE, type HashRing, ringPosition } from './hash-ring.js';
import { distanceToNode, enforceCap, placeAll, type SequenceContext } from './join-sequence.js';

/**
 * Partition placement: a consistent-hash ring with virtual nodes and bounded loads, replayed in
 * join order, as a pure function of (members, topics) so every node derives the same map from the
 * same gossip state.
 *
 * How it runs, and why:
 * 1. Topics are placed one at a time in creation order (then name), so creating a topic never
 *    moves another topic's replicas; partitions hash `${topic}/${partition}` onto the ring.
 * 2. Within a topic, members are added in the order they first joined (join-sequence.ts). Each
 *    newcomer joins every partition while there are fewer members than replicas, then takes over
 *    replicas from members carrying two more of the topic than it (or one more, when they are above
 *    and it is below the mean over earlier topics), partitions nearest its vnodes first. The load bound is thus the topic's fair share
 *    rounded, and a join moves only the newcomer's share. Zone spread never narrows, and takeovers
 *    that widen it go first.
 * 3. Members that left or stayed dead past the grace period remain in the order as departed
 *    placeholders (from the roster), so the history of later members does not change; their
 *    replicas go to live members by a bounded-load ring walk.
 * 4. Leaders are chosen among each partition's replicas: (replica, vnode distance) pairs in
 *    distance order, a node taking leadership while below the leader capacity. Moving a leader
 *    moves no data, so this step never changes replica sets.
 */

/** A member as placement sees it: live, or departed (kept in the join order, holding nothing). */
export interface PlacementMember {
  /** Stable node id (the libp2p peer id). */
  id: string;
  /** Failure domain (rack, availability zone); replicas spread over distinct zones first. */
  zone?: string;
  /**
   * When the node first joined (wall-clock ms, persisted at its first boot). Placement replays
   * members in this order; unknown sorts last, ties by id.
   */
  joinedAt?: number;
  /**
   * A roster member that is gone (left, or dead past the grace period): it keeps its place in the
   * join order but holds nothing; its share goes to live members.
   */
  departed?: boolean;
}

/** A topic as placement sees it. */
export interface PlacementTopic {
  /** Topic name; partition keys are `${name}/${partition}`. */
  name: string;
  /** Number of partitions, 0 or more. */
  partitions: number;
  /** Wanted replicas per partition, 1 or more. */
  replicationFactor: number;
  /** Creation time (ms); topics are placed in this order, then by name (default 0). */
  createdAt?: number;
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

/**
 * The replica bound: boundedCapacity, but at least one replica above the mean rounded up. Below
 * about 10 replicas a node, eps rounds to no headroom at all, and holding every node to exactly
 * the mean would move many replicas on each membership change to gain one replica of balance.
 */
export function replicaBound(total: number, nodes: number, eps: number): number {
  if (nodes === 0) return 0;
  return Math.max(boundedCapacity(total, nodes, eps), Math.ceil(total / nodes - 1e-9) + 1);
}

interface Work {
  readonly points: readonly Float64Array[];
  readonly hash: Float64Array;
  readonly replicas: number[][];
  readonly claimDist: number[][];
  readonly nodeCount: number;
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
    if (t.createdAt !== undefined && !Number.isFinite(t.createdAt)) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `topics[${i}].createdAt (topic '${t.name}') must be a finite number, got ${t.createdAt}`,
      );
    }
    if (!Number.isInteger(t.replicationFactor) || t.replicationFactor < 1) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `topics[${i}].replicationFactor (topic '${t.name}') must be a positive integer, got ${t.replicationFactor}`,
      );
    }
  });
  const names = topics.map((t) => t.name).sort(compareIds);
  for (let i = 1; i < names.length; i++) {
    if (names[i] === names[i - 1])
      throw new GregorError('INVALID_ARGUMENT', `topics contain '${names[i]}' twice`);
  }
  return [...topics].sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0) || compareIds(a.name, b.name));
}

function checkFactor(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new GregorError('INVALID_ARGUMENT', `${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/** Picks each partition's preferred leader under the leader bound; returns its index in replicas. */
function chooseLeaders(w: Work, leaderCapacity: number): { leaderIdx: Int32Array; leaders: Int32Array } {
  const parts = w.replicas.length;
  const leaderIdx = new Int32Array(parts).fill(-1);
  const leaders = new Int32Array(w.nodeCount);
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
  shiftLeaders(w, leaderIdx, leaders, leaderCapacity);
  return { leaderIdx, leaders };
}

/**
 * Brings nodes above the leader bound down along augmenting paths: a leadership moves to another
 * replica of the same partition, whose own surplus may move on in turn, until a node below the
 * bound takes one (breadth-first, so the shortest chain wins; ties by node and partition order).
 */
function shiftLeaders(w: Work, leaderIdx: Int32Array, leaders: Int32Array, cap: number): void {
  const led: number[][] = Array.from({ length: w.nodeCount }, () => []);
  leaderIdx.forEach((i, p) => {
    if (i >= 0) led[w.replicas[p]![i]!]!.push(p);
  });
  for (let start = 0; start < w.nodeCount; start++) {
    while (leaders[start]! > cap) {
      const via = new Map<number, { from: number; part: number }>([[start, { from: -1, part: -1 }]]);
      const queue = [start];
      let end = -1;
      for (let q = 0; q < queue.length && end < 0; q++) {
        const u = queue[q]!;
        for (const part of led[u]!) {
          for (const v of w.replicas[part]!) {
            if (via.has(v)) continue;
            via.set(v, { from: u, part });
            if (leaders[v]! < cap) {
              end = v;
              break;
            }
            queue.push(v);
          }
          if (end >= 0) break;
        }
      }
      if (end < 0) return;
      leaders[start]!--;
      leaders[end]!++;
      for (let v = end; v !== start; ) {
        const { from, part } = via.get(v)!;
        leaderIdx[part] = w.replicas[part]!.indexOf(v);
        led[from]!.splice(led[from]!.indexOf(part), 1);
        led[v]!.push(part);
        v = from;
      }
    }
  }
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
    if (m?.joinedAt !== undefined && !(typeof m.joinedAt === 'number' && Number.isFinite(m.joinedAt))) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `members[${i}].joinedAt (member '${m.id}') must be a finite number, got ${m.joinedAt}`,
      );
    }
  });
  const vnodesPerNode = opts.vnodesPerNode ?? DEFAULT_VNODES_PER_NODE;
  const all = createRing(
    members.map((m) => m?.id),
    vnodesPerNode,
  );
  const sortedTopics = validateTopics(topics);
  const byId = new Map(members.map((m) => [m.id, m]));
  const liveIds = all.nodes.filter((id) => !byId.get(id)!.departed);
  const ring = createRing(liveIds, vnodesPerNode);
  const nodeCount = liveIds.length;
  const ctx = sequenceContext(all, ring, byId);

  let partCount = 0;
  for (const t of sortedTopics) partCount += t.partitions;
  const w: Work = {
    points: ctx.points,
    hash: new Float64Array(partCount),
    replicas: [],
    claimDist: [],
    nodeCount: all.nodes.length,
  };
  const perTopic = sortedTopics.map((t) => {
    const hashes = new Float64Array(t.partitions);
    for (let i = 0; i < t.partitions; i++) hashes[i] = ringPosition(`${t.name}/${i}`);
    return { hashes, rf: t.replicationFactor };
  });
  const seqs = placeAll(ctx, perTopic);
  let total = 0;
  for (const s of seqs) for (const r of s.replicas) total += r.length;
  const replicaCapacity = replicaBound(total, nodeCount, eps);
  const overCapacity = !enforceCap(ctx, seqs, replicaCapacity);
  const load = new Int32Array(all.nodes.length);
  let p = 0;
  for (const s of seqs) {
    w.hash.set(s.hashes, p);
    p += s.hashes.length;
    for (const r of s.replicas) {
      w.replicas.push(r);
      for (const n of r) load[n]!++;
    }
  }
  for (p = 0; p < partCount; p++) {
    const h = w.hash[p]!;
    w.claimDist.push(w.replicas[p]!.map((n) => distanceToNode(ctx.points[n]!, h)));
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
        replicas: ordered.map((n) => all.nodes[n]!),
        replicationFactor: t.replicationFactor,
        underReplicated: reps.length < t.replicationFactor,
      };
      list.push(a);
      partitions.push(a);
    }
    byTopic.set(t.name, list);
  }
  const loads = new Map<string, NodeLoad>();
  all.nodes.forEach((id, n) => {
    if (ctx.live[n]) loads.set(id, { replicas: load[n]!, leaders: leaders[n]! });
  });
  return { members: ring.nodes, partitions, byTopic, loads, replicaCapacity, leaderCapacity, overCapacity };
}

/** Per-member ring data and the join order, for join-sequence.ts. */
function sequenceContext(
  all: HashRing,
  liveRing: HashRing,
  byId: ReadonlyMap<string, PlacementMember>,
): SequenceContext {
  const n = all.nodes.length;
  const points = all.nodes.map(() => new Float64Array(all.vnodesPerNode));
  const fill = new Int32Array(n);
  for (let i = 0; i < all.positions.length; i++) {
    const owner = all.owners[i]!;
    points[owner]![fill[owner]!++] = all.positions[i]!;
  }
  const live = Uint8Array.from(all.nodes, (id) => (byId.get(id)!.departed ? 0 : 1));
  const indexOf = new Map(all.nodes.map((id, i) => [id, i]));
  const liveOwners = Int32Array.from(liveRing.owners, (o) => indexOf.get(liveRing.nodes[o]!)!);
  const zoneNames = [...new Set(all.nodes.map((id) => byId.get(id)!.zone ?? ''))].sort(compareIds);
  const zoneOf = Int32Array.from(all.nodes, (id) => zoneNames.indexOf(byId.get(id)!.zone ?? ''));
  const liveZones = new Set<number>();
  for (let i = 0; i < n; i++) if (live[i]) liveZones.add(zoneOf[i]!);
  const at = (i: number) => byId.get(all.nodes[i]!)!.joinedAt ?? Number.POSITIVE_INFINITY;
  const order = all.nodes.map((_, i) => i).sort((a, b) => at(a) - at(b) || a - b);
  return {
    points,
    livePositions: liveRing.positions,
    liveOwners,
    zoneOf,
    zoneCount: liveZones.size,
    order,
    live,
  };
}

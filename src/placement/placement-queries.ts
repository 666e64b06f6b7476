import { GregorError } from '../errors.js';
import { createRing, DEFAULT_VNODES_PER_NODE, lookup } from './hash-ring.js';
import type { PartitionAssignment, Placement, PlacementMember } from './placement.js';

/**
 * Read-side helpers over a computed Placement: who owns what, and what changed between two
 * placements (the input of the rebalancer's "add the new replica first, then drop the old" moves).
 */

/** The assignment of one partition, or undefined when the topic or partition is not placed. */
export function assignmentOf(
  placement: Placement,
  topic: string,
  partition: number,
): PartitionAssignment | undefined {
  return placement.byTopic.get(topic)?.[partition];
}

/** Preferred leader (replicas[0]) of a partition; undefined for an unknown partition or no members. */
export function ownerOf(placement: Placement, topic: string, partition: number): string | undefined {
  return assignmentOf(placement, topic, partition)?.replicas[0];
}

/** Every partition with a replica on `nodeId`, in topic/partition order; `leader` marks replicas[0]. */
export function partitionsOf(
  placement: Placement,
  nodeId: string,
): { topic: string; partition: number; leader: boolean; replicas: readonly string[] }[] {
  const out: { topic: string; partition: number; leader: boolean; replicas: readonly string[] }[] = [];
  for (const a of placement.partitions) {
    const idx = a.replicas.indexOf(nodeId);
    if (idx >= 0)
      out.push({ topic: a.topic, partition: a.partition, leader: idx === 0, replicas: a.replicas });
  }
  return out;
}

/** One partition whose replica set or preferred leader differs between two placements. */
export interface PartitionChange {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Replicas before, leader first. */
  from: readonly string[];
  /** Replicas after, leader first. */
  to: readonly string[];
  /** Nodes that must receive a new replica (add and catch up these first). */
  added: string[];
  /** Nodes whose replica goes away once the added ones are in sync. */
  removed: string[];
  /** True when the preferred leader differs (a leadership move, no data copied). */
  leaderChanged: boolean;
}

/** What changed from placement `a` to placement `b`. */
export interface PlacementDiff {
  /** Partitions present in both whose replicas or leader changed, in topic/partition order. */
  changes: PartitionChange[];
  /** Replicas that must be copied to a new node, over partitions present in both placements. */
  movedReplicas: number;
  /** Partitions whose preferred leader changed. */
  leaderChanges: number;
  /** Partitions only in `b` (new topics or added partitions). */
  created: { topic: string; partition: number }[];
  /** Partitions only in `a` (deleted topics or partitions). */
  deleted: { topic: string; partition: number }[];
}

/** Compares two placements partition by partition (for example before and after a join). */
export function diffPlacements(a: Placement, b: Placement): PlacementDiff {
  const diff: PlacementDiff = { changes: [], movedReplicas: 0, leaderChanges: 0, created: [], deleted: [] };
  for (const before of a.partitions) {
    const after = assignmentOf(b, before.topic, before.partition);
    if (!after) {
      diff.deleted.push({ topic: before.topic, partition: before.partition });
      continue;
    }
    const added = after.replicas.filter((n) => !before.replicas.includes(n));
    const removed = before.replicas.filter((n) => !after.replicas.includes(n));
    const leaderChanged = before.replicas[0] !== after.replicas[0];
    if (added.length === 0 && removed.length === 0 && !leaderChanged) continue;
    diff.changes.push({
      topic: before.topic,
      partition: before.partition,
      from: before.replicas,
      to: after.replicas,
      added,
      removed,
      leaderChanged,
    });
    diff.movedReplicas += added.length;
    if (leaderChanged) diff.leaderChanges++;
  }
  for (const after of b.partitions) {
    if (!assignmentOf(a, after.topic, after.partition)) {
      diff.created.push({ topic: after.topic, partition: after.partition });
    }
  }
  return diff;
}

/**
 * Ring owner of an arbitrary key (a consumer group id -> its coordinator), on the same ring as
 * placement but without a load bound: coordinators are light, and an unbounded owner only moves
 * when its own arc changes. Undefined when `members` is empty.
 */
export function ownerOfKey(
  members: readonly (PlacementMember | string)[],
  key: string,
  vnodesPerNode = DEFAULT_VNODES_PER_NODE,
): string | undefined {
  if (typeof key !== 'string') throw new GregorError('INVALID_ARGUMENT', 'key must be a string');
  const ids = members.map((m) => (typeof m === 'string' ? m : m?.id));
  return lookup(createRing(ids, vnodesPerNode), key);
}

/** Spread of a placement: how far the busiest node is above the mean, for replicas and leaders. */
export interface LoadStats {
  /** Mean replicas per member. */
  meanReplicas: number;
  /** Replicas on the busiest member. */
  maxReplicas: number;
  /** maxReplicas / meanReplicas (1 is perfect; 0 with no replicas). */
  replicaMaxOverMean: number;
  /** Mean preferred leaders per member. */
  meanLeaders: number;
  /** Preferred leaders on the busiest member. */
  maxLeaders: number;
  /** maxLeaders / meanLeaders. */
  leaderMaxOverMean: number;
}

/** Summarises `placement.loads` (used by the simulation, the bench and `gregorctl cluster ring`). */
export function loadStats(placement: Placement): LoadStats {
  let replicas = 0;
  let leaders = 0;
  let maxReplicas = 0;
  let maxLeaders = 0;
  for (const l of placement.loads.values()) {
    replicas += l.replicas;
    leaders += l.leaders;
    maxReplicas = Math.max(maxReplicas, l.replicas);
    maxLeaders = Math.max(maxLeaders, l.leaders);
  }
  const n = placement.loads.size;
  const meanReplicas = n ? replicas / n : 0;
  const meanLeaders = n ? leaders / n : 0;
  return {
    meanReplicas,
    maxReplicas,
    replicaMaxOverMean: meanReplicas ? maxReplicas / meanReplicas : 0,
    meanLeaders,
    maxLeaders,
    leaderMaxOverMean: meanLeaders ? maxLeaders / meanLeaders : 0,
  };
}

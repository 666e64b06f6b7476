import type { TopicDefinition } from '../broker/topic-definition.js';
import type { ClusterMember, ClusterNode } from '../cluster/cluster-node.js';
import { computePlacement, type Placement } from '../placement/index.js';

/** Gossip key prefix of "partitions of this topic whose log on my disk holds data". */
export const HELD_KEY_PREFIX = 'held/';

/** Where one partition is served, and why. */
export interface PartitionOwner {
  /** Node id serving reads and writes (undefined while no eligible member exists). */
  owner: string | undefined;
  /** The ring's choice (placement replicas[0], the preferred leader). */
  ringOwner: string | undefined;
  /** Ring replicas in preference order (RF nodes). */
  replicas: readonly string[];
  /** True when the owner differs from the ring because only it holds the partition's data. */
  sticky: boolean;
}

/** A member that counts for placement, with what routing needs of it. */
export interface EligibleMember {
  id: string;
  name: string;
  zone: string;
  /** First-join time (ms), placement's join order; 0 when the member does not publish one. */
  joinedAt: number;
  client?: string;
}

/** A roster member that is gone but keeps its place in placement's join order. */
export interface DepartedMember {
  id: string;
  zone: string;
  joinedAt: number;
}

/** The placement of one cluster view plus the serving owners derived from it. */
export interface OwnershipView {
  /** Members placement used, sorted by id. */
  members: EligibleMember[];
  placement: Placement;
  /** `${topic}/${partition}` -> owner. */
  owners: Map<string, PartitionOwner>;
}

/**
 * Which members count: NORMAL ones that are alive or suspect, or dead for less than `graceMs`
 * (DESIGN: liveness alone never moves data; a node dead longer than the grace period does).
 */
export function eligibleMembers(
  members: ClusterMember[],
  deadSince: Map<string, number>,
  now: number,
  graceMs: number,
): EligibleMember[] {
  const out: EligibleMember[] = [];
  for (const m of members) {
    if (m.status !== 'NORMAL') continue;
    if (m.liveness === 'dead' && now - (deadSince.get(m.id) ?? now) >= graceMs) continue;
    const e: EligibleMember = { id: m.id, name: m.name, zone: m.zone, joinedAt: m.joinedAt };
    if (m.addresses.client) e.client = m.addresses.client;
    out.push(e);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Partitions each member says it holds data for, from `held/<topic>` facts. */
export function heldFromFacts(members: ClusterMember[]): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>();
  for (const m of members) {
    for (const [key, v] of Object.entries(m.facts)) {
      if (!key.startsWith(HELD_KEY_PREFIX) || !Array.isArray(v)) continue;
      const topic = key.slice(HELD_KEY_PREFIX.length);
      for (const p of v) {
        if (!Number.isInteger(p)) continue;
        const k = `${topic}/${p}`;
        let s = held.get(k);
        if (!s) {
          s = new Set();
          held.set(k, s);
        }
        s.add(m.id);
      }
    }
  }
  return held;
}

/**
 * Computes placement (pure, from gossip state and the roster's departed members) and the serving
 * owner of every durable partition.
 * With RF=1 and no replication yet, a partition's data cannot follow a ring change, so the rule is
 * "sticky until replication": the ring owner serves when it holds the data or nobody eligible
 * does; otherwise the eligible holder with the lowest id keeps serving. Every node derives the same
 * answer from the same facts.
 */
export function computeOwnership(
  members: EligibleMember[],
  topics: TopicDefinition[],
  held: Map<string, Set<string>>,
  departed: readonly DepartedMember[] = [],
): OwnershipView {
  const durable = topics.filter((t) => t.durable);
  const live = new Set(members.map((m) => m.id));
  const placement = computePlacement(
    [
      ...members.map((m) =>
        m.joinedAt > 0 ? { id: m.id, zone: m.zone, joinedAt: m.joinedAt } : { id: m.id, zone: m.zone },
      ),
      ...departed
        .filter((d) => !live.has(d.id))
        .map((d) => ({ id: d.id, zone: d.zone, joinedAt: d.joinedAt, departed: true })),
    ],
    durable.map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactor: t.replicationFactor,
      createdAt: t.createdAt,
    })),
  );
  const eligible = new Set(members.map((m) => m.id));
  const owners = new Map<string, PartitionOwner>();
  for (const a of placement.partitions) {
    const key = `${a.topic}/${a.partition}`;
    const ringOwner = a.replicas[0];
    const holders = [...(held.get(key) ?? [])].filter((id) => eligible.has(id)).sort();
    let owner = ringOwner;
    if (holders.length > 0 && (ringOwner === undefined || !holders.includes(ringOwner))) owner = holders[0];
    owners.set(key, { owner, ringOwner, replicas: a.replicas, sticky: owner !== ringOwner });
  }
  return { members, placement, owners };
}

/** Parses host:port or [v6]:port. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  return { host: m[1]!, port: Number(m[2]) };
}

/** Tracks when members were convicted, for the grace period. */
export function trackDeaths(
  node: ClusterNode,
  deadSince: Map<string, number>,
  onChange: () => void,
): () => void {
  const now = Date.now();
  for (const m of node.members()) if (m.liveness === 'dead') deadSince.set(m.id, now);
  return node.on('liveness-changed', (id, _from, to) => {
    if (to === 'dead') deadSince.set(id, Date.now());
    else deadSince.delete(id);
    onChange();
  });
}

/**
 * Topic definitions as the cluster gossips them. Every node republishes every record it knows
 * under its own gossip key `topic/<name>`, so a definition survives any subset of nodes
 * restarting (each also keeps the records in its data dir), and the merged view is the maximum
 * record per name under one total order — a join-semilattice, so every node converges on the
 * same answer whatever order the facts arrive in.
 */

import type { TopicDefinition } from '../broker/topic-definition.js';

/** Gossip key prefix of topic records. */
export const TOPIC_KEY_PREFIX = 'topic/';

/** One topic's cluster-wide state (a live definition or a tombstone). */
export interface TopicRecord {
  /** The definition (kept in tombstones too, so re-creation knows the old epoch). */
  def: TopicDefinition;
  /** Creations of this name so far minus one: a re-create after a delete takes epoch + 1. */
  epoch: number;
  /** Node id that created this incarnation (the concurrent-create tie-break after createdAt). */
  creator: string;
  /** Changes within this incarnation (add partitions, delete). */
  version: number;
  /** True once deleted; tombstones are kept so a late, stale record cannot resurrect the topic. */
  deleted: boolean;
}

function cmp(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Total order on records of one name; the greater one wins. Higher epoch first (a re-create
 * supersedes the deleted incarnation); within an epoch the earliest (createdAt, creator) wins, so
 * two nodes creating the same topic at once agree on the older creation; within one incarnation
 * the higher version (later change) wins, deletion being a change like any other.
 */
export function compareRecords(a: TopicRecord, b: TopicRecord): number {
  return (
    cmp(a.epoch, b.epoch) ||
    cmp(b.def.createdAt, a.def.createdAt) ||
    cmp(b.creator, a.creator) ||
    cmp(a.version, b.version) ||
    cmp(Number(a.deleted), Number(b.deleted)) ||
    cmp(JSON.stringify(a.def), JSON.stringify(b.def))
  );
}

/** The record that wins between two (either may be undefined). */
export function maxRecord(a: TopicRecord | undefined, b: TopicRecord | undefined): TopicRecord | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareRecords(a, b) >= 0 ? a : b;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Checks a gossiped value's shape; returns undefined for anything malformed (ignored, not fatal). */
export function parseRecord(name: string, v: unknown): TopicRecord | undefined {
  const r = v as Partial<TopicRecord> | null;
  const d = r?.def as Partial<TopicDefinition> | undefined;
  if (!r || typeof r !== 'object' || !d || typeof d !== 'object') return undefined;
  if (!isInt(r.epoch) || !isInt(r.version) || typeof r.creator !== 'string' || typeof r.deleted !== 'boolean')
    return undefined;
  if (d.name !== name || !isInt(d.partitions) || d.partitions < 1 || !isInt(d.createdAt)) return undefined;
  if (!isInt(d.replicationFactor) || !isInt(d.retentionMs) || !isInt(d.retentionBytes)) return undefined;
  if (typeof d.durable !== 'boolean') return undefined;
  return {
    epoch: r.epoch,
    version: r.version,
    creator: r.creator,
    deleted: r.deleted,
    def: {
      name: d.name,
      partitions: d.partitions,
      retentionMs: d.retentionMs,
      retentionBytes: d.retentionBytes,
      durable: d.durable,
      replicationFactor: d.replicationFactor,
      createdAt: d.createdAt,
    },
  };
}

/** True when two records are the same state (what a node publishes vs what it merged). */
export function sameRecord(a: TopicRecord | undefined, b: TopicRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return compareRecords(a, b) === 0;
}

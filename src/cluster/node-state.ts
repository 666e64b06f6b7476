/**
 * The versioned key/value state one node owns, as every node holds a copy of it.
 *
 * Only the owner writes; each write takes the next version number, so "I hold node X up to
 * version v" is a complete summary of what a replica knows (Scuttlebutt's key idea). A restart
 * bumps the generation, and a higher generation replaces the old state wholesale.
 */

import { Encoder } from 'cbor-x';

/** Membership status a node announces about itself. */
export type NodeStatus = 'JOINING' | 'NORMAL' | 'LEAVING' | 'LEFT';

/** All statuses, in lifecycle order. */
export const NODE_STATUSES: readonly NodeStatus[] = ['JOINING', 'NORMAL', 'LEAVING', 'LEFT'];

/** Keys the membership layer itself writes; other layers must use their own prefixes. */
export const RESERVED_KEYS = {
  /** Human-readable node name (`--node-name`). */
  name: 'name',
  /** NodeStatus. */
  status: 'status',
  /** Failure zone (rack, availability zone) for replica spreading. */
  zone: 'zone',
  /** Wall-clock ms when this generation started. */
  startedAt: 'startedAt',
  /** Wall-clock ms of the node's first boot with its data dir (placement's join order). */
  joinedAt: 'joinedAt',
  /** Client protocol address host:port. */
  addrClient: 'addr.client',
  /** HTTP address host:port. */
  addrHttp: 'addr.http',
  /** Cluster transport addresses (multiaddrs) as a string array. */
  addrCluster: 'addr.cluster',
} as const;

const RESERVED = new Set<string>(Object.values(RESERVED_KEYS));

/** True for keys only the membership layer may set. */
export function isReservedKey(key: string): boolean {
  return RESERVED.has(key);
}

/** One versioned value; `deleted` marks a tombstone so deletions replicate too. */
export interface VersionedValue {
  value: unknown;
  version: number;
  deleted: boolean;
  /** Estimated encoded size in bytes, used to bound messages without re-encoding. */
  size: number;
}

const sizer = new Encoder({ useRecords: false });

/** Estimated wire size of one entry (key, version, value, flag). */
export function entrySize(key: string, value: unknown): number {
  let valueBytes = 1;
  if (value !== undefined) {
    try {
      valueBytes = sizer.encode(value).byteLength;
    } catch {
      valueBytes = 64;
    }
  }
  return Buffer.byteLength(key) + valueBytes + 12;
}

/** The state of one node as known locally. */
export class NodeState {
  /** Highest version held: every write of this generation up to it is reflected here. */
  maxVersion = 0;
  /** The owner's heartbeat counter, increased once per gossip round. */
  heartbeat = 0;
  readonly entries = new Map<string, VersionedValue>();

  constructor(
    readonly id: string,
    readonly generation: number,
  ) {}

  /** Owner-side write: takes the next version. Returns the version. */
  set(key: string, value: unknown): number {
    const version = ++this.maxVersion;
    this.entries.set(key, { value, version, deleted: false, size: entrySize(key, value) });
    return version;
  }

  /** Owner-side delete: writes a tombstone with the next version. */
  delete(key: string): number {
    const version = ++this.maxVersion;
    this.entries.set(key, { value: undefined, version, deleted: true, size: entrySize(key, undefined) });
    return version;
  }

  /**
   * Replica-side write of an entry received in a delta. Entries must come in ascending version
   * order; anything at or below `maxVersion` is already known and ignored. Returns true if applied.
   */
  apply(key: string, version: number, value: unknown, deleted: boolean): boolean {
    if (version <= this.maxVersion) return false;
    this.entries.set(key, { value, version, deleted, size: entrySize(key, value) });
    this.maxVersion = version;
    return true;
  }

  /** Live (non-deleted) value of `key`. */
  get(key: string): unknown {
    const e = this.entries.get(key);
    return e && !e.deleted ? e.value : undefined;
  }

  /** Entries with a version above `afterVersion`, ascending by version. */
  entriesAfter(afterVersion: number): Array<[string, VersionedValue]> {
    const out: Array<[string, VersionedValue]> = [];
    for (const kv of this.entries) if (kv[1].version > afterVersion) out.push(kv);
    out.sort((a, b) => a[1].version - b[1].version);
    return out;
  }

  /** A plain object of the live keys, for inspection. */
  toObject(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const [k, v] of this.entries) if (!v.deleted) o[k] = v.value;
    return o;
  }
}

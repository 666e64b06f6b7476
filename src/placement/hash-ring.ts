import { xxh3 } from '@node-rs/xxhash';
import { GregorError } from '../errors.js';

/**
 * Consistent-hash ring with virtual nodes (Karger et al. 1997). Every node owns `vnodesPerNode`
 * points; a key belongs to the first point at or after its own hash, walking clockwise.
 *
 * Positions are the top 53 bits of xxh3-64, so they fit a double exactly and the ring can live in
 * a Float64Array (one binary search per lookup, no BigInt on the hot path).
 */

/** Virtual nodes per member by default; chosen by bench/placement-sim.ts (see docs/benchmarks.md). */
export const DEFAULT_VNODES_PER_NODE = 256;

/** Size of the ring's hash space: positions are integers in [0, RING_SPACE). */
export const RING_SPACE = 2 ** 53;

/** Position of a string on the ring: the top 53 bits of its xxh3-64 hash. */
export function ringPosition(key: string): number {
  return Number(xxh3.xxh64(key) >> 11n);
}

/** An immutable ring: sorted vnode positions and, for each, the index of its node in `nodes`. */
export interface HashRing {
  /** Member ids in ascending code-unit order; `owners` indexes into this array. */
  readonly nodes: readonly string[];
  /** Vnode positions, ascending (ties broken by node index). */
  readonly positions: Float64Array;
  /** `owners[i]` is the index in `nodes` of the node that owns `positions[i]`. */
  readonly owners: Int32Array;
  /** Virtual nodes each member contributed. */
  readonly vnodesPerNode: number;
}

// Hashing vnodes dominates ring construction (about 0.6 us per point), so each node's points are
// kept across calls: a membership change then only hashes the newcomer.
const MAX_CACHED_NODES = 4096;
const pointCache = new Map<string, Float64Array>();

function nodePoints(id: string, vnodes: number): Float64Array {
  const cacheKey = `${vnodes}\u0000${id}`;
  const hit = pointCache.get(cacheKey);
  if (hit) return hit;
  const pts = new Float64Array(vnodes);
  for (let i = 0; i < vnodes; i++) pts[i] = ringPosition(`${id}#${i}`);
  if (pointCache.size >= MAX_CACHED_NODES) pointCache.delete(pointCache.keys().next().value as string);
  pointCache.set(cacheKey, pts);
  return pts;
}

// Whole rings are cached too: every node recomputes placement on each gossip change, and the
// member set changes far less often than topics do.
const MAX_CACHED_RINGS = 16;
const ringCache = new Map<string, HashRing>();

/** Code-unit order, so every machine sorts ids the same way whatever its locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Builds (or fetches from cache) the ring for a set of node ids. Order of `ids` does not matter.
 * Throws INVALID_ARGUMENT for an empty or duplicate id, or a vnode count that is not a positive integer.
 */
export function createRing(ids: readonly string[], vnodesPerNode = DEFAULT_VNODES_PER_NODE): HashRing {
  if (!Number.isInteger(vnodesPerNode) || vnodesPerNode < 1 || vnodesPerNode > 65536) {
    throw new GregorError(
      'INVALID_ARGUMENT',
      `vnodesPerNode must be an integer in 1..65536, got ${vnodesPerNode}`,
    );
  }
  const nodes = [...ids].sort(compareIds);
  for (let i = 0; i < nodes.length; i++) {
    const id = nodes[i]!;
    if (typeof id !== 'string' || id.length === 0) {
      throw new GregorError('INVALID_ARGUMENT', `member id at sorted position ${i} is empty or not a string`);
    }
    if (i > 0 && nodes[i - 1] === id)
      throw new GregorError('INVALID_ARGUMENT', `duplicate member id '${id}'`);
  }
  const cacheKey = `${vnodesPerNode}\u0000${nodes.join('\u0000')}`;
  const hit = ringCache.get(cacheKey);
  if (hit) {
    // Refresh recency so the working set survives bursts of one-off lookups.
    ringCache.delete(cacheKey);
    ringCache.set(cacheKey, hit);
    return hit;
  }
  const total = nodes.length * vnodesPerNode;
  const rawPos = new Float64Array(total);
  const rawOwner = new Int32Array(total);
  for (let n = 0; n < nodes.length; n++) {
    const pts = nodePoints(nodes[n]!, vnodesPerNode);
    rawPos.set(pts, n * vnodesPerNode);
    rawOwner.fill(n, n * vnodesPerNode, (n + 1) * vnodesPerNode);
  }
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => rawPos[a]! - rawPos[b]! || rawOwner[a]! - rawOwner[b]!);
  const positions = new Float64Array(total);
  const owners = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    positions[i] = rawPos[order[i]!]!;
    owners[i] = rawOwner[order[i]!]!;
  }
  const ring: HashRing = { nodes, positions, owners, vnodesPerNode };
  if (ringCache.size >= MAX_CACHED_RINGS) ringCache.delete(ringCache.keys().next().value as string);
  ringCache.set(cacheKey, ring);
  return ring;
}

/** Index of the first vnode at or after `position`, wrapping to 0 past the end; -1 on an empty ring. */
export function successorIndex(ring: HashRing, position: number): number {
  return ring.positions.length === 0 ? -1 : firstAtOrAfter(ring.positions, position);
}

/** Index of the first of `positions` (ascending, non-empty) at or after `position`, wrapping to 0. */
export function firstAtOrAfter(positions: Float64Array, position: number): number {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (positions[mid]! < position) lo = mid + 1;
    else hi = mid;
  }
  return lo === positions.length ? 0 : lo;
}

/** Clockwise distance from `from` to `to` on the ring, in [0, RING_SPACE). */
export function ringDistance(from: number, to: number): number {
  const d = to - from;
  return d < 0 ? d + RING_SPACE : d;
}

/** The node owning `key` on a plain ring (no load bound); undefined when the ring is empty. */
export function lookup(ring: HashRing, key: string): string | undefined {
  const idx = successorIndex(ring, ringPosition(key));
  return idx < 0 ? undefined : ring.nodes[ring.owners[idx]!];
}

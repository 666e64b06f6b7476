/**
 * Scuttlebutt reconciliation (van Renesse et al., "Efficient Reconciliation and Flow Control for
 * Anti-Entropy Protocols", 2008): the wire messages and the pure functions that build digests and
 * bounded deltas. Membership (membership.ts) drives the three-way exchange:
 *
 *   A -> B  SYN     { digest of A }
 *   B -> A  SYNACK  { digest of B, delta for A }     (what A lacks according to A's digest)
 *   A -> B  ACK     { delta for B }                  (what B lacks according to B's digest)
 *
 * Wire layout (CBOR, arrays rather than maps to keep messages small):
 *
 *   message = [kind: 1|2|3, cluster: text, partial: bool, digest: [*digestEntry], delta: [*nodeDelta]]
 *   digestEntry = [nodeId: text, generation: uint, heartbeat: uint, maxVersion: uint]
 *   nodeDelta   = [nodeId: text, generation: uint, heartbeat: uint, fromVersion: uint, [*entry]]
 *   entry       = [key: text, version: uint, value: any, deleted: bool]
 *
 * A delta lists each node's entries in ascending version order and is cut when the size budget is
 * spent, so a truncated delta is still a valid prefix: the receiver ends up holding that node "up
 * to version v" with nothing missing below v. `partial` marks a digest that lists only some nodes
 * (a cluster too large for one message); the receiver must not read absence as "unknown" then.
 */

import { Decoder, Encoder } from 'cbor-x';
import { GregorError } from '../errors.js';
import type { NodeState } from './node-state.js';

/** Message kinds of the exchange. */
export const MSG_SYN = 1;
/** Reply to SYN: digest plus delta. */
export const MSG_SYNACK = 2;
/** Final delta of an exchange. */
export const MSG_ACK = 3;

/** What a node knows about another: enough to tell who is behind. */
export type DigestEntry = [nodeId: string, generation: number, heartbeat: number, maxVersion: number];

/** One entry of a node delta. */
export type DeltaEntry = [key: string, version: number, value: unknown, deleted: boolean];

/** Changes of one node: `fromVersion` is the version the receiver held (0 = full state). */
export type NodeDelta = [
  nodeId: string,
  generation: number,
  heartbeat: number,
  fromVersion: number,
  DeltaEntry[],
];

/** A decoded membership message. */
export interface GossipMessage {
  kind: typeof MSG_SYN | typeof MSG_SYNACK | typeof MSG_ACK;
  cluster: string;
  partial: boolean;
  digest: DigestEntry[];
  delta: NodeDelta[];
}

const encoder = new Encoder({ useRecords: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Fixed overhead allowance per message and per node delta, in bytes. */
const MESSAGE_OVERHEAD = 64;
const NODE_OVERHEAD = 24;

/** Encodes a message; fails with MESSAGE_TOO_LARGE if it exceeds `maxBytes`. */
export function encodeMessage(m: GossipMessage, maxBytes: number): Uint8Array {
  const bytes = encoder.encode([m.kind, m.cluster, m.partial, m.digest, m.delta]);
  if (bytes.byteLength > maxBytes) {
    throw new GregorError(
      'MESSAGE_TOO_LARGE',
      `gossip message kind ${m.kind} is ${bytes.byteLength} bytes, above maxMessageBytes ${maxBytes}`,
    );
  }
  return bytes;
}

/** Decodes and shape-checks a message; throws INVALID_FRAME naming the bad field. */
export function decodeMessage(bytes: Uint8Array, maxBytes: number): GossipMessage {
  if (bytes.byteLength > maxBytes) {
    throw new GregorError('FRAME_TOO_LARGE', `gossip message of ${bytes.byteLength} bytes > ${maxBytes}`);
  }
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    throw new GregorError('INVALID_FRAME', 'gossip message is not valid CBOR', { cause: err });
  }
  if (!Array.isArray(raw) || raw.length !== 5) throw bad('message is not a 5-element array');
  const [kind, cluster, partial, digest, delta] = raw as unknown[];
  if (kind !== MSG_SYN && kind !== MSG_SYNACK && kind !== MSG_ACK) throw bad(`unknown kind ${String(kind)}`);
  if (typeof cluster !== 'string') throw bad('cluster is not text');
  if (!Array.isArray(digest)) throw bad('digest is not an array');
  if (!Array.isArray(delta)) throw bad('delta is not an array');
  digest.forEach((d, i) => {
    if (!Array.isArray(d) || d.length !== 4 || typeof d[0] !== 'string' || !d.slice(1).every(isUint)) {
      throw bad(`digest[${i}] malformed`);
    }
  });
  delta.forEach((d, i) => {
    if (!Array.isArray(d) || d.length !== 5 || typeof d[0] !== 'string' || !d.slice(1, 4).every(isUint)) {
      throw bad(`delta[${i}] malformed`);
    }
    if (!Array.isArray(d[4])) throw bad(`delta[${i}] entries not an array`);
    (d[4] as unknown[]).forEach((e, j) => {
      if (!Array.isArray(e) || e.length !== 4 || typeof e[0] !== 'string' || !isUint(e[1])) {
        throw bad(`delta[${i}] entry ${j} malformed`);
      }
    });
  });
  return {
    kind,
    cluster,
    partial: partial === true,
    digest: digest as DigestEntry[],
    delta: delta as NodeDelta[],
  };
}

function isUint(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function bad(what: string): GregorError {
  return new GregorError('INVALID_FRAME', `gossip message: ${what}`);
}

/** Fisher-Yates shuffle in place with the given random source. */
export function shuffle<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Builds the digest of `states`, always listing `selfId` first. When the full digest would not fit
 * in `budgetBytes`, lists a random subset and reports `partial: true`.
 */
export function buildDigest(
  states: Iterable<NodeState>,
  selfId: string,
  budgetBytes: number,
  random: () => number,
): { digest: DigestEntry[]; partial: boolean; bytes: number } {
  const all: NodeState[] = [];
  let self: NodeState | undefined;
  for (const s of states) {
    if (s.id === selfId) self = s;
    else all.push(s);
  }
  const digest: DigestEntry[] = [];
  let bytes = 0;
  const add = (s: NodeState) => {
    digest.push([s.id, s.generation, s.heartbeat, s.maxVersion]);
    bytes += digestEntrySize(s);
  };
  if (self) add(self);
  let total = bytes;
  for (const s of all) total += digestEntrySize(s);
  if (total <= budgetBytes) {
    for (const s of all) add(s);
    return { digest, partial: false, bytes };
  }
  for (const s of shuffle(all, random)) {
    if (bytes + digestEntrySize(s) > budgetBytes) break;
    add(s);
  }
  return { digest, partial: true, bytes };
}

function digestEntrySize(s: NodeState): number {
  return Buffer.byteLength(s.id) + 20;
}

/**
 * Builds the delta a peer needs according to its digest, within `budgetBytes`. Nodes the peer
 * lacks entirely (or holds in an older generation) get their full state; nodes it holds get the
 * entries above its maxVersion. Nodes are visited in random order so a tight budget starves none,
 * and each node's entries go in ascending version order so any cut leaves a valid prefix.
 */
export function buildDelta(
  states: Map<string, NodeState>,
  peerDigest: DigestEntry[],
  peerDigestPartial: boolean,
  budgetBytes: number,
  random: () => number,
): { delta: NodeDelta[]; truncated: boolean } {
  const theirs = new Map<string, DigestEntry>();
  for (const d of peerDigest) theirs.set(d[0], d);
  const work: Array<{ s: NodeState; from: number }> = [];
  for (const s of states.values()) {
    const d = theirs.get(s.id);
    if (!d) {
      if (!peerDigestPartial) work.push({ s, from: 0 });
      continue;
    }
    const [, gen, , maxVersion] = d;
    if (s.generation > gen) work.push({ s, from: 0 });
    else if (s.generation === gen && s.maxVersion > maxVersion) work.push({ s, from: maxVersion });
  }
  shuffle(work, random);
  const delta: NodeDelta[] = [];
  let used = MESSAGE_OVERHEAD;
  let truncated = false;
  for (const { s, from } of work) {
    const head = Buffer.byteLength(s.id) + NODE_OVERHEAD;
    if (used + head > budgetBytes) {
      truncated = true;
      break;
    }
    const entries: DeltaEntry[] = [];
    let nodeBytes = head;
    for (const [key, v] of s.entriesAfter(from)) {
      if (used + nodeBytes + v.size > budgetBytes) {
        truncated = true;
        break;
      }
      entries.push([key, v.version, v.value, v.deleted]);
      nodeBytes += v.size;
    }
    if (entries.length === 0 && truncated) break;
    delta.push([s.id, s.generation, s.heartbeat, from, entries]);
    used += nodeBytes;
    if (truncated) break;
  }
  return { delta, truncated };
}

/**
 * Scuttlebutt membership: every `gossipIntervalMs` this node bumps its heartbeat and runs a
 * SYN/SYNACK/ACK exchange (scuttlebutt.ts) with a random live member, now and then with a dead
 * one (to notice it came back) and with a discovered peer (seeds, mDNS: how joins and healed
 * partitions reconnect). Heartbeats seen in digests and deltas feed one phi-accrual detector per
 * member; convictions are held back while the stall guard says this process itself stalled.
 *
 * Other layers read member facts with `members()` and publish their own with `setLocalKey`.
 */

import { GregorError } from '../errors.js';
import type { Clock, TimerHandle } from './clock.js';
import { isReservedKey, NodeState, type NodeStatus, RESERVED_KEYS } from './node-state.js';
import {
  DETECTOR_PRESETS,
  type Liveness,
  PhiAccrualDetector,
  type PhiAccrualOptions,
} from './phi-accrual.js';
import {
  buildDelta,
  buildDigest,
  type DigestEntry,
  decodeMessage,
  encodeMessage,
  type GossipMessage,
  MSG_ACK,
  MSG_SYN,
  MSG_SYNACK,
  type NodeDelta,
} from './scuttlebutt.js';
import { StallGuard, type StallGuardOptions } from './stall-guard.js';
import type { ClusterTransport } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';

/** The pino-compatible subset of a logger the cluster layer writes to. */
export interface ClusterLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of the membership protocol (durations in ms). */
export interface MembershipOptions {
  /** Carries the messages; its `localId` is this node's id. */
  transport: ClusterTransport;
  /** Time source (realClock, or a VirtualClock in simulations). */
  clock: Clock;
  /** Messages naming another cluster are dropped, so two clusters on one LAN stay apart. */
  clusterName: string;
  /** This boot's generation (from a GenerationStore). */
  generation: number;
  /** Gossip round period. Default 500. */
  gossipIntervalMs?: number;
  /**
   * Live peers gossiped with per round. Default 3 (memberlist's too): measured at N = 100, a fanout
   * of 1 lets heartbeats reach a member every ~1.5 rounds with sd ~450 ms and conviction takes 7 s;
   * 2 gives sd ~310 ms and 4.4 s; 3 gives sd ~250 ms and 3.7 s.
   */
  gossipFanout?: number;
  /** Failure detector parameters. Default DETECTOR_PRESETS.lan. */
  detector?: PhiAccrualOptions;
  /** Event-loop stall guard tuning. */
  stallGuard?: StallGuardOptions;
  /** Upper bound of one encoded gossip message. Default 65536. */
  maxMessageBytes?: number;
  /** A node that completed no exchange by then declares itself NORMAL (a cluster of one). Default 2000. */
  joinTimeoutMs?: number;
  /** How long `leave()` waits for peers to learn of LEFT. Default 2000. */
  leaveTimeoutMs?: number;
  /** Dead or LEFT members are forgotten after this long. Default 3,600,000 (1 h). */
  forgetAfterMs?: number;
  /** Keys written before the first gossip (name, zone, addresses, facts). */
  initialKeys?: Record<string, unknown>;
  /** Random source for peer choice; seed it in simulations. Default Math.random. */
  random?: () => number;
  /** Optional logger. */
  log?: ClusterLogger;
}

/** A snapshot of one member as this node sees it. */
export interface MemberSnapshot {
  /** Node id (libp2p peer id). */
  id: string;
  /** Boot counter of the member's current life. */
  generation: number;
  /** Last heartbeat counter seen. */
  heartbeat: number;
  /** Highest state version held. */
  maxVersion: number;
  /** Announced status. */
  status: NodeStatus;
  /** Local judgement: alive, suspect or dead. */
  liveness: Liveness;
  /** Current phi of the member (0 for self). */
  phi: number;
  /** True for this node. */
  isSelf: boolean;
  /** All live keys of the member. */
  keys: Record<string, unknown>;
}

/** Events of the membership. */
export interface MembershipEvents {
  /** A node was seen for the first time (or again after being forgotten). */
  'member-joined': (id: string) => void;
  /** A known node restarted: its new generation replaced the old state. */
  'member-restarted': (id: string, generation: number) => void;
  /** Keys of a member changed (one event per applied delta). */
  'member-updated': (id: string, keys: string[]) => void;
  /** One key of a member changed; `deleted` for a removed key. */
  'key-changed': (id: string, key: string, value: unknown, deleted: boolean) => void;
  /** A member announced a new status. */
  'status-changed': (id: string, from: NodeStatus | undefined, to: NodeStatus) => void;
  /** The local judgement of a member changed. */
  'liveness-changed': (id: string, from: Liveness, to: Liveness, phi: number) => void;
  /** A member announced LEFT. */
  'member-left': (id: string) => void;
  /** A member was forgotten (dead or LEFT for forgetAfterMs). */
  'member-removed': (id: string) => void;
  /** This node became NORMAL. */
  joined: () => void;
  /** A peer spoke for another cluster; it is ignored from now on. */
  'foreign-peer': (peerId: string, cluster: string) => void;
}

/** Counters for metrics. */
export interface MembershipStats {
  rounds: number;
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  sendFailures: number;
  invalidMessages: number;
  foreignMessages: number;
  truncatedDeltas: number;
  partialDigests: number;
  stalls: number;
}

interface MemberMeta {
  detector: PhiAccrualDetector;
  liveness: Liveness;
  /** Clock time at which the member was last judged dead or LEFT (for forgetting). */
  goneSince: number | undefined;
}

const CLUSTER_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Checks a cluster name: lowercase letters, digits and dashes, at most 40 (it ends up in a DNS label). */
export function validateClusterName(name: string): void {
  if (!CLUSTER_NAME.test(name)) {
    throw new GregorError(
      'INVALID_CONFIG',
      `clusterName "${name}" must be 1-40 characters of a-z, 0-9 and "-", starting with a letter or digit`,
    );
  }
}

/** The Scuttlebutt membership of one node. */
export class Membership extends TypedEmitter<MembershipEvents> {
  /** This node's id. */
  readonly id: string;
  private readonly transport: ClusterTransport;
  private readonly clock: Clock;
  private readonly clusterName: string;
  private readonly intervalMs: number;
  private readonly fanout: number;
  private readonly detectorOpts: PhiAccrualOptions;
  private readonly maxBytes: number;
  private readonly joinTimeoutMs: number;
  private readonly leaveTimeoutMs: number;
  private readonly forgetAfterMs: number;
  private readonly random: () => number;
  private readonly log: ClusterLogger | undefined;
  private readonly guard: StallGuard;
  private readonly self: NodeState;
  private readonly states = new Map<string, NodeState>();
  private readonly meta = new Map<string, MemberMeta>();
  /** Peers announced by discovery; gossiped with now and then so partitions heal. */
  private readonly discovered = new Set<string>();
  private readonly foreign = new Set<string>();
  /** Generations of forgotten members, so stale gossip cannot resurrect them. */
  private readonly forgotten = new Map<string, { generation: number; at: number }>();
  private readonly unsubscribe: Array<() => void> = [];
  private timer: TimerHandle | undefined;
  private nextTickAt = 0;
  private startedAt = 0;
  private running = false;
  private isJoined = false;
  private leaveAcks: { version: number; peers: Set<string> } | undefined;
  /** Counters since start. */
  readonly stats: MembershipStats = {
    rounds: 0,
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    sendFailures: 0,
    invalidMessages: 0,
    foreignMessages: 0,
    truncatedDeltas: 0,
    partialDigests: 0,
    stalls: 0,
  };

  constructor(opts: MembershipOptions) {
    super();
    validateClusterName(opts.clusterName);
    if (!Number.isSafeInteger(opts.generation) || opts.generation < 1) {
      throw new GregorError('INVALID_ARGUMENT', `generation ${opts.generation} must be a positive integer`);
    }
    this.transport = opts.transport;
    this.id = opts.transport.localId;
    this.clock = opts.clock;
    this.clusterName = opts.clusterName;
    this.intervalMs = positive('gossipIntervalMs', opts.gossipIntervalMs ?? 500);
    this.fanout = Math.floor(positive('gossipFanout', opts.gossipFanout ?? 3));
    this.detectorOpts = opts.detector ?? DETECTOR_PRESETS.lan;
    this.maxBytes = positive('maxMessageBytes', opts.maxMessageBytes ?? 65536);
    if (this.maxBytes < 1024)
      throw new GregorError('INVALID_CONFIG', 'maxMessageBytes must be at least 1024');
    this.joinTimeoutMs = opts.joinTimeoutMs ?? 2000;
    this.leaveTimeoutMs = opts.leaveTimeoutMs ?? 2000;
    this.forgetAfterMs = opts.forgetAfterMs ?? 3_600_000;
    this.random = opts.random ?? Math.random;
    this.log = opts.log;
    this.guard = new StallGuard(this.clock, opts.stallGuard);
    this.self = new NodeState(this.id, opts.generation);
    this.states.set(this.id, this.self);
    this.self.set(RESERVED_KEYS.status, 'JOINING');
    this.self.set(RESERVED_KEYS.startedAt, this.clock.wallNow());
    for (const [k, v] of Object.entries(opts.initialKeys ?? {})) if (v !== undefined) this.self.set(k, v);
  }

  /** This node's generation. */
  get generation(): number {
    return this.self.generation;
  }

  /** True once this node is NORMAL (completed an exchange, or waited out joinTimeoutMs alone). */
  get joined(): boolean {
    return this.isJoined;
  }

  /** Starts gossiping; the transport must be started by the caller. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = this.clock.now();
    this.transport.onMessage((from, bytes) => this.onMessage(from, bytes));
    this.unsubscribe.push(
      this.transport.on('discovered', (peer) => {
        if (peer === this.id || this.foreign.has(peer)) return;
        const fresh = !this.discovered.has(peer);
        this.discovered.add(peer);
        // Talk to a newly found peer at once instead of waiting up to a round: joins get faster.
        if (fresh && !this.states.has(peer)) this.sendSyn(peer);
      }),
    );
    this.transport.addPeerAddresses(this.id, []);
    this.self.set(RESERVED_KEYS.addrCluster, this.transport.listenAddresses());
    this.scheduleTick(this.random() * this.intervalMs);
  }

  /** Stops gossiping (no LEFT announcement: use `leave()` first for a graceful exit). */
  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    for (const u of this.unsubscribe.splice(0)) u();
    this.transport.onMessage(() => {});
  }

  /** Publishes a fact about this node to the cluster (any CBOR-encodable value). */
  setLocalKey(key: string, value: unknown): void {
    if (isReservedKey(key))
      throw new GregorError('INVALID_ARGUMENT', `key "${key}" is reserved by membership`);
    if (value === undefined) throw new GregorError('INVALID_ARGUMENT', `value of key "${key}" is undefined`);
    this.self.set(key, value);
  }

  /** Removes a fact about this node (replicated as a tombstone). */
  deleteLocalKey(key: string): void {
    if (isReservedKey(key))
      throw new GregorError('INVALID_ARGUMENT', `key "${key}" is reserved by membership`);
    if (this.self.entries.has(key)) this.self.delete(key);
  }

  /** Sets a reserved key (addresses, zone, name); for the facade, not for other layers. */
  setReservedKey(key: string, value: unknown): void {
    if (!isReservedKey(key) || key === RESERVED_KEYS.status) {
      throw new GregorError('INVALID_ARGUMENT', `key "${key}" is not a settable reserved key`);
    }
    this.self.set(key, value);
  }

  /** Announces a status (LEAVING while draining, for example). */
  setStatus(status: NodeStatus): void {
    const from = this.self.get(RESERVED_KEYS.status) as NodeStatus;
    if (from === status) return;
    this.self.set(RESERVED_KEYS.status, status);
    if (status !== 'JOINING' && !this.isJoined) this.markJoined();
    this.emit('status-changed', this.id, from, status);
  }

  /** This node's own status. */
  get status(): NodeStatus {
    return this.self.get(RESERVED_KEYS.status) as NodeStatus;
  }

  /**
   * Announces LEFT and gossips it eagerly until min(3, live members) peers confirmed they hold it
   * or `leaveTimeoutMs` passed. Resolves with the number of confirmations.
   */
  async leave(): Promise<number> {
    this.setStatus('LEFT');
    const live = this.livePeers();
    const want = Math.min(3, live.length);
    this.leaveAcks = { version: this.self.maxVersion, peers: new Set() };
    const deadline = this.clock.now() + this.leaveTimeoutMs;
    const step = Math.max(20, Math.min(100, this.intervalMs / 5));
    while (this.running && this.leaveAcks.peers.size < want && this.clock.now() < deadline) {
      for (const p of pick(live, 3, this.random)) this.sendSyn(p);
      await sleep(this.clock, step);
    }
    return this.leaveAcks.peers.size;
  }

  /** Snapshot of every known member, self included. */
  members(): MemberSnapshot[] {
    const now = this.clock.now();
    const out: MemberSnapshot[] = [];
    for (const s of this.states.values()) out.push(this.snapshot(s, now));
    return out;
  }

  /** Snapshot of one member, or undefined. */
  member(id: string): MemberSnapshot | undefined {
    const s = this.states.get(id);
    return s ? this.snapshot(s, this.clock.now()) : undefined;
  }

  /** Milliseconds since start by this node's clock. */
  uptimeMs(): number {
    return this.clock.now() - this.startedAt;
  }

  /** True while convictions are suspended after a local stall. */
  convictionsSuspended(): boolean {
    return this.guard.convictionsSuspended();
  }

  private snapshot(s: NodeState, now: number): MemberSnapshot {
    const isSelf = s === this.self;
    const m = this.meta.get(s.id);
    return {
      id: s.id,
      generation: s.generation,
      heartbeat: s.heartbeat,
      maxVersion: s.maxVersion,
      status: (s.get(RESERVED_KEYS.status) as NodeStatus | undefined) ?? 'JOINING',
      liveness: isSelf ? 'alive' : (m?.liveness ?? 'alive'),
      phi: isSelf || !m ? 0 : m.detector.phi(now),
      isSelf,
      keys: s.toObject(),
    };
  }

  private scheduleTick(delayMs: number): void {
    if (!this.running) return;
    this.nextTickAt = this.clock.now() + delayMs;
    this.timer = this.clock.setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    if (!this.running) return;
    this.guard.observe(this.nextTickAt);
    this.stats.stalls = this.guard.stalls;
    this.stats.rounds++;
    this.self.heartbeat++;
    const now = this.clock.now();
    this.evaluateLiveness(now);
    if (!this.isJoined && now - this.startedAt >= this.joinTimeoutMs) this.markJoined();
    for (const peer of this.chooseTargets()) this.sendSyn(peer);
    this.forgetGone(now);
    this.scheduleTick(this.intervalMs);
  }

  private livePeers(): string[] {
    const out: string[] = [];
    for (const s of this.states.values()) {
      if (s === this.self || this.meta.get(s.id)?.liveness === 'dead') continue;
      if (s.get(RESERVED_KEYS.status) === 'LEFT') continue;
      out.push(s.id);
    }
    return out;
  }

  /** Cassandra-style choice: one live peer, maybe one dead, maybe one discovered (seed). */
  private chooseTargets(): Set<string> {
    const targets = new Set<string>();
    const live = this.livePeers();
    const dead: string[] = [];
    for (const [id, m] of this.meta) {
      if (m.liveness === 'dead' && this.states.get(id)?.get(RESERVED_KEYS.status) !== 'LEFT') dead.push(id);
    }
    for (const p of pick(live, this.fanout, this.random)) targets.add(p);
    if (dead.length > 0 && this.random() < dead.length / (live.length + 1)) {
      targets.add(pick(dead, 1, this.random)[0]!);
    }
    const unknown: string[] = [];
    const knownDiscovered: string[] = [];
    for (const p of this.discovered) (this.states.has(p) ? knownDiscovered : unknown).push(p);
    if (unknown.length > 0) targets.add(pick(unknown, 1, this.random)[0]!);
    else if (knownDiscovered.length > 0 && this.random() < knownDiscovered.length / (live.length + 1)) {
      targets.add(pick(knownDiscovered, 1, this.random)[0]!);
    }
    return targets;
  }

  private evaluateLiveness(now: number): void {
    const suspended = this.guard.convictionsSuspended();
    for (const [id, m] of this.meta) {
      const phi = m.detector.phi(now);
      let next: Liveness =
        phi >= this.detectorOpts.threshold
          ? 'dead'
          : phi >= this.detectorOpts.suspectThreshold
            ? 'suspect'
            : 'alive';
      if (next === 'dead' && m.liveness !== 'dead' && suspended) next = 'suspect';
      const gone = next === 'dead' || this.states.get(id)?.get(RESERVED_KEYS.status) === 'LEFT';
      if (gone && m.goneSince === undefined) m.goneSince = now;
      if (!gone) m.goneSince = undefined;
      if (next === m.liveness) continue;
      const from = m.liveness;
      m.liveness = next;
      this.log?.debug({ peer: id, from, to: next, phi }, 'member liveness changed');
      this.emit('liveness-changed', id, from, next, phi);
    }
  }

  private forgetGone(now: number): void {
    for (const [id, m] of this.meta) {
      if (m.goneSince === undefined || now - m.goneSince < this.forgetAfterMs) continue;
      const s = this.states.get(id);
      this.states.delete(id);
      this.meta.delete(id);
      this.discovered.delete(id);
      if (s) this.forgotten.set(id, { generation: s.generation, at: now });
      this.emit('member-removed', id);
    }
    for (const [id, f] of this.forgotten) if (now - f.at > 2 * this.forgetAfterMs) this.forgotten.delete(id);
  }

  private markJoined(): void {
    if (this.isJoined) return;
    this.isJoined = true;
    if (this.status === 'JOINING') {
      this.self.set(RESERVED_KEYS.status, 'NORMAL');
      this.emit('status-changed', this.id, 'JOINING', 'NORMAL');
    }
    this.emit('joined');
  }

  private send(peer: string, m: GossipMessage): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m, this.maxBytes);
    } catch (err) {
      this.log?.warn({ err, peer }, 'gossip message not sent');
      return;
    }
    this.stats.messagesSent++;
    this.stats.bytesSent += bytes.byteLength;
    this.transport.send(peer, bytes).catch((err: unknown) => {
      this.stats.sendFailures++;
      this.log?.debug({ peer, err: String(err) }, 'gossip send failed');
    });
  }

  private sendSyn(peer: string): void {
    if (!this.running) return;
    const d = buildDigest(this.states.values(), this.id, this.maxBytes - 256, this.random);
    if (d.partial) this.stats.partialDigests++;
    this.send(peer, {
      kind: MSG_SYN,
      cluster: this.clusterName,
      partial: d.partial,
      digest: d.digest,
      delta: [],
    });
  }

  private onMessage(from: string, bytes: Uint8Array): void {
    if (!this.running) return;
    this.stats.messagesReceived++;
    this.stats.bytesReceived += bytes.byteLength;
    let m: GossipMessage;
    try {
      m = decodeMessage(bytes, this.maxBytes);
    } catch (err) {
      this.stats.invalidMessages++;
      this.log?.warn({ peer: from, err: String(err) }, 'invalid gossip message dropped');
      return;
    }
    if (m.cluster !== this.clusterName) {
      this.stats.foreignMessages++;
      if (!this.foreign.has(from)) {
        this.foreign.add(from);
        this.discovered.delete(from);
        this.log?.warn({ peer: from, cluster: m.cluster }, 'peer belongs to another cluster; ignoring it');
        this.emit('foreign-peer', from, m.cluster);
      }
      return;
    }
    this.observeDigest(from, m.digest);
    this.applyDelta(m.delta);
    if (m.kind === MSG_SYN) {
      const d = buildDigest(this.states.values(), this.id, Math.floor(this.maxBytes / 2), this.random);
      if (d.partial) this.stats.partialDigests++;
      const delta = buildDelta(this.states, m.digest, m.partial, this.maxBytes - d.bytes - 256, this.random);
      if (delta.truncated) this.stats.truncatedDeltas++;
      this.send(from, {
        kind: MSG_SYNACK,
        cluster: this.clusterName,
        partial: d.partial,
        digest: d.digest,
        delta: delta.delta,
      });
    } else if (m.kind === MSG_SYNACK) {
      const delta = buildDelta(this.states, m.digest, m.partial, this.maxBytes - 256, this.random);
      if (delta.truncated) this.stats.truncatedDeltas++;
      this.send(from, {
        kind: MSG_ACK,
        cluster: this.clusterName,
        partial: false,
        digest: [],
        delta: delta.delta,
      });
      this.markJoined();
    } else if (m.kind === MSG_ACK && m.delta.length > 0) {
      this.markJoined();
    }
  }

  private observeDigest(from: string, digest: DigestEntry[]): void {
    for (const [id, gen, hb, maxVersion] of digest) {
      if (id === this.id) {
        if (this.leaveAcks && gen === this.self.generation && maxVersion >= this.leaveAcks.version) {
          this.leaveAcks.peers.add(from);
        }
        continue;
      }
      const s = this.states.get(id);
      if (s && s.generation === gen) this.observeHeartbeat(s, hb);
    }
  }

  private observeHeartbeat(s: NodeState, hb: number): void {
    if (hb <= s.heartbeat) return;
    s.heartbeat = hb;
    this.meta.get(s.id)?.detector.heartbeat(this.clock.now());
  }

  private applyDelta(delta: NodeDelta[]): void {
    for (const [id, gen, hb, fromVersion, entries] of delta) {
      if (id === this.id) continue;
      const f = this.forgotten.get(id);
      if (f && gen <= f.generation) continue;
      let s = this.states.get(id);
      let created = false;
      let restarted = false;
      let previousLiveness: Liveness = 'alive';
      if (!s || gen > s.generation) {
        // A full state is needed to start a node's (new) life; a partial one lacks its base.
        if (fromVersion !== 0) continue;
        restarted = s !== undefined;
        previousLiveness = this.meta.get(id)?.liveness ?? 'alive';
        s = new NodeState(id, gen);
        this.states.set(id, s);
        this.forgotten.delete(id);
        this.meta.set(id, {
          detector: new PhiAccrualDetector(this.detectorOpts),
          liveness: 'alive',
          goneSince: undefined,
        });
        created = true;
      } else if (gen < s.generation || fromVersion > s.maxVersion) {
        continue;
      }
      const oldStatus = created ? undefined : (s.get(RESERVED_KEYS.status) as NodeStatus | undefined);
      const changed: string[] = [];
      for (const [key, version, value, deleted] of entries) {
        if (s.apply(key, version, value, deleted === true)) changed.push(key);
      }
      if (created) {
        s.heartbeat = hb;
        this.meta.get(id)!.detector.heartbeat(this.clock.now());
        if (restarted) {
          this.log?.info({ peer: id, generation: gen }, 'member restarted');
          this.emit('member-restarted', id, gen);
          if (previousLiveness !== 'alive') this.emit('liveness-changed', id, previousLiveness, 'alive', 0);
        } else {
          this.log?.info({ peer: id, generation: gen }, 'member joined');
          this.emit('member-joined', id);
        }
      } else {
        this.observeHeartbeat(s, hb);
      }
      if (changed.length === 0) continue;
      if (changed.includes(RESERVED_KEYS.addrCluster)) {
        const addrs = s.get(RESERVED_KEYS.addrCluster);
        if (Array.isArray(addrs))
          this.transport.addPeerAddresses(
            id,
            addrs.filter((a) => typeof a === 'string'),
          );
      }
      for (const key of changed) {
        const e = s.entries.get(key)!;
        this.emit('key-changed', id, key, e.value, e.deleted);
      }
      this.emit('member-updated', id, changed);
      const status = s.get(RESERVED_KEYS.status) as NodeStatus | undefined;
      if (status !== undefined && status !== oldStatus) {
        this.emit('status-changed', id, oldStatus, status);
        if (status === 'LEFT') this.emit('member-left', id);
      }
    }
  }
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0))
    throw new GregorError('INVALID_CONFIG', `${name} must be > 0 (got ${v})`);
  return v;
}

/** Up to `n` distinct random elements of `a`. */
function pick<T>(a: readonly T[], n: number, random: () => number): T[] {
  if (a.length <= n) return [...a];
  const out = new Set<number>();
  while (out.size < n) out.add(Math.floor(random() * a.length));
  return [...out].map((i) => a[i]!);
}

/** Waits `ms` on `clock` (virtual or real). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * The one entry point the broker calls: `startClusterNode(options)` wires transport, membership
 * and failure detection, and returns a `ClusterNode` whose `members()` is what `gregorctl cluster
 * nodes`, `/health/ready` and (next) placement read. libp2p is loaded with a dynamic import here,
 * so a broker that opened its client port first does not pay for it at start-up.
 *
 * Files in the data dir: `<dataDir>/cluster/node-key` (the node identity) and
 * `<dataDir>/cluster/generation` (the boot counter that becomes the gossip generation).
 */

import { hostname } from 'node:os';
import { join } from 'node:path';
import { GregorError } from '../errors.js';
import { type Clock, realClock } from './clock.js';
import { FileGenerationStore, type GenerationStore } from './generation-store.js';
import { firstJoinTime } from './join-time.js';
import {
  type ClusterLogger,
  type MemberSnapshot,
  Membership,
  type MembershipEvents,
  type MembershipStats,
  validateClusterName,
} from './membership.js';
import { isReservedKey, type NodeStatus, RESERVED_KEYS } from './node-state.js';
import {
  DETECTOR_PRESETS,
  type DetectorPreset,
  type Liveness,
  type PhiAccrualOptions,
  validateDetectorOptions,
} from './phi-accrual.js';
import type { StallGuardOptions } from './stall-guard.js';
import type { ClusterTransport } from './transport.js';

/** Options of `startClusterNode`; every field has a default except `dataDir`. */
export interface ClusterNodeOptions {
  /** Data directory; the node key and generation live in `<dataDir>/cluster/`. Required. */
  dataDir: string;
  /** Cluster name; nodes of other clusters are ignored. Default 'gregormq'. */
  clusterName?: string;
  /** libp2p TCP listen port. Default 9442; 0 picks a free port. */
  clusterPort?: number;
  /** libp2p listen host. Default '0.0.0.0'. */
  host?: string;
  /** Human-readable node name. Default the host name. */
  nodeName?: string;
  /** Seeds as host:port (DNS names resolving to many addresses allowed). Default none. */
  seeds?: string[];
  /** mDNS discovery on the LAN. Default true. */
  mdns?: boolean;
  /** Pre-shared key file; when set, only nodes with the same key can connect. Default none. */
  clusterKeyFile?: string;
  /** Failure zone (rack, AZ) used by placement to spread replicas. Default ''. */
  zone?: string;
  /** Gossip round period in ms. Default 500. */
  gossipIntervalMs?: number;
  /** Live peers contacted per round. Default 3. */
  gossipFanout?: number;
  /** Detector: a preset name, or a preset with overrides. Default 'lan'. */
  detector?: DetectorPreset | (Partial<PhiAccrualOptions> & { preset?: DetectorPreset });
  /** Event-loop stall guard tuning (ms). Defaults: threshold 500, suspend 5000. */
  stallGuard?: StallGuardOptions;
  /** Addresses to publish: client protocol and HTTP as host:port, cluster as multiaddrs. */
  advertise?: { client?: string; http?: string; cluster?: string[] };
  /** Facts published with the first gossip (same rules as `setLocalKey`). */
  facts?: Record<string, unknown>;
  /** Upper bound of one gossip message in bytes. Default 65536. */
  maxMessageBytes?: number;
  /** ms after which a node that found nobody declares itself NORMAL. Default 2000. */
  joinTimeoutMs?: number;
  /** ms `leave()` waits for LEFT to spread. Default 2000. */
  leaveTimeoutMs?: number;
  /** ms after which dead or LEFT members are forgotten. Default 3,600,000. */
  forgetAfterMs?: number;
  /** Logger (pino works). */
  log?: ClusterLogger;
  /** Seam for simulations and tests: use this transport instead of libp2p. */
  transport?: ClusterTransport;
  /** Seam: clock (virtual in simulations). Default real time. */
  clock?: Clock;
  /** Seam: generation store. Default `<dataDir>/cluster/generation`. */
  generationStore?: GenerationStore;
  /** Seam: first-join time (ms). Default `<dataDir>/cluster/joined-at`, written at the first boot. */
  joinedAt?: number;
}

/** One member as reported to operators and other layers. */
export interface ClusterMember {
  /** Node id (libp2p peer id); stable across restarts with the same data dir. */
  id: string;
  /** Node name (`--node-name`), or the id when not yet known. */
  name: string;
  /** Announced status: JOINING, NORMAL, LEAVING or LEFT. */
  status: NodeStatus;
  /** This node's judgement: alive, suspect or dead. */
  liveness: Liveness;
  /** Current suspicion level (0 for self). */
  phi: number;
  /** Published addresses. */
  addresses: { client?: string; http?: string; cluster: string[] };
  /** Failure zone, '' when unset. */
  zone: string;
  /** Boot counter of the member's current life. */
  generation: number;
  /** Last heartbeat counter seen. */
  heartbeat: number;
  /** Wall-clock ms when the member started this generation (0 when unknown). */
  startedAt: number;
  /** Wall-clock ms of the member's first boot with its data dir; placement's join order (0 when unknown). */
  joinedAt: number;
  /** ms since `startedAt` by this node's clock (0 when unknown). */
  uptimeMs: number;
  /** True for the local node. */
  isSelf: boolean;
  /** Facts set by other layers with `setLocalKey`. */
  facts: Record<string, unknown>;
}

/** A running cluster node. */
export interface ClusterNode {
  /** This node's id. */
  readonly id: string;
  /** This boot's generation. */
  readonly generation: number;
  /** Cluster name in use. */
  readonly clusterName: string;
  /** Resolves once this node is NORMAL (found the cluster, or waited `joinTimeoutMs` alone). */
  readonly joined: Promise<void>;
  /** The transport (for later layers that share the libp2p node). */
  readonly transport: ClusterTransport;
  /** True once `joined` resolved; this is what `/health/ready` should report. */
  isJoined(): boolean;
  /** Every known member, self included. */
  members(): ClusterMember[];
  /** One member by id. */
  member(id: string): ClusterMember | undefined;
  /** The local member. */
  self(): ClusterMember;
  /** Subscribes to membership events; returns the unsubscriber. */
  on<K extends keyof MembershipEvents>(event: K, listener: MembershipEvents[K]): () => void;
  /** Publishes a fact about this node (any CBOR value); reserved keys are refused. */
  setLocalKey(key: string, value: unknown): void;
  /** Withdraws a fact. */
  deleteLocalKey(key: string): void;
  /** Updates the published client/HTTP addresses (e.g. after binding port 0). */
  setAdvertisedAddresses(addrs: { client?: string; http?: string }): void;
  /** Announces LEAVING (draining) or NORMAL again. */
  setStatus(status: 'NORMAL' | 'LEAVING'): void;
  /** Cluster addresses this node listens on. */
  listenAddresses(): string[];
  /** Membership counters (for `/metrics`). */
  stats(): MembershipStats;
  /** Announces LEFT and waits briefly for it to spread; resolves with confirmations received. */
  leave(): Promise<number>;
  /** Stops gossip and closes the transport (no announcement: call `leave()` first). */
  stop(): Promise<void>;
}

/** Default cluster name. */
export const DEFAULT_CLUSTER_NAME = 'gregormq';

function resolveDetector(d: ClusterNodeOptions['detector']): PhiAccrualOptions {
  if (d === undefined) return DETECTOR_PRESETS.lan;
  if (typeof d === 'string') {
    const p = DETECTOR_PRESETS[d];
    if (!p) throw new GregorError('INVALID_CONFIG', `detector preset "${d}" is not one of lan, local, wan`);
    return p;
  }
  const base = DETECTOR_PRESETS[d.preset ?? 'lan'];
  if (!base)
    throw new GregorError('INVALID_CONFIG', `detector.preset "${d.preset}" is not one of lan, local, wan`);
  const { preset: _preset, ...overrides } = d;
  const merged: PhiAccrualOptions = { ...base, ...overrides };
  const problem = validateDetectorOptions(merged);
  if (problem) throw new GregorError('INVALID_CONFIG', problem);
  return merged;
}

/** Converts a membership snapshot into the public member shape. */
export function toClusterMember(s: MemberSnapshot, wallNow: number): ClusterMember {
  const k = s.keys;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const startedAt =
    typeof k[RESERVED_KEYS.startedAt] === 'number' ? (k[RESERVED_KEYS.startedAt] as number) : 0;
  const joinedAt = typeof k[RESERVED_KEYS.joinedAt] === 'number' ? (k[RESERVED_KEYS.joinedAt] as number) : 0;
  const cluster = k[RESERVED_KEYS.addrCluster];
  const facts: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(k)) if (!isReservedKey(key)) facts[key] = v;
  const addresses: ClusterMember['addresses'] = {
    cluster: Array.isArray(cluster) ? cluster.filter((a): a is string => typeof a === 'string') : [],
  };
  const client = str(k[RESERVED_KEYS.addrClient]);
  const http = str(k[RESERVED_KEYS.addrHttp]);
  if (client) addresses.client = client;
  if (http) addresses.http = http;
  return {
    id: s.id,
    name: str(k[RESERVED_KEYS.name]) ?? s.id,
    status: s.status,
    liveness: s.liveness,
    phi: s.phi,
    addresses,
    zone: str(k[RESERVED_KEYS.zone]) ?? '',
    generation: s.generation,
    heartbeat: s.heartbeat,
    startedAt,
    joinedAt,
    uptimeMs: startedAt > 0 ? Math.max(0, wallNow - startedAt) : 0,
    isSelf: s.isSelf,
    facts,
  };
}

/** Starts a cluster node: transport up, gossip running. Resolves before the node has joined. */
export async function startClusterNode(opts: ClusterNodeOptions): Promise<ClusterNode> {
  if (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0) {
    throw new GregorError('INVALID_CONFIG', 'dataDir is required for the cluster node');
  }
  const clusterName = opts.clusterName ?? DEFAULT_CLUSTER_NAME;
  validateClusterName(clusterName);
  const detector = resolveDetector(opts.detector);
  for (const key of Object.keys(opts.facts ?? {})) {
    if (isReservedKey(key)) throw new GregorError('INVALID_CONFIG', `facts.${key} is a reserved key`);
  }
  const clock = opts.clock ?? realClock;
  const generation = await (
    opts.generationStore ?? new FileGenerationStore(join(opts.dataDir, 'cluster'))
  ).next();
  const joinedAt = opts.joinedAt ?? (await firstJoinTime(join(opts.dataDir, 'cluster'), clock.wallNow()));
  let transport = opts.transport;
  if (!transport) {
    // Lazy: libp2p costs ~0.8 s to import; only nodes that really cluster pay for it, and after
    // the caller has opened its client port.
    const { createLibp2pTransport } = await import('./libp2p-transport.js');
    transport = await createLibp2pTransport({
      dataDir: opts.dataDir,
      clusterName,
      host: opts.host,
      port: opts.clusterPort,
      mdns: opts.mdns,
      seeds: opts.seeds,
      clusterKeyFile: opts.clusterKeyFile,
      announce: opts.advertise?.cluster,
      maxMessageBytes: opts.maxMessageBytes,
      log: opts.log,
    });
  }
  await transport.start();
  const initialKeys: Record<string, unknown> = {
    ...opts.facts,
    [RESERVED_KEYS.name]: opts.nodeName ?? hostname(),
    [RESERVED_KEYS.zone]: opts.zone ?? '',
    [RESERVED_KEYS.joinedAt]: joinedAt,
  };
  if (opts.advertise?.client) initialKeys[RESERVED_KEYS.addrClient] = opts.advertise.client;
  if (opts.advertise?.http) initialKeys[RESERVED_KEYS.addrHttp] = opts.advertise.http;
  const membership = new Membership({
    transport,
    clock,
    clusterName,
    generation,
    gossipIntervalMs: opts.gossipIntervalMs,
    gossipFanout: opts.gossipFanout,
    detector,
    stallGuard: opts.stallGuard,
    maxMessageBytes: opts.maxMessageBytes,
    joinTimeoutMs: opts.joinTimeoutMs,
    leaveTimeoutMs: opts.leaveTimeoutMs,
    forgetAfterMs: opts.forgetAfterMs,
    initialKeys,
    log: opts.log,
  });
  const joined = new Promise<void>((resolve) => {
    if (membership.joined) resolve();
    else membership.once('joined', () => resolve());
  });
  membership.start();
  opts.log?.info(
    { id: membership.id, generation, addresses: transport.listenAddresses() },
    'cluster node started',
  );
  const t = transport;
  let stopped = false;
  const node: ClusterNode = {
    id: membership.id,
    generation,
    clusterName,
    joined,
    transport: t,
    isJoined: () => membership.joined,
    members: () => membership.members().map((m) => toClusterMember(m, clock.wallNow())),
    member: (id) => {
      const m = membership.member(id);
      return m ? toClusterMember(m, clock.wallNow()) : undefined;
    },
    self: () => toClusterMember(membership.member(membership.id)!, clock.wallNow()),
    on: (event, listener) => membership.on(event, listener),
    setLocalKey: (key, value) => membership.setLocalKey(key, value),
    deleteLocalKey: (key) => membership.deleteLocalKey(key),
    setAdvertisedAddresses: (addrs) => {
      if (addrs.client !== undefined) membership.setReservedKey(RESERVED_KEYS.addrClient, addrs.client);
      if (addrs.http !== undefined) membership.setReservedKey(RESERVED_KEYS.addrHttp, addrs.http);
    },
    setStatus: (status) => membership.setStatus(status),
    listenAddresses: () => t.listenAddresses(),
    stats: () => ({ ...membership.stats }),
    leave: () => membership.leave(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      membership.stop();
      await t.stop();
    },
  };
  return node;
}

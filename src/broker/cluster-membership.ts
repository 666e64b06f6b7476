/**
 * The glue between a running Broker and the membership library (src/cluster): builds the cluster
 * node's options from the configuration, starts it after the client port is open, and feeds
 * `/health/ready`, `/metrics` and the `/v1/cluster` routes from its member list.
 *
 * gregormq.ts reaches this module through a dynamic `import()`, and this module reaches libp2p
 * only through `startClusterNode`'s own lazy import, so the client port opens before any of the
 * cluster code is even parsed.
 */

import { mkdir, open, rename } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  type ClusterMember,
  type ClusterNode,
  type ClusterNodeOptions,
  startClusterNode,
} from '../cluster/cluster-node.js';
import type { DetectorPreset, PhiAccrualOptions } from '../cluster/phi-accrual.js';
import { DETECTOR_PRESETS } from '../cluster/phi-accrual.js';
import type { GregorConfig } from '../config/index.js';
import { GregorError } from '../errors.js';
import type { BrokerMetrics, ClusterStats } from '../observability/metrics.js';
import type { Broker } from './broker.js';

/** Where each configuration value came from (`loadConfig().origins`); only "default"/"preset ..." matter. */
export type ConfigOrigins = Partial<Record<string, string>>;

/** Addresses this node publishes to the cluster, as host:port. */
export interface AdvertisedAddresses {
  client: string;
  http?: string;
}

/** Name of the readiness check this module maintains. */
export const CLUSTER_READY_CHECK = 'cluster';

function explicitlySet(origins: ConfigOrigins | undefined, key: string): boolean {
  const o = origins?.[key];
  return o !== undefined && o !== 'default' && !o.startsWith('preset ');
}

/**
 * Detector parameters: the library's preset of the same name, tuned by simulation (docs/cluster.md),
 * unless the operator set a value explicitly. The config schema's preset columns repeat Akka's
 * numbers (2 s pause), which would push conviction by every member past the 5 s target, so a value
 * that only came from a default or preset does not override the tuned one.
 */
export function detectorFromConfig(
  config: GregorConfig,
  origins?: ConfigOrigins,
): Partial<PhiAccrualOptions> & { preset: DetectorPreset } {
  const preset: DetectorPreset = config.preset;
  const base = DETECTOR_PRESETS[preset];
  const d: Partial<PhiAccrualOptions> & { preset: DetectorPreset } = { preset };
  if (explicitlySet(origins, 'cluster.phiThreshold')) {
    d.threshold = config.cluster.phiThreshold;
    // Keep "suspect" at the same fraction of the conviction level as the preset has it.
    d.suspectThreshold = (base.suspectThreshold / base.threshold) * config.cluster.phiThreshold;
  }
  if (explicitlySet(origins, 'cluster.acceptablePauseMs'))
    d.acceptableHeartbeatPauseMs = config.cluster.acceptablePauseMs;
  if (explicitlySet(origins, 'cluster.minStdDeviationMs'))
    d.minStdDeviationMs = config.cluster.minStdDeviationMs;
  return d;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** First non-internal IPv4 address of this machine, or 127.0.0.1 (e.g. alone in a namespace). */
export function primaryAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Addresses other nodes (and operators) should use for this node's client and HTTP ports: the
 * configured advertised host, else the bound host, else (wildcard bind) the machine's primary
 * address, so that a peer on another machine can reach it.
 */
export function advertisedAddresses(
  config: GregorConfig,
  ports: { client: number; http: number },
): AdvertisedAddresses {
  const pick = (bound: string) =>
    config.server.advertisedHost ||
    (isWildcard(bound) ? config.cluster.advertisedHost || primaryAddress() : bound);
  const out: AdvertisedAddresses = { client: hostPort(pick(config.server.host), ports.client) };
  if (ports.http > 0) out.http = hostPort(pick(config.http.host), ports.http);
  return out;
}

/** Multiaddr of a host and port (IPv4, IPv6 or DNS name). */
function toMultiaddr(host: string, port: number): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return `/ip4/${host}/tcp/${port}`;
  if (isIPv6(host)) return `/ip6/${host}/tcp/${port}`;
  return `/dns/${host}/tcp/${port}`;
}

/**
 * Writes `cluster.key` (the inline pre-shared key) as a swarm key file the transport can read, so
 * both ways of giving the key end up on one code path. Accepts the whole swarm-key text or just
 * the 64 hex digits.
 */
export async function writeInlineClusterKey(dataDir: string, key: string): Promise<string> {
  const text = key.trim();
  let body: string;
  if (text.startsWith('/key/swarm/psk/1.0.0/')) body = `${text}\n`;
  else if (/^[0-9a-fA-F]{64}$/.test(text)) body = `/key/swarm/psk/1.0.0/\n/base16/\n${text.toLowerCase()}\n`;
  else
    throw new GregorError(
      'INVALID_CONFIG',
      'cluster.key must be a libp2p swarm key (/key/swarm/psk/1.0.0/ ...) or 64 hex digits',
    );
  const dir = join(dataDir, 'cluster');
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'inline-cluster-key');
  const fh = await open(`${path}.tmp`, 'w', 0o600);
  try {
    await fh.writeFile(body);
  } finally {
    await fh.close();
  }
  await rename(`${path}.tmp`, path);
  return path;
}

/** Maps the configuration onto `startClusterNode` options (pure apart from reading interfaces). */
export function clusterNodeOptionsFromConfig(
  config: GregorConfig,
  advertise: AdvertisedAddresses,
  origins?: ConfigOrigins,
): ClusterNodeOptions {
  const c = config.cluster;
  const opts: ClusterNodeOptions = {
    dataDir: config.node.dataDir,
    clusterName: c.name,
    clusterPort: c.port,
    host: c.host,
    nodeName: config.node.name,
    seeds: c.seeds,
    mdns: c.mdns,
    zone: config.node.zone,
    gossipIntervalMs: c.gossipIntervalMs,
    maxMessageBytes: c.maxGossipBytes,
    detector: detectorFromConfig(config, origins),
    advertise: { ...advertise },
  };
  if (c.keyFile) opts.clusterKeyFile = c.keyFile;
  // With neither mDNS nor seeds there is nobody to find: the node is alone until others seed to
  // it, so it becomes NORMAL (and serves its partitions) at once instead of after the join wait.
  if (!c.mdns && c.seeds.length === 0) opts.joinTimeoutMs = 0;
  // A fixed port is needed to announce before binding; with port 0 libp2p's own addresses are used.
  if (c.advertisedHost && c.port > 0) opts.advertise!.cluster = [toMultiaddr(c.advertisedHost, c.port)];
  return opts;
}

/** Member counts by announced status and by this node's liveness judgement. */
export interface ClusterSummary {
  clusterName: string;
  self: { id: string; name: string; generation: number; status: string };
  joined: boolean;
  members: number;
  byStatus: Record<string, number>;
  byLiveness: Record<string, number>;
}

/** Summary of a member list (what `gregorctl cluster status` prints). */
export function summarize(node: ClusterNode): ClusterSummary {
  const members = node.members();
  const self = node.self();
  const byStatus: Record<string, number> = {};
  const byLiveness: Record<string, number> = {};
  for (const m of members) {
    byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
    byLiveness[m.liveness] = (byLiveness[m.liveness] ?? 0) + 1;
  }
  return {
    clusterName: node.clusterName,
    self: { id: self.id, name: self.name, generation: self.generation, status: self.status },
    joined: node.isJoined(),
    members: members.length,
    byStatus,
    byLiveness,
  };
}

/**
 * The status label of `gregormq_cluster_members`: the announced status, except that a member
 * this node convicts or suspects is counted as DEAD or SUSPECT, so "NORMAL" on a dashboard means
 * members that are both in the cluster and answering.
 */
export function metricStatus(m: ClusterMember): string {
  if (m.status === 'NORMAL' && m.liveness !== 'alive') return m.liveness.toUpperCase();
  return m.status;
}

/** Options of `startBrokerCluster`. */
export interface BrokerClusterOptions {
  config: GregorConfig;
  /** `loadConfig().origins`, so only explicitly set detector values override the tuned presets. */
  origins?: ConfigOrigins;
  metrics?: BrokerMetrics;
  logger: Logger;
}

/** The cluster layer of a running broker. */
export interface BrokerCluster {
  /** The membership node (placement and routing read `members()` from here). */
  readonly node: ClusterNode;
  /** The TCP port the cluster transport bound (useful with port 0), or undefined. */
  readonly clusterPort: number | undefined;
  /** Announces LEFT, waits briefly for it to spread, then stops gossip and the transport. */
  leave(): Promise<void>;
  /** Stops without announcing (crash-like; peers will convict this node). */
  stop(): Promise<void>;
}

/** libp2p's listen errors are a page long; name the config key instead. */
function explainStartError(err: unknown, config: GregorConfig): Error {
  const text = String((err as Error)?.message ?? err);
  if (/EADDRINUSE/.test(text)) {
    return new GregorError(
      'INVALID_CONFIG',
      `cluster.port ${config.cluster.port} on ${config.cluster.host} is already in use (--cluster-port; 0 picks a free port)`,
      { cause: err },
    );
  }
  if (/EADDRNOTAVAIL/.test(text)) {
    return new GregorError(
      'INVALID_CONFIG',
      `cluster.host ${config.cluster.host} is not an address of this machine (--cluster-host)`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(text);
}

function boundPort(addrs: string[]): number | undefined {
  for (const a of addrs) {
    const p = /\/tcp\/(\d+)/.exec(a)?.[1];
    if (p) return Number(p);
  }
  return undefined;
}

/**
 * Starts the cluster layer of `broker` (whose ports must already be bound): joins the cluster,
 * marks `/health/ready` not ready until joined, and registers membership metrics.
 */
export async function startBrokerCluster(broker: Broker, o: BrokerClusterOptions): Promise<BrokerCluster> {
  const log = o.logger.child({ component: 'cluster' });
  broker.setReadyCheck(CLUSTER_READY_CHECK, false, 'starting');
  broker.serverContext.clusterName = o.config.cluster.name;
  const advertise = advertisedAddresses(o.config, { client: broker.port, http: broker.httpPort });
  const opts = clusterNodeOptionsFromConfig(o.config, advertise, o.origins);
  if (o.config.cluster.key && !opts.clusterKeyFile) {
    opts.clusterKeyFile = await writeInlineClusterKey(o.config.node.dataDir, o.config.cluster.key);
  }
  if (o.config.cluster.advertisedHost && o.config.cluster.port === 0) {
    log.warn(
      { key: 'cluster.advertisedHost' },
      'cluster.advertisedHost is ignored with cluster.port 0: the port is unknown until bound',
    );
  }
  let node: ClusterNode;
  try {
    node = await startClusterNode({ ...opts, log });
  } catch (err) {
    const e = explainStartError(err, o.config);
    broker.setReadyCheck(CLUSTER_READY_CHECK, false, `failed: ${e.message}`);
    throw e;
  }
  const clusterPort = boundPort(node.listenAddresses());
  log.info(
    { clusterPort, peerId: node.id, generation: node.generation, cluster: node.clusterName },
    'cluster listening',
  );
  if (node.isJoined()) broker.setReadyCheck(CLUSTER_READY_CHECK, true);
  else broker.setReadyCheck(CLUSTER_READY_CHECK, false, 'joining');
  node.joined.then(() => {
    broker.setReadyCheck(CLUSTER_READY_CHECK, true);
    log.info({ members: node.members().length }, 'joined the cluster');
  });
  node.on('liveness-changed', (id, from, to, phi) => {
    const name = node.member(id)?.name ?? id;
    const entry = { peer: id, name, from, to, phi: Number(phi.toFixed(2)) };
    if (to === 'dead') log.warn(entry, 'member convicted');
    else log.info(entry, 'member liveness changed');
  });
  node.on('status-changed', (id, from, to) =>
    log.info({ peer: id, name: node.member(id)?.name ?? id, from, to }, 'member status changed'),
  );
  node.on('foreign-peer', (peer, cluster) =>
    log.warn({ peer, cluster }, 'ignoring a peer of another cluster'),
  );
  o.metrics?.setClusterProvider((): ClusterStats => {
    let partitions = 0;
    for (const _ of broker.topics.allPartitions()) partitions++;
    return {
      members: node.members().map((m) => ({
        node: m.name,
        status: metricStatus(m),
        ...(m.isSelf ? {} : { phi: m.phi }),
      })),
      // Until placement and replication land every partition lives and is led here.
      partitionsOwned: partitions,
      partitionsLed: partitions,
      underReplicatedPartitions: 0,
      offlinePartitions: 0,
    };
  });
  let closing: Promise<void> | undefined;
  return {
    node,
    clusterPort,
    leave: () => {
      closing ??= (async () => {
        broker.setReadyCheck(CLUSTER_READY_CHECK, false, 'leaving');
        const confirmations = await node.leave();
        log.info({ confirmations }, 'left the cluster');
        await node.stop();
      })();
      return closing;
    },
    stop: () => {
      closing ??= node.stop();
      return closing;
    },
  };
}

/** What `startClusterLayer` keeps up to date for the `/v1/cluster` routes (see cluster-routes.ts). */
export interface ClusterLayerSource {
  state: 'starting' | 'running' | 'failed' | 'stopped';
  cluster?: BrokerCluster;
  error?: string;
  summarize?: (cluster: BrokerCluster) => ClusterSummary;
}

/**
 * The broker binary's entry: starts the cluster layer and keeps `source` (read by the HTTP routes)
 * in step with it. Rejects when the layer cannot start (port taken, unreadable key file), which
 * the binary treats as fatal: a node that silently runs outside its cluster is worse than none.
 */
export async function startClusterLayer(
  broker: Broker,
  o: BrokerClusterOptions,
  source: ClusterLayerSource,
): Promise<BrokerCluster> {
  source.summarize = (c) => summarize(c.node);
  let cluster: BrokerCluster;
  try {
    cluster = await startBrokerCluster(broker, o);
  } catch (err) {
    source.state = 'failed';
    source.error = (err as Error).message;
    throw err;
  }
  source.cluster = cluster;
  source.state = 'running';
  const done = () => {
    source.state = 'stopped';
  };
  return {
    node: cluster.node,
    clusterPort: cluster.clusterPort,
    leave: () => cluster.leave().finally(done),
    stop: () => cluster.stop().finally(done),
  };
}

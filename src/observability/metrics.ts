/**
 * The broker's Prometheus metrics (prom-client). Each broker gets its own Registry, never the
 * global one, so several brokers can live in one test process.
 *
 * Two kinds of metric. Event counters and histograms (requests, bytes, fsync latency) are updated
 * by the code that sees the event, through helpers that cache label children so the hot path does
 * no label hashing. Gauges that mirror state (log sizes, lag, membership) are filled at scrape time
 * by provider functions the broker registers (`setLogStatsProvider(() => ...)`), so keeping them
 * current costs nothing between scrapes.
 *
 * Names follow Prometheus conventions: `gregormq_` prefix, `_total` on counters, base units
 * (`_seconds`, `_bytes`).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One partition's log, as the storage layer reports it. */
export interface LogStat {
  topic: string;
  partition: number;
  sizeBytes: number;
  segments: number;
  startOffset: number;
  endOffset: number;
}

/** One consumer group's lag on one partition (log end offset minus committed offset). */
export interface GroupLagStat {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

/** One consumer group's live member count. */
export interface GroupMembersStat {
  group: string;
  members: number;
}

/** One cluster member as this node sees it; `status` e.g. normal, joining, leaving, suspect, dead. */
export interface ClusterMemberStat {
  node: string;
  status: string;
  /** Phi accrual suspicion of this member; omitted for this node itself. */
  phi?: number;
}

/** This node's view of the cluster and of the partitions it holds. */
export interface ClusterStats {
  members: ClusterMemberStat[];
  /** Partition replicas stored on this node. */
  partitionsOwned: number;
  /** Partitions this node leads. */
  partitionsLed: number;
  /** Led partitions whose in-sync replica set is smaller than the replication factor. */
  underReplicatedPartitions: number;
  /** Partitions with no leader that can commit (read-only), as far as this node knows. */
  offlinePartitions: number;
}

/** A follower's lag behind this leader on one partition, in messages. */
export interface ReplicationLagStat {
  topic: string;
  partition: number;
  follower: string;
  lagMessages: number;
}

/** Static facts about the node, exported as gregormq_node_info{...} 1. */
export interface NodeInfo {
  node: string;
  cluster: string;
  version: string;
  zone: string;
}

/** A provider may compute its answer synchronously or not. */
export type Provider<T> = () => Iterable<T> | Promise<Iterable<T>>;

/** Options for createMetrics. */
export interface CreateMetricsOptions {
  /** Add Node.js process metrics (prefixed gregormq_). Default true. */
  processMetrics?: boolean;
  /** Called when a provider throws; the affected gauges are left empty for that scrape. */
  onCollectError?: (err: unknown, metric: string) => void;
}

/** Request latency buckets, seconds: 50 us to 10 s (produce acks=all waits on followers). */
const REQUEST_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** fsync latency buckets, seconds: 10 us (page cache only) to 5 s (a struggling disk). */
const FSYNC_BUCKETS = [
  0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
];

/** Default metrics of prom-client that break the naming rules; dropped from the registry. */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** The metrics of one broker and the helpers that update them. */
export interface BrokerMetrics {
  readonly registry: Registry;
  /** Content-Type header for render()'s output. */
  readonly contentType: string;
  /** The text exposition format, running every provider first. */
  render(): Promise<string>;

  /** Counts one request and its latency; `outcome` is 'ok' or an error code from src/errors.ts. */
  observeRequest(op: string, outcome: string, seconds: number): void;
  /** Messages and bytes appended to a topic by producers. */
  recordIn(topic: string, messages: number, bytes: number): void;
  /** Messages and bytes sent from a topic to consumers. */
  recordOut(topic: string, messages: number, bytes: number): void;
  /** Drops every per-topic series of a deleted topic. */
  forgetTopic(topic: string): void;
  connectionOpened(): void;
  connectionClosed(): void;
  observeFsync(seconds: number): void;
  setNodeInfo(info: NodeInfo): void;

  setLogStatsProvider(provider: Provider<LogStat> | undefined): void;
  setGroupLagProvider(provider: Provider<GroupLagStat> | undefined): void;
  setGroupMembersProvider(provider: Provider<GroupMembersStat> | undefined): void;
  setClusterProvider(provider: (() => ClusterStats | Promise<ClusterStats>) | undefined): void;
  setReplicationLagProvider(provider: Provider<ReplicationLagStat> | undefined): void;

  /** The metric objects, for updates the helpers above do not cover. */
  readonly m: ReturnType<typeof defineMetrics>;
}

/**
 * Declares every metric on `registry`. Gauges of one family all get the family's `collect` hook:
 * prom-client collects every metric of a scrape concurrently, so a sibling without the hook could
 * be serialised before the family's provider has filled it.
 */
function defineMetrics(registry: Registry, collect: (family: string) => Promise<void>) {
  const registers = [registry];
  const hook = (family: string) => ({ collect: () => collect(family) });
  return {
    requestsTotal: new Counter({
      name: 'gregormq_requests_total',
      help: 'Client requests handled, by operation and outcome (ok or an error code).',
      labelNames: ['op', 'outcome'] as const,
      registers,
      ...hook('counters'),
    }),
    requestDuration: new Histogram({
      name: 'gregormq_request_duration_seconds',
      help: 'Time from reading a request to writing its response, by operation.',
      labelNames: ['op'] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    requestsInFlight: new Gauge({
      name: 'gregormq_requests_in_flight',
      help: 'Requests read but not yet answered, over all connections.',
      registers,
    }),
    messagesIn: new Counter({
      name: 'gregormq_messages_in_total',
      help: 'Messages appended by producers, by topic.',
      labelNames: ['topic'] as const,
      registers,
      ...hook('counters'),
    }),
    messagesOut: new Counter({
      name: 'gregormq_messages_out_total',
      help: 'Messages delivered to consumers, by topic.',
      labelNames: ['topic'] as const,
      registers,
      ...hook('counters'),
    }),
    bytesIn: new Counter({
      name: 'gregormq_bytes_in_total',
      help: 'Record batch bytes appended by producers, by topic.',
      labelNames: ['topic'] as const,
      registers,
      ...hook('counters'),
    }),
    bytesOut: new Counter({
      name: 'gregormq_bytes_out_total',
      help: 'Record batch bytes delivered to consumers, by topic.',
      labelNames: ['topic'] as const,
      registers,
      ...hook('counters'),
    }),
    connections: new Gauge({ name: 'gregormq_connections', help: 'Open client connections.', registers }),
    connectionsTotal: new Counter({
      name: 'gregormq_connections_total',
      help: 'Client connections accepted since start.',
      registers,
    }),
    logSize: new Gauge({
      name: 'gregormq_log_size_bytes',
      help: 'Bytes on disk of a partition log (all segments).',
      labelNames: ['topic', 'partition'] as const,
      registers,
      ...hook('log'),
    }),
    logSegments: new Gauge({
      name: 'gregormq_log_segments',
      help: 'Segment files of a partition log.',
      labelNames: ['topic', 'partition'] as const,
      registers,
      ...hook('log'),
    }),
    logStartOffset: new Gauge({
      name: 'gregormq_log_start_offset',
      help: 'First offset still kept in a partition log.',
      labelNames: ['topic', 'partition'] as const,
      registers,
      ...hook('log'),
    }),
    logEndOffset: new Gauge({
      name: 'gregormq_log_end_offset',
      help: 'Offset the next message appended to a partition log will get.',
      labelNames: ['topic', 'partition'] as const,
      registers,
      ...hook('log'),
    }),
    fsyncDuration: new Histogram({
      name: 'gregormq_fsync_duration_seconds',
      help: 'Time one fsync of a log segment took.',
      buckets: FSYNC_BUCKETS,
      registers,
    }),
    groupLag: new Gauge({
      name: 'gregormq_consumer_group_lag',
      help: 'Messages between a consumer group committed offset and the log end, by partition.',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers,
      ...hook('groupLag'),
    }),
    groupMembers: new Gauge({
      name: 'gregormq_consumer_group_members',
      help: 'Live members of a consumer group.',
      labelNames: ['group'] as const,
      registers,
      ...hook('groupMembers'),
    }),
    groupRebalances: new Counter({
      name: 'gregormq_consumer_group_rebalances_total',
      help: 'Partition reassignments of a consumer group.',
      labelNames: ['group'] as const,
      registers,
    }),
    redelivered: new Counter({
      name: 'gregormq_messages_redelivered_total',
      help: 'Queue-style messages delivered again after a nack or an ack-wait timeout.',
      labelNames: ['group', 'topic'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'gregormq_messages_dead_lettered_total',
      help: 'Queue-style messages moved to the dead-letter topic after groups.maxDeliveries.',
      labelNames: ['group', 'topic'] as const,
      registers,
    }),
    clusterMembers: new Gauge({
      name: 'gregormq_cluster_members',
      help: 'Cluster members this node knows of, by status.',
      labelNames: ['status'] as const,
      registers,
      ...hook('cluster'),
    }),
    memberPhi: new Gauge({
      name: 'gregormq_cluster_member_phi',
      help: 'Phi accrual suspicion of each peer (convicted above cluster.phiThreshold).',
      labelNames: ['node'] as const,
      registers,
      ...hook('cluster'),
    }),
    partitionsOwned: new Gauge({
      name: 'gregormq_partitions_owned',
      help: 'Partition replicas stored on this node.',
      registers,
      ...hook('cluster'),
    }),
    partitionsLed: new Gauge({
      name: 'gregormq_partitions_led',
      help: 'Partitions this node leads.',
      registers,
      ...hook('cluster'),
    }),
    underReplicated: new Gauge({
      name: 'gregormq_under_replicated_partitions',
      help: 'Partitions led here whose in-sync replica set is smaller than their replication factor.',
      registers,
      ...hook('cluster'),
    }),
    offlinePartitions: new Gauge({
      name: 'gregormq_offline_partitions',
      help: 'Partitions without a leader that can commit (read-only), as seen by this node.',
      registers,
      ...hook('cluster'),
    }),
    replicationLag: new Gauge({
      name: 'gregormq_replication_lag_messages',
      help: 'Messages a follower is behind this leader, by partition and follower.',
      labelNames: ['topic', 'partition', 'follower'] as const,
      registers,
      ...hook('replication'),
    }),
    leaderElections: new Counter({
      name: 'gregormq_leader_elections_total',
      help: 'Partition leader elections this node won.',
      registers,
    }),
    gossipRounds: new Counter({
      name: 'gregormq_gossip_rounds_total',
      help: 'Gossip exchanges this node started.',
      registers,
    }),
    partitionMoves: new Counter({
      name: 'gregormq_partition_moves_total',
      help: 'Replica moves (add then remove) this node took part in.',
      registers,
    }),
    nodeInfo: new Gauge({
      name: 'gregormq_node_info',
      help: 'Always 1; labels describe this node.',
      labelNames: ['node', 'cluster', 'version', 'zone'] as const,
      registers,
    }),
  };
}

/** Creates a fresh registry with every GregorMQ metric (and, by default, the process metrics). */
export function createMetrics(options: CreateMetricsOptions = {}): BrokerMetrics {
  const registry = new Registry();
  const collectors: Record<string, () => Promise<void>> = {};
  // One provider call per family per scrape, shared by the family's gauges while it runs.
  const running = new Map<string, Promise<void>>();
  const collect = (family: string): Promise<void> => {
    let p = running.get(family);
    if (!p) {
      p = (collectors[family]?.() ?? Promise.resolve()).finally(() => running.delete(family));
      running.set(family, p);
    }
    return p;
  };
  const m = defineMetrics(registry, collect);
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'gregormq_' });
    // prom-client names these gauges *_total, which `promtool check metrics` rejects (only counters
    // may end in _total). The per-type gauges without the suffix stay; their sum is the same number.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`gregormq_${name}`);
  }

  const guard = async (metric: string, gauges: Gauge<string>[], fill: () => Promise<void>): Promise<void> => {
    for (const g of gauges) g.reset();
    try {
      await fill();
    } catch (err) {
      for (const g of gauges) g.reset();
      options.onCollectError?.(err, metric);
    }
  };

  let logProvider: Provider<LogStat> | undefined;
  let lagProvider: Provider<GroupLagStat> | undefined;
  let membersProvider: Provider<GroupMembersStat> | undefined;
  let clusterProvider: (() => ClusterStats | Promise<ClusterStats>) | undefined;
  let replicationProvider: Provider<ReplicationLagStat> | undefined;

  collectors.log = () =>
    guard(
      'gregormq_log_size_bytes',
      [m.logSize, m.logSegments, m.logStartOffset, m.logEndOffset],
      async () => {
        if (!logProvider) return;
        for (const s of await logProvider()) {
          // Every topic's in/out counters exist from here on at 0: a series born at its first
          // increment would hide that increment from rate() (Prometheus needs two samples).
          topicChildren(s.topic);
          const labels = { topic: s.topic, partition: String(s.partition) };
          m.logSize.set(labels, s.sizeBytes);
          m.logSegments.set(labels, s.segments);
          m.logStartOffset.set(labels, s.startOffset);
          m.logEndOffset.set(labels, s.endOffset);
        }
      },
    );
  collectors.groupLag = () =>
    guard('gregormq_consumer_group_lag', [m.groupLag], async () => {
      if (!lagProvider) return;
      for (const s of await lagProvider()) {
        m.groupLag.set({ group: s.group, topic: s.topic, partition: String(s.partition) }, s.lag);
      }
    });
  collectors.groupMembers = () =>
    guard('gregormq_consumer_group_members', [m.groupMembers], async () => {
      if (!membersProvider) return;
      for (const s of await membersProvider()) m.groupMembers.set({ group: s.group }, s.members);
    });
  const clusterGauges = [m.clusterMembers, m.memberPhi, m.partitionsOwned, m.partitionsLed];
  collectors.cluster = () =>
    guard(
      'gregormq_cluster_members',
      [...clusterGauges, m.underReplicated, m.offlinePartitions],
      async () => {
        if (!clusterProvider) return;
        const stats = await clusterProvider();
        const byStatus = new Map<string, number>();
        for (const member of stats.members) {
          byStatus.set(member.status, (byStatus.get(member.status) ?? 0) + 1);
          if (member.phi !== undefined) m.memberPhi.set({ node: member.node }, member.phi);
        }
        for (const [status, count] of byStatus) m.clusterMembers.set({ status }, count);
        m.partitionsOwned.set(stats.partitionsOwned);
        m.partitionsLed.set(stats.partitionsLed);
        m.underReplicated.set(stats.underReplicatedPartitions);
        m.offlinePartitions.set(stats.offlinePartitions);
      },
    );
  collectors.replication = () =>
    guard('gregormq_replication_lag_messages', [m.replicationLag], async () => {
      if (!replicationProvider) return;
      for (const s of await replicationProvider()) {
        m.replicationLag.set(
          { topic: s.topic, partition: String(s.partition), follower: s.follower },
          s.lagMessages,
        );
      }
    });

  // Label children cached per key: prom-client hashes labels on every labels() call otherwise.
  // The per-message counters are also summed here and handed to prom-client only when a scrape
  // collects them (the 'counters' hook): even a cached child hashes its labels on every inc(),
  // which was about 13% of a publishing broker's garbage at 10k msgs/s.
  const requestCounters = new Map<string, PendingCounter>();
  const requestTimers = new Map<string, Histogram.Internal<'op'>>();
  const topicCounters = new Map<string, TopicChildren>();
  const topicChildren = (topic: string): TopicChildren => {
    let c = topicCounters.get(topic);
    if (!c) {
      c = {
        messagesIn: pending(m.messagesIn.labels(topic)),
        messagesOut: pending(m.messagesOut.labels(topic)),
        bytesIn: pending(m.bytesIn.labels(topic)),
        bytesOut: pending(m.bytesOut.labels(topic)),
      };
      // labels() alone exports nothing; inc(0) makes the series exist at 0.
      for (const counter of Object.values(c)) counter.child.inc(0);
      topicCounters.set(topic, c);
    }
    return c;
  };

  collectors.counters = async () => {
    // After the log family, which makes every topic's in/out series exist (at 0) first.
    await collect('log');
    for (const c of requestCounters.values()) flushPending(c);
    for (const t of topicCounters.values()) for (const c of Object.values(t)) flushPending(c);
  };

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest(op, outcome, seconds) {
      const key = `${op}\u0000${outcome}`;
      let counter = requestCounters.get(key);
      if (!counter) {
        counter = pending(m.requestsTotal.labels(op, outcome));
        requestCounters.set(key, counter);
      }
      counter.n++;
      let timer = requestTimers.get(op);
      if (!timer) {
        timer = m.requestDuration.labels(op);
        requestTimers.set(op, timer);
      }
      timer.observe(seconds);
    },
    recordIn(topic, messages, bytes) {
      const c = topicChildren(topic);
      c.messagesIn.n += messages;
      c.bytesIn.n += bytes;
    },
    recordOut(topic, messages, bytes) {
      const c = topicChildren(topic);
      c.messagesOut.n += messages;
      c.bytesOut.n += bytes;
    },
    forgetTopic(topic) {
      topicCounters.delete(topic);
      for (const counter of [m.messagesIn, m.messagesOut, m.bytesIn, m.bytesOut]) counter.remove(topic);
    },
    connectionOpened() {
      m.connections.inc();
      m.connectionsTotal.inc();
    },
    connectionClosed() {
      m.connections.dec();
    },
    observeFsync(seconds) {
      m.fsyncDuration.observe(seconds);
    },
    setNodeInfo(info) {
      m.nodeInfo.reset();
      m.nodeInfo.set({ ...info }, 1);
    },
    setLogStatsProvider(p) {
      logProvider = p;
    },
    setGroupLagProvider(p) {
      lagProvider = p;
    },
    setGroupMembersProvider(p) {
      membersProvider = p;
    },
    setClusterProvider(p) {
      clusterProvider = p;
    },
    setReplicationLagProvider(p) {
      replicationProvider = p;
    },
    m,
  };
}

/** A counter series and what was counted since the last scrape collected it. */
interface PendingCounter {
  child: Counter.Internal;
  n: number;
}

function pending(child: Counter.Internal): PendingCounter {
  return { child, n: 0 };
}

function flushPending(c: PendingCounter): void {
  if (c.n === 0) return;
  c.child.inc(c.n);
  c.n = 0;
}

interface TopicChildren {
  messagesIn: PendingCounter;
  messagesOut: PendingCounter;
  bytesIn: PendingCounter;
  bytesOut: PendingCounter;
}

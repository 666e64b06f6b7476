/**
 * The one configuration schema of GregorMQ (convict). Every key says what it means, its unit and
 * its default; `env` is its GREGOR_* variable and `arg` its short flag (every key can also be set
 * with `--set key=value`). load-config.ts reads the sources itself, so convict's own env/argv
 * import is switched off; convict holds the schema, the defaults and the final strict validation.
 *
 * Timer keys listed in PRESETS take their default from the preset (`lan` unless chosen otherwise),
 * like memberlist's DefaultLANConfig / DefaultWANConfig / DefaultLocalConfig.
 */
import os from 'node:os';
import type convict from 'convict';
import type { FormatName, LogLevel, PresetName } from './formats.js';

/** The effective configuration handed to the broker: plain data, durations in ms, sizes in bytes. */
export interface GregorConfig {
  preset: PresetName;
  node: { name: string; dataDir: string; zone: string };
  server: {
    host: string;
    port: number;
    advertisedHost: string;
    maxFrameBytes: number;
    idleTimeoutMs: number;
    maxInFlightPerConnection: number;
    maxConnections: number;
  };
  http: { host: string; port: number };
  cluster: {
    name: string;
    host: string;
    port: number;
    advertisedHost: string;
    seeds: string[];
    keyFile: string;
    key: string;
    mdns: boolean;
    gossipIntervalMs: number;
    maxGossipBytes: number;
    phiThreshold: number;
    acceptablePauseMs: number;
    minStdDeviationMs: number;
    deadGracePeriodMs: number;
  };
  storage: {
    fsync: string;
    segmentBytes: number;
    segmentMs: number;
    indexIntervalBytes: number;
    maxBatchBytes: number;
  };
  topics: {
    defaultPartitions: number;
    defaultReplicationFactor: number;
    minInsyncReplicas: number;
    defaultRetentionMs: number;
    defaultRetentionBytes: number;
    autoCreate: boolean;
  };
  groups: {
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    rebalanceDelayMs: number;
    ackWaitMs: number;
    maxDeliveries: number;
    offsetsRetentionMs: number;
  };
  log: { level: LogLevel; pretty: 'auto' | boolean };
  metrics: { enabled: boolean; processMetrics: boolean };
}

type LeafKeys<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends readonly unknown[]
    ? `${P}${K}`
    : T[K] extends object
      ? LeafKeys<T[K], `${P}${K}.`>
      : `${P}${K}`;
}[keyof T & string];

/** A dotted configuration key such as `server.port`. */
export type ConfigKey = LeafKeys<GregorConfig>;

/** What the schema says about one key, beyond convict's fields. */
export interface KeySpec {
  doc: string;
  default: unknown;
  format: FormatName;
  env: string;
  arg?: string;
  sensitive?: boolean;
  /** Relative paths are resolved against the working directory. */
  path?: boolean;
}

const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;

/** Hostname cut down to the node-name alphabet, so the default always validates. */
function defaultNodeName(): string {
  const cleaned = os
    .hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return cleaned || 'gregormq';
}

/** Builds the schema; the node-name default is read from the host when called. */
export function buildSchema(): convict.Schema<GregorConfig> {
  return {
    preset: {
      doc: 'Timer preset: local (short timers, no mDNS; for tests on one machine), lan (default), wan (long timers for slow links). Sets the defaults of the keys marked "preset".',
      format: 'gregor-preset',
      default: 'lan',
      env: 'GREGOR_PRESET',
      arg: 'preset',
    },
    node: {
      name: {
        doc: 'Name of this node in logs, metrics and the cluster; must be unique in the cluster. Default: the host name.',
        format: 'gregor-name',
        default: defaultNodeName(),
        env: 'GREGOR_NODE_NAME',
        arg: 'node-name',
      },
      dataDir: {
        doc: 'Directory for logs, metadata and the node key; relative paths are resolved against the working directory.',
        format: 'gregor-path',
        default: './data',
        env: 'GREGOR_DATA_DIR',
        arg: 'data-dir',
        path: true,
      },
      zone: {
        doc: 'Failure zone (rack, availability zone) of this node; replicas go to distinct zones first. "" = no zone.',
        format: 'gregor-name-or-empty',
        default: '',
        env: 'GREGOR_ZONE',
        arg: 'zone',
      },
    },
    server: {
      host: {
        doc: 'Address the client protocol (TCP) listens on.',
        format: 'gregor-host',
        default: '0.0.0.0',
        env: 'GREGOR_HOST',
        arg: 'host',
      },
      port: {
        doc: 'Client protocol (TCP) port; 0 = pick a free port (the bound port is logged).',
        format: 'gregor-port',
        default: 9440,
        env: 'GREGOR_PORT',
        arg: 'port',
      },
      advertisedHost: {
        doc: 'Host that clients are told to connect to for this node (like Kafka advertised.listeners). "" = the address the node finds for itself.',
        format: 'gregor-host-or-empty',
        default: '',
        env: 'GREGOR_ADVERTISED_HOST',
        arg: 'advertised-host',
      },
      maxFrameBytes: {
        doc: 'Largest request frame a client may send, bytes; room for one largest batch plus headers. Default 17 MiB.',
        format: 'gregor-positive-byte-size',
        default: 17 * MiB,
        env: 'GREGOR_SERVER_MAX_FRAME_BYTES',
      },
      idleTimeoutMs: {
        doc: 'Close a client connection that sent nothing for this long, ms; 0 = never. Default 10 min (Kafka connections.max.idle.ms).',
        format: 'gregor-duration-ms',
        default: 600_000,
        env: 'GREGOR_SERVER_IDLE_TIMEOUT_MS',
      },
      maxInFlightPerConnection: {
        doc: 'Requests one connection may have in flight before the server stops reading from it (backpressure). Default 128.',
        format: 'gregor-positive-int',
        default: 128,
        env: 'GREGOR_SERVER_MAX_IN_FLIGHT_PER_CONNECTION',
      },
      maxConnections: {
        doc: 'Client connections accepted at once; more are refused. Default 10000.',
        format: 'gregor-positive-int',
        default: 10_000,
        env: 'GREGOR_SERVER_MAX_CONNECTIONS',
      },
    },
    http: {
      host: {
        doc: 'Address the HTTP server (/metrics, /health, /v1 admin API) listens on.',
        format: 'gregor-host',
        default: '0.0.0.0',
        env: 'GREGOR_HTTP_HOST',
        arg: 'http-host',
      },
      port: {
        doc: 'HTTP port for /metrics, /health and the /v1 admin API; 0 = pick a free port.',
        format: 'gregor-port',
        default: 9441,
        env: 'GREGOR_HTTP_PORT',
        arg: 'http-port',
      },
    },
    cluster: {
      name: {
        doc: 'Cluster name; nodes only join peers with the same name, so two clusters can share a LAN.',
        format: 'gregor-name',
        default: 'gregormq',
        env: 'GREGOR_CLUSTER_NAME',
        arg: 'cluster-name',
      },
      host: {
        doc: 'Address the cluster (libp2p) transport listens on.',
        format: 'gregor-host',
        default: '0.0.0.0',
        env: 'GREGOR_CLUSTER_HOST',
        arg: 'cluster-host',
      },
      port: {
        doc: 'Cluster (libp2p TCP) port; 0 = pick a free port.',
        format: 'gregor-port',
        default: 9442,
        env: 'GREGOR_CLUSTER_PORT',
        arg: 'cluster-port',
      },
      advertisedHost: {
        doc: 'Host other nodes should dial to reach this node. "" = the addresses libp2p finds.',
        format: 'gregor-host-or-empty',
        default: '',
        env: 'GREGOR_CLUSTER_ADVERTISED_HOST',
      },
      seeds: {
        doc: 'Nodes to contact on start: host:port or DNS names (a name stands for every address it resolves to, port defaults to cluster.port). Comma-separated in env and flags. Default: none (mDNS only).',
        format: 'gregor-host-port-list',
        default: [],
        env: 'GREGOR_SEEDS',
        arg: 'seeds',
      },
      keyFile: {
        doc: 'Path of the cluster pre-shared key file; when set, nodes without the same key cannot connect. "" = open cluster.',
        format: 'gregor-path-or-empty',
        default: '',
        env: 'GREGOR_CLUSTER_KEY_FILE',
        arg: 'cluster-key-file',
        path: true,
      },
      key: {
        doc: 'The cluster pre-shared key given inline instead of cluster.keyFile (secret, masked when printed). Prefer keyFile. "" = none.',
        format: 'gregor-secret',
        default: '',
        env: 'GREGOR_CLUSTER_KEY',
        sensitive: true,
      },
      mdns: {
        doc: 'Find peers on the local network with mDNS. Preset: local off, lan and wan on.',
        format: 'gregor-boolean',
        default: true,
        env: 'GREGOR_MDNS',
        arg: 'mdns',
      },
      gossipIntervalMs: {
        doc: 'Time between gossip rounds, ms. Preset: local 100, lan 500, wan 1000.',
        format: 'gregor-positive-duration-ms',
        default: 500,
        env: 'GREGOR_CLUSTER_GOSSIP_INTERVAL_MS',
      },
      maxGossipBytes: {
        doc: 'Largest gossip message, bytes; deltas beyond it wait for the next round. Default 64 KiB.',
        format: 'gregor-positive-byte-size',
        default: 64 * 1024,
        env: 'GREGOR_CLUSTER_MAX_GOSSIP_BYTES',
      },
      phiThreshold: {
        doc: 'Phi accrual failure detector: suspicion level at which a node is convicted (Akka: 8). Preset: local 8, lan 8, wan 12.',
        format: 'gregor-positive-number',
        default: 8,
        env: 'GREGOR_CLUSTER_PHI_THRESHOLD',
      },
      acceptablePauseMs: {
        doc: 'Heartbeat pause the failure detector tolerates before suspicion rises, ms (Akka: 2 s). Preset: local 500, lan 2000, wan 5000.',
        format: 'gregor-duration-ms',
        default: 2000,
        env: 'GREGOR_CLUSTER_ACCEPTABLE_PAUSE_MS',
      },
      minStdDeviationMs: {
        doc: 'Floor of the heartbeat-interval standard deviation the failure detector assumes, ms (Akka: 100). Preset: local 50, lan 100, wan 500.',
        format: 'gregor-positive-duration-ms',
        default: 100,
        env: 'GREGOR_CLUSTER_MIN_STD_DEVIATION_MS',
      },
      deadGracePeriodMs: {
        doc: 'How long a convicted node may stay down before its replicas are moved elsewhere, ms. Preset: local 2000, lan 60000, wan 300000.',
        format: 'gregor-duration-ms',
        default: 60_000,
        env: 'GREGOR_CLUSTER_DEAD_GRACE_PERIOD_MS',
      },
    },
    storage: {
      fsync: {
        doc: 'When appended data is fsynced: always (before acknowledging), interval:<ms> (at most every ms), os (leave it to the kernel). Default interval:1000.',
        format: 'gregor-fsync',
        default: 'interval:1000',
        env: 'GREGOR_FSYNC',
        arg: 'fsync',
      },
      segmentBytes: {
        doc: 'Roll a partition segment once it holds this many bytes. Default 128 MiB.',
        format: 'gregor-positive-byte-size',
        default: 128 * MiB,
        env: 'GREGOR_STORAGE_SEGMENT_BYTES',
      },
      segmentMs: {
        doc: 'Roll a partition segment once its first batch is this old, ms. Default 7 days.',
        format: 'gregor-positive-duration-ms',
        default: 7 * DAY_MS,
        env: 'GREGOR_STORAGE_SEGMENT_MS',
      },
      indexIntervalBytes: {
        doc: 'Add a sparse offset-index entry every this many bytes of log. Default 4 KiB.',
        format: 'gregor-byte-size',
        default: 4096,
        env: 'GREGOR_STORAGE_INDEX_INTERVAL_BYTES',
      },
      maxBatchBytes: {
        doc: 'Largest record batch a producer may append, bytes. Default 16 MiB.',
        format: 'gregor-positive-byte-size',
        default: 16 * MiB,
        env: 'GREGOR_STORAGE_MAX_BATCH_BYTES',
      },
    },
    topics: {
      defaultPartitions: {
        doc: 'Partitions of a topic created without a partition count (Kafka num.partitions). Default 1.',
        format: 'gregor-positive-int',
        default: 1,
        env: 'GREGOR_TOPICS_DEFAULT_PARTITIONS',
      },
      defaultReplicationFactor: {
        doc: 'Replicas per partition of a new topic, capped at the number of nodes. Default 3.',
        format: 'gregor-positive-int',
        default: 3,
        env: 'GREGOR_TOPICS_DEFAULT_REPLICATION_FACTOR',
      },
      minInsyncReplicas: {
        doc: 'In-sync replicas an acks=all write needs, capped at the replication factor (Kafka min.insync.replicas). Default 2.',
        format: 'gregor-positive-int',
        default: 2,
        env: 'GREGOR_TOPICS_MIN_INSYNC_REPLICAS',
      },
      defaultRetentionMs: {
        doc: 'Delete closed segments older than this, ms; -1 = keep forever. Default 7 days (Kafka log.retention.hours=168).',
        format: 'gregor-duration-ms-or-unlimited',
        default: 7 * DAY_MS,
        env: 'GREGOR_TOPICS_DEFAULT_RETENTION_MS',
      },
      defaultRetentionBytes: {
        doc: 'Delete the oldest closed segments while a partition is larger than this, bytes; -1 = no limit. Default -1.',
        format: 'gregor-byte-size-or-unlimited',
        default: -1,
        env: 'GREGOR_TOPICS_DEFAULT_RETENTION_BYTES',
      },
      autoCreate: {
        doc: 'Create a topic with the defaults when a client produces to or subscribes to one that does not exist. Default true.',
        format: 'gregor-boolean',
        default: true,
        env: 'GREGOR_TOPICS_AUTO_CREATE',
        arg: 'auto-create-topics',
      },
    },
    groups: {
      sessionTimeoutMs: {
        doc: 'A group member that sends no heartbeat for this long is removed and its partitions reassigned, ms (Kafka 45 s). Preset: local 3000, lan 45000, wan 60000.',
        format: 'gregor-positive-duration-ms',
        default: 45_000,
        env: 'GREGOR_GROUPS_SESSION_TIMEOUT_MS',
      },
      heartbeatIntervalMs: {
        doc: 'How often group members should heartbeat, ms; must be below groups.sessionTimeoutMs (Kafka 3 s). Preset: local 500, lan 3000, wan 5000.',
        format: 'gregor-positive-duration-ms',
        default: 3000,
        env: 'GREGOR_GROUPS_HEARTBEAT_INTERVAL_MS',
      },
      rebalanceDelayMs: {
        doc: 'Wait this long for more members before the first assignment of an empty group, ms (Kafka group.initial.rebalance.delay.ms). Preset: local 0, lan 3000, wan 5000.',
        format: 'gregor-duration-ms',
        default: 3000,
        env: 'GREGOR_GROUPS_REBALANCE_DELAY_MS',
      },
      ackWaitMs: {
        doc: 'Queue-style delivery: redeliver a message not acknowledged within this time, ms (NATS JetStream AckWait 30 s). Preset: local 5000, lan and wan 30000.',
        format: 'gregor-positive-duration-ms',
        default: 30_000,
        env: 'GREGOR_GROUPS_ACK_WAIT_MS',
      },
      maxDeliveries: {
        doc: 'Queue-style delivery: after this many deliveries a message goes to the dead-letter topic; -1 = retry forever (NATS JetStream MaxDeliver). Default -1.',
        format: 'gregor-deliveries',
        default: -1,
        env: 'GREGOR_GROUPS_MAX_DELIVERIES',
      },
      offsetsRetentionMs: {
        doc: 'Forget the committed offsets of a group that has been empty this long, ms (Kafka offsets.retention.minutes). Default 7 days.',
        format: 'gregor-positive-duration-ms',
        default: 7 * DAY_MS,
        env: 'GREGOR_GROUPS_OFFSETS_RETENTION_MS',
      },
    },
    log: {
      level: {
        doc: 'Log level: trace, debug, info, warn, error, fatal or silent; changeable at run time through the admin API. Default info.',
        format: 'gregor-log-level',
        default: 'info',
        env: 'GREGOR_LOG_LEVEL',
        arg: 'log-level',
      },
      pretty: {
        doc: 'Human-readable logs instead of JSON lines: auto (when stdout is a terminal), true or false. Default auto.',
        format: 'gregor-pretty',
        default: 'auto',
        env: 'GREGOR_LOG_PRETTY',
        arg: 'log-pretty',
      },
    },
    metrics: {
      enabled: {
        doc: 'Serve Prometheus metrics on the HTTP port at /metrics. Default true.',
        format: 'gregor-boolean',
        default: true,
        env: 'GREGOR_METRICS_ENABLED',
        arg: 'metrics',
      },
      processMetrics: {
        doc: 'Include Node.js process metrics (CPU, memory, event loop lag, GC) as gregormq_process_* / gregormq_nodejs_*. Default true.',
        format: 'gregor-boolean',
        default: true,
        env: 'GREGOR_METRICS_PROCESS_METRICS',
      },
    },
  };
}

/** Preset timer values; keys not listed keep the schema default. `lan` repeats the schema defaults. */
export const PRESETS: Record<PresetName, Partial<Record<ConfigKey, unknown>>> = {
  local: {
    'cluster.mdns': false,
    // Tests and laptops run many nodes on one machine: let each cluster port be a free one.
    'cluster.port': 0,
    'cluster.gossipIntervalMs': 100,
    'cluster.phiThreshold': 8,
    'cluster.acceptablePauseMs': 500,
    'cluster.minStdDeviationMs': 50,
    'cluster.deadGracePeriodMs': 2000,
    'groups.sessionTimeoutMs': 3000,
    'groups.heartbeatIntervalMs': 500,
    'groups.rebalanceDelayMs': 0,
    'groups.ackWaitMs': 5000,
  },
  lan: {
    'cluster.mdns': true,
    'cluster.gossipIntervalMs': 500,
    'cluster.phiThreshold': 8,
    'cluster.acceptablePauseMs': 2000,
    'cluster.minStdDeviationMs': 100,
    'cluster.deadGracePeriodMs': 60_000,
    'groups.sessionTimeoutMs': 45_000,
    'groups.heartbeatIntervalMs': 3000,
    'groups.rebalanceDelayMs': 3000,
    'groups.ackWaitMs': 30_000,
  },
  wan: {
    'cluster.mdns': true,
    'cluster.gossipIntervalMs': 1000,
    'cluster.phiThreshold': 12,
    'cluster.acceptablePauseMs': 5000,
    'cluster.minStdDeviationMs': 500,
    'cluster.deadGracePeriodMs': 300_000,
    'groups.sessionTimeoutMs': 60_000,
    'groups.heartbeatIntervalMs': 5000,
    'groups.rebalanceDelayMs': 5000,
    'groups.ackWaitMs': 30_000,
  },
};

/** Walks a schema and lists its leaves as (dotted key, spec), in schema order. */
export function flattenSchema(schema: convict.Schema<GregorConfig>): Map<ConfigKey, KeySpec> {
  const out = new Map<ConfigKey, KeySpec>();
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [name, child] of Object.entries(node)) {
      const key = prefix + name;
      if (child !== null && typeof child === 'object' && 'default' in child) {
        out.set(key as ConfigKey, child as unknown as KeySpec);
      } else {
        walk(child as Record<string, unknown>, `${key}.`);
      }
    }
  };
  walk(schema as unknown as Record<string, unknown>, '');
  return out;
}

/** The env names that are not configuration keys but are GregorMQ's all the same (not "unknown"). */
export const RESERVED_ENV_NAMES: readonly string[] = ['GREGOR_CONFIG', 'GREGOR_BROKER'];
/** Prefixes of GREGOR_* variables used by tests, benchmarks and tools; loadConfig ignores them. */
export const RESERVED_ENV_PREFIXES: readonly string[] = [
  'GREGOR_TEST_',
  'GREGOR_BENCH_',
  'GREGOR_SOAK',
  'GREGOR_CTL_',
  'GREGOR_DEBUG',
];

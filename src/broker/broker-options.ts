import type { Logger } from 'pino';
import type { GroupDefaults } from '../groups/group.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import type { LogOptions } from '../storage/partition-log.js';
import type { TopicDefaults } from './topic-definition.js';

/** Everything a broker node needs, already validated (the config layer builds it). */
export interface BrokerOptions {
  nodeName: string;
  /** Where topics, metadata and producer ids live; null keeps everything in memory. */
  dataDir: string | null;
  host: string;
  /** Client protocol port; 0 picks a free one. */
  port: number;
  httpHost: string;
  /** HTTP port (health, metrics, admin); 0 picks a free one; -1 disables HTTP. */
  httpPort: number;
  /** Address clients are told to use for this node (defaults to host, or 127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  logOptions: LogOptions;
  topicDefaults: TopicDefaults;
  autoCreateTopics: boolean;
  /** Largest frame accepted from a client (bytes). */
  maxFrameBytes: number;
  /** Close a connection with no requests and no subscriptions after this long (ms); 0 = never. */
  idleTimeoutMs: number;
  /** Requests read from one connection before the server stops reading it (backpressure). */
  maxInFlightPerConnection: number;
  maxConnections: number;
  /** How often retention runs (ms). */
  retentionCheckIntervalMs: number;
  logger: Logger;
  /** Prometheus metrics; when given, `/metrics` serves them. */
  metrics?: BrokerMetrics;
  /** Consumer-group timings (config `groups.*`); missing fields take DEFAULT_GROUP_DEFAULTS. */
  groups?: Partial<GroupDefaults>;
}

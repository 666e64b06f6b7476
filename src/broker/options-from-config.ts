import type { Logger } from 'pino';
import type { GregorConfig } from '../config/index.js';
import { parseFsyncPolicy } from '../storage/partition-log.js';
import type { BrokerOptions } from './broker-options.js';

/** Maps the validated configuration onto the broker's options (the one place the two meet). */
export function brokerOptionsFromConfig(config: GregorConfig, logger: Logger): BrokerOptions {
  return {
    nodeName: config.node.name,
    dataDir: config.node.dataDir,
    host: config.server.host,
    port: config.server.port,
    httpHost: config.http.host,
    httpPort: config.http.port,
    advertisedHost: config.server.advertisedHost || undefined,
    logOptions: {
      fsync: parseFsyncPolicy(config.storage.fsync),
      segmentBytes: config.storage.segmentBytes,
      segmentMs: config.storage.segmentMs,
      indexIntervalBytes: config.storage.indexIntervalBytes,
      maxBatchBytes: config.storage.maxBatchBytes,
    },
    topicDefaults: {
      partitions: config.topics.defaultPartitions,
      retentionMs: config.topics.defaultRetentionMs,
      retentionBytes: config.topics.defaultRetentionBytes,
    },
    autoCreateTopics: config.topics.autoCreate,
    maxFrameBytes: config.server.maxFrameBytes,
    idleTimeoutMs: config.server.idleTimeoutMs,
    maxInFlightPerConnection: config.server.maxInFlightPerConnection,
    maxConnections: config.server.maxConnections,
    retentionCheckIntervalMs: 5 * 60 * 1000,
    groups: {
      sessionTimeoutMs: config.groups.sessionTimeoutMs,
      heartbeatIntervalMs: config.groups.heartbeatIntervalMs,
      rebalanceDelayMs: config.groups.rebalanceDelayMs,
      ackWaitMs: config.groups.ackWaitMs,
      maxDeliveries: config.groups.maxDeliveries,
      offsetsRetentionMs: config.groups.offsetsRetentionMs,
    },
    logger,
  };
}

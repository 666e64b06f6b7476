/** Public entry of the observability module: the pino logger tree and the prom-client metrics. */
export {
  type Component,
  type CreateLoggerOptions,
  componentLogger,
  createLogger,
  getLogLevels,
  type Logger,
  type LogLevels,
  setLogLevel,
} from './logger.js';
export {
  type BrokerMetrics,
  type ClusterMemberStat,
  type ClusterStats,
  type CreateMetricsOptions,
  createMetrics,
  type GroupLagStat,
  type GroupMembersStat,
  type LogStat,
  type NodeInfo,
  type Provider,
  type ReplicationLagStat,
} from './metrics.js';

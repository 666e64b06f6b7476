/**
 * The GregorMQ client SDK: `connect()` and the types it hands out. The package entry
 * (src/index.ts) re-exports this module.
 */
export { Admin, type CreateTopicSpec, type OffsetQuery } from './admin.js';
export { Client, connect, type PublishOptions } from './client.js';
export {
  ClientClosedError,
  ConnectionError,
  InvalidOptionError,
  RequestTimeoutError,
} from './client-errors.js';
export type { ClientLogger, ConnectOptions, ReconnectOptions } from './client-options.js';
export { Consumer, type ConsumerOptions, type StartFrom, type SubscribeOptions } from './consumer.js';
export { GroupAdmin, type ResetResult, type ResetTarget } from './group-admin.js';
export {
  GroupConsumer,
  type GroupConsumerOptions,
  type GroupMessage,
  NOT_BEFORE_HEADER,
} from './group-consumer.js';
export type { Message } from './message.js';
export { murmur2, partitionForKey } from './partitioner.js';
export {
  type Partitioner,
  Producer,
  type ProducerOptions,
  type ProducerRecord,
  type RecordMetadata,
} from './producer.js';

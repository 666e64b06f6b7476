/**
 * GregorMQ's public entry: `import { connect } from 'gregormq'`.
 *
 *   const client = await connect({ brokers: '127.0.0.1:9440' });
 *   await client.admin.createTopic({ name: 'orders', partitions: 3 }, { ifNotExists: true });
 *   const producer = client.producer();
 *   const { offset } = await producer.send({ topic: 'orders', key: 'o-1', value: '{"total":12}' });
 *   for await (const m of client.consumer({ topic: 'orders', from: 'earliest' })) { ... }
 */
export * from './client/index.js';
export { ERRORS, type ErrorCode, GregorError, isGregorError } from './errors.js';
export type {
  GroupDescription,
  GroupMode,
  GroupSummary,
  MetadataResponse,
  PartitionLag,
  PartitionState,
  TopicConfig,
  TopicDescription,
  TopicKind,
} from './protocol/index.js';
export type { Compression, RecordHeader } from './storage/record-batch.js';

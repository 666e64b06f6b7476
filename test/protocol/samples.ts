import { GregorError } from '../../src/errors.js';
import {
  encodeConnectionError,
  encodeErrorResponse,
  encodePush,
  encodeRequest,
  encodeResponse,
  type PushInput,
  type PushOp,
  type RequestInput,
  type RequestOp,
  type ResponseInput,
  type ResponseOp,
} from '../../src/protocol/index.js';
import { encodeBatch } from '../../src/storage/record-batch.js';
import { findRepoRoot } from '../helpers/repo-root.js';

/**
 * One deterministic sample body per op and direction, shared by the round-trip test and the
 * golden fixtures. Values exercise the awkward corners: nulls, -1 sentinels, offsets above 2^32,
 * empty and multi-batch raw sections.
 */

const T0 = 1_700_000_000_000;

/** A small deterministic batch (fixed timestamp, so its CRC and bytes never change). */
export function sampleBatch(n: number, baseOffset = 0, producerId = -1): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({
    key: `k${i}`,
    value: `value-${i}-${'x'.repeat(i * 3)}`,
    headers: i % 2 ? { trace: `t${i}` } : undefined,
  }));
  return encodeBatch(records, {
    timestamp: T0,
    baseOffset,
    producerId,
    producerEpoch: producerId === -1 ? -1 : 0,
    baseSequence: producerId === -1 ? -1 : 0,
  });
}

const b1 = sampleBatch(1);
const b3 = sampleBatch(3, 1);
const bIdem = sampleBatch(2, 0, 42);
const big = 5_000_000_123; // above 2^32: must survive as an exact number

export const requests: { [K in RequestOp]: RequestInput<K> } = {
  HELLO: { minVersion: 1, maxVersion: 1, clientId: 'billing-worker-3', software: 'gregormq-js/0.1.0' },
  PING: { nonce: 7 },
  METADATA: { topics: ['orders', 'audit'] },
  CREATE_TOPIC: {
    topic: {
      name: 'orders',
      partitions: 3,
      replicationFactor: 1,
      retentionMs: 604_800_000,
      retentionBytes: -1,
      kind: 'durable',
    },
    ifNotExists: true,
  },
  DELETE_TOPIC: { name: 'orders', ifExists: false },
  LIST_TOPICS: {},
  DESCRIBE_TOPIC: { name: 'orders' },
  PRODUCE: {
    acks: 1,
    timeoutMs: 30_000,
    partitions: [
      { topic: 'orders', partition: 0, records: [b1, b3] },
      { topic: 'orders', partition: 2, records: bIdem },
    ],
  },
  FETCH: {
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 52_428_800,
    partitions: [
      { topic: 'orders', partition: 0, offset: 0, maxBytes: 1_048_576 },
      { topic: 'orders', partition: 1, offset: big, maxBytes: 1_048_576 },
    ],
  },
  LIST_OFFSETS: {
    partitions: [
      { topic: 'orders', partition: 0, spec: { kind: 'earliest' } },
      { topic: 'orders', partition: 1, spec: { kind: 'latest' } },
      { topic: 'orders', partition: 2, spec: { kind: 'timestamp', timestampMs: T0 } },
    ],
  },
  INIT_PRODUCER_ID: { producerId: -1, producerEpoch: -1 },
  PUBLISH: { topic: 'presence', partition: 0, acks: 1, records: b1 },
  SUBSCRIBE: {
    subscriptionId: 1,
    topic: 'orders',
    partitions: null,
    start: { kind: 'offset', offset: big },
    credit: { messages: 1000, bytes: 4_194_304 },
  },
  UNSUBSCRIBE: { subscriptionId: 1 },
  CREDIT: { subscriptionId: 1, messages: 500, bytes: 2_097_152 },
  JOIN_GROUP: {
    groupId: 'billing',
    memberId: null,
    topics: ['orders'],
    mode: 'queue',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    ackWaitMs: 5000,
    maxDeliveries: null,
    clientId: 'worker',
  },
  SYNC_GROUP: {
    groupId: 'billing',
    memberId: 'm-1',
    generation: 4,
    assignments: [{ memberId: 'm-1', partitions: [{ topic: 'orders', partitions: [0, 2] }] }],
  },
  HEARTBEAT: { groupId: 'billing', memberId: 'm-1', generation: 4, waitMs: 3000 },
  LEAVE_GROUP: { groupId: 'billing', memberId: 'm-1', generation: 4, waitMs: 0 },
  COMMIT_OFFSETS: {
    groupId: 'billing',
    memberId: 'm-1',
    generation: 4,
    offsets: [{ topic: 'orders', partition: 0, offset: 17, metadata: '' }],
    force: false,
  },
  FETCH_OFFSETS: { groupId: 'billing', partitions: null },
  ACK: { groupId: 'billing', topic: 'orders', partition: 0, offsets: [3, 4, big] },
  NACK: { groupId: 'billing', topic: 'orders', partition: 0, offsets: [5], delayMs: 1000 },
  LIST_GROUPS: {},
  DESCRIBE_GROUPS: { groupIds: ['billing'] },
  GROUP_FETCH: {
    groupId: 'billing',
    memberId: 'm-1',
    generation: 4,
    maxMessages: 100,
    maxBytes: 1_048_576,
    maxWaitMs: 500,
    positions: [{ topic: 'orders', partition: 0, offset: 17, metadata: '' }],
  },
};

const ownership = { partition: 0, leader: 'node-a', leaderEpoch: 0, replicas: ['node-a'], isr: ['node-a'] };
const config = {
  name: 'orders',
  partitions: 3,
  replicationFactor: 1,
  retentionMs: 604_800_000,
  retentionBytes: -1,
  kind: 'durable' as const,
};
const description = {
  config,
  partitions: [0, 1, 2].map((p) => ({
    ...ownership,
    partition: p,
    logStartOffset: 0,
    highWatermark: p * big,
  })),
};
const assigned = [{ topic: 'orders', partitions: [0, 2] }];

export const responses: { [K in ResponseOp]: ResponseInput<K> } = {
  HELLO: {
    version: 1,
    nodeName: 'node-a',
    clusterName: null,
    limits: { maxFrameBytes: 17_825_792, maxBatchBytes: 16_777_216, maxInFlightRequests: 256 },
  },
  PING: { nonce: 7, serverTimeMs: T0 },
  METADATA: {
    nodes: [{ name: 'node-a', host: '127.0.0.1', port: 9440 }],
    topics: [
      {
        name: 'orders',
        errorCode: 0,
        kind: 'durable',
        partitions: [ownership, { ...ownership, partition: 1 }],
      },
      { name: 'audit', errorCode: 13, kind: 'durable', partitions: [] },
    ],
  },
  CREATE_TOPIC: description,
  DELETE_TOPIC: { deleted: true },
  LIST_TOPICS: { topics: [config, { ...config, name: 'presence', kind: 'ephemeral', partitions: 1 }] },
  DESCRIBE_TOPIC: description,
  PRODUCE: {
    partitions: [
      {
        topic: 'orders',
        partition: 0,
        errorCode: 0,
        errorMessage: null,
        baseOffset: big,
        lastOffset: big + 3,
        logStartOffset: 0,
      },
      {
        topic: 'orders',
        partition: 2,
        errorCode: 18,
        errorMessage: 'expected sequence 2, got 5',
        baseOffset: -1,
        lastOffset: -1,
        logStartOffset: -1,
      },
    ],
  },
  FETCH: {
    partitions: [
      {
        topic: 'orders',
        partition: 0,
        errorCode: 0,
        errorMessage: null,
        highWatermark: 4,
        logStartOffset: 0,
        records: [b1, b3],
      },
      {
        topic: 'orders',
        partition: 1,
        errorCode: 5,
        errorMessage: 'offset 5000000123 is outside 0..0',
        highWatermark: 0,
        logStartOffset: 0,
        records: Buffer.alloc(0),
      },
    ],
  },
  LIST_OFFSETS: {
    partitions: [
      { topic: 'orders', partition: 0, errorCode: 0, errorMessage: null, offset: 0, timestampMs: -1 },
      { topic: 'orders', partition: 1, errorCode: 0, errorMessage: null, offset: big, timestampMs: -1 },
      { topic: 'orders', partition: 2, errorCode: 0, errorMessage: null, offset: 12, timestampMs: T0 },
    ],
  },
  INIT_PRODUCER_ID: { producerId: 42, producerEpoch: 0 },
  PUBLISH: { subscribers: 2 },
  SUBSCRIBE: {
    subscriptionId: 1,
    partitions: [
      { partition: 0, startOffset: big },
      { partition: 1, startOffset: 0 },
    ],
  },
  UNSUBSCRIBE: { subscriptionId: 1 },
  JOIN_GROUP: {
    memberId: 'm-1',
    generation: 4,
    leaderId: 'm-1',
    members: [{ memberId: 'm-1', topics: ['orders'] }],
  },
  SYNC_GROUP: { partitions: assigned },
  HEARTBEAT: {},
  LEAVE_GROUP: {},
  COMMIT_OFFSETS: { partitions: [{ topic: 'orders', partition: 0, errorCode: 0, errorMessage: null }] },
  FETCH_OFFSETS: { offsets: [{ topic: 'orders', partition: 0, offset: 17, metadata: 'host-1' }] },
  ACK: {},
  NACK: {},
  LIST_GROUPS: { groups: [{ groupId: 'billing', mode: 'queue', state: 'stable', members: 2 }] },
  DESCRIBE_GROUPS: {
    groups: [
      {
        groupId: 'billing',
        mode: 'queue',
        state: 'stable',
        members: 1,
        errorCode: 0,
        generation: 4,
        memberInfo: [{ memberId: 'm-1', clientId: 'worker', host: '127.0.0.1', partitions: assigned }],
        lag: [{ topic: 'orders', partition: 0, committed: 17, endOffset: 20, lag: 3, pending: 1 }],
      },
    ],
  },
  GROUP_FETCH: {
    partitions: [
      { topic: 'orders', partition: 0, records: b1, offsets: [0], deliveries: [2] },
      { topic: 'orders', partition: 2, records: b3, offsets: null, deliveries: null },
    ],
  },
};

export const pushes: { [K in PushOp]: PushInput<K> } = {
  DELIVERY: {
    subscriptionId: 1,
    partition: 0,
    highWatermark: 4,
    errorCode: 0,
    errorMessage: null,
    records: [b1, b3],
  },
};

/** Kebab-case file stem of an op: CREATE_TOPIC -> create-topic. */
export function opStem(op: string): string {
  return op.toLowerCase().replace(/_/g, '-');
}

/** Every sample frame by fixture name, with correlation ids fixed per op for stable bytes. */
export function sampleFrames(): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  let correlationId = 100;
  for (const op of Object.keys(requests) as RequestOp[]) {
    // biome-ignore lint/suspicious/noExplicitAny: the table pairs each op with its own body type
    out.set(`${opStem(op)}-request`, encodeRequest(op, correlationId++, requests[op] as any));
  }
  correlationId = 100;
  for (const op of Object.keys(responses) as ResponseOp[]) {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    out.set(`${opStem(op)}-response`, encodeResponse(op, correlationId++, responses[op] as any));
  }
  for (const op of Object.keys(pushes) as PushOp[]) out.set(`${opStem(op)}-push`, encodePush(op, pushes[op]));
  out.set(
    'error-response',
    encodeErrorResponse('CREATE_TOPIC', 7, new GregorError('TOPIC_EXISTS', 'topic "orders" already exists')),
  );
  out.set(
    'connection-error-push',
    encodeConnectionError(new GregorError('FRAME_TOO_LARGE', 'frame at stream byte 0 is too large')),
  );
  return out;
}

/** The repository root (the directory holding package.json), found from this compiled file. */
export function repoRoot(): string {
  return findRepoRoot(import.meta.url);
}

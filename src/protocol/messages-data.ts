import { topicName } from './messages-admin.js';
import { controlCodec } from './payload.js';
import { partitionListCodec, singleRawCodec, type WireItem } from './raw-codec.js';
import {
  arrayOf,
  type Check,
  i16,
  i64,
  i64OrMinus1,
  int,
  literal,
  nonNegI32,
  nullable,
  object,
  oneOf,
  optional,
  RAW_LENGTH,
  str,
  tagged,
  u16,
  u32,
} from './schema.js';

/*
 * Payloads of the data path: produce, fetch, offsets, producer ids, ephemeral publish. Record
 * batches (src/storage/record-batch.ts) travel in the payload's raw section; the idempotent
 * producer's id, epoch and sequence live in each batch's header, not here.
 */

/** Per-partition error text; null when `errorCode` is 0. */
const errorMessage = nullable(str(0, 4096));

/** How many replicas must have a batch before PRODUCE answers: 0 none (no response frame), 1 leader, -1 all in-sync. */
export type Acks = 0 | 1 | -1;
const acks: Check<Acks> = oneOf(0, 1, -1);

// --- PRODUCE ----------------------------------------------------------------------------------

/** One partition's share of a produce request: one or more whole batches back to back. */
export interface ProducePartition {
  topic: string;
  partition: number;
  records: Buffer;
}

/**
 * PRODUCE request. Key -> partition routing happens in the client. With `acks: 0` the server
 * sends no response at all (not even on error; it logs and, on a framing error, closes).
 */
export interface ProduceRequest {
  acks: Acks;
  /** How long the server may wait for replication before answering TIMEOUT, ms. */
  timeoutMs: number;
  partitions: ProducePartition[];
}

/** Outcome for one partition of a produce request. */
export interface ProducePartitionResult {
  topic: string;
  partition: number;
  /** Wire error number, 0 on success. */
  errorCode: number;
  errorMessage: string | null;
  /** Offset given to the first record of the first batch; -1 on error. */
  baseOffset: number;
  /** Offset of the last record of the last batch; -1 on error. */
  lastOffset: number;
  /** Log start offset after the append (lets a producer notice retention); -1 if unknown. */
  logStartOffset: number;
}

/** PRODUCE answer (acks 1 or -1). */
export interface ProduceResponse {
  partitions: ProducePartitionResult[];
}

const producePartitionWire = object<WireItem<ProducePartition>>({
  topic: topicName,
  partition: nonNegI32,
  bytes: RAW_LENGTH,
});
const produceRequestWire = object<
  Omit<ProduceRequest, 'partitions'> & { partitions: WireItem<ProducePartition>[] }
>({
  acks,
  timeoutMs: u32,
  partitions: arrayOf(producePartitionWire),
});
const produceResponse = object<ProduceResponse>({
  partitions: arrayOf(
    object<ProducePartitionResult>({
      topic: topicName,
      partition: nonNegI32,
      errorCode: u16,
      errorMessage,
      baseOffset: i64OrMinus1,
      lastOffset: i64OrMinus1,
      logStartOffset: optional(i64OrMinus1, -1),
    }),
  ),
});

// --- FETCH ------------------------------------------------------------------------------------

/** One partition to read. */
export interface FetchPartition {
  topic: string;
  partition: number;
  /** First offset wanted; the answer starts with the batch holding it. */
  offset: number;
  /** Byte budget for this partition (at least one whole batch is always returned). */
  maxBytes: number;
}

/** FETCH request; long-polls until `minBytes` are available or `maxWaitMs` passes. */
export interface FetchRequest {
  /** Longest the server may hold the request when less than `minBytes` is available, ms. */
  maxWaitMs: number;
  /** Answer as soon as this many bytes are available over all partitions; 0 = at once. */
  minBytes: number;
  /** Byte budget for the whole answer. */
  maxBytes: number;
  partitions: FetchPartition[];
}

/** One partition of a fetch answer. */
export interface FetchPartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  /** Offset just past the last committed message: the consumer's lag reference. */
  highWatermark: number;
  logStartOffset: number;
  /** Whole batches exactly as stored (a view of the frame); split with `splitBatches`. */
  records: Buffer;
}

/** FETCH answer. */
export interface FetchResponse {
  partitions: FetchPartitionResult[];
}

const fetchRequest = object<FetchRequest>({
  maxWaitMs: u32,
  minBytes: u32,
  maxBytes: u32,
  partitions: arrayOf(
    object<FetchPartition>({ topic: topicName, partition: nonNegI32, offset: i64, maxBytes: u32 }),
  ),
});
const fetchResponseWire = object<{ partitions: WireItem<FetchPartitionResult>[] }>({
  partitions: arrayOf(
    object<WireItem<FetchPartitionResult>>({
      topic: topicName,
      partition: nonNegI32,
      errorCode: u16,
      errorMessage,
      highWatermark: i64OrMinus1,
      logStartOffset: i64OrMinus1,
      bytes: RAW_LENGTH,
    }),
  ),
});

// --- LIST_OFFSETS -----------------------------------------------------------------------------

/** Where to look an offset up: the log's start, its end, or the first record at/after a time. */
export type OffsetSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'timestamp'; timestampMs: number };

const offsetSpec: Check<OffsetSpec> = tagged<OffsetSpec, 'kind'>('kind', {
  earliest: object({ kind: literal('earliest') }),
  latest: object({ kind: literal('latest') }),
  timestamp: object({ kind: literal('timestamp'), timestampMs: i64 }),
});

/** One partition to resolve. */
export interface ListOffsetsPartition {
  topic: string;
  partition: number;
  spec: OffsetSpec;
}
/** LIST_OFFSETS request. */
export interface ListOffsetsRequest {
  partitions: ListOffsetsPartition[];
}
/** One resolved offset. */
export interface ListOffsetsPartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  /** The offset; for a timestamp with no later record, the log end offset. */
  offset: number;
  /** Timestamp of the batch found for a timestamp lookup; -1 otherwise. */
  timestampMs: number;
}
/** LIST_OFFSETS answer. */
export interface ListOffsetsResponse {
  partitions: ListOffsetsPartitionResult[];
}

const listOffsetsRequest = object<ListOffsetsRequest>({
  partitions: arrayOf(
    object<ListOffsetsPartition>({ topic: topicName, partition: nonNegI32, spec: offsetSpec }),
  ),
});
const listOffsetsResponse = object<ListOffsetsResponse>({
  partitions: arrayOf(
    object<ListOffsetsPartitionResult>({
      topic: topicName,
      partition: nonNegI32,
      errorCode: u16,
      errorMessage,
      offset: i64OrMinus1,
      timestampMs: i64OrMinus1,
    }),
  ),
});

// --- INIT_PRODUCER_ID -------------------------------------------------------------------------

/**
 * Asks for an idempotent producer identity. A fresh producer sends -1/-1; a producer that lost
 * track of its sequences sends its current id/epoch and gets the epoch bumped (fencing zombies).
 */
export interface InitProducerIdRequest {
  producerId: number;
  producerEpoch: number;
}
/** The id and epoch to stamp into every batch (with per-partition sequences from 0). */
export interface InitProducerIdResponse {
  producerId: number;
  producerEpoch: number;
}
const producerEpoch = int(-1, 0x7fff);
const initProducerIdRequest = object<InitProducerIdRequest>({
  producerId: optional(i64OrMinus1, -1),
  producerEpoch: optional(producerEpoch, -1),
});
const initProducerIdResponse = object<InitProducerIdResponse>({ producerId: i64, producerEpoch: i16 });

// --- PUBLISH (ephemeral topics) ---------------------------------------------------------------

/**
 * Publishes batches to an ephemeral topic: fanned out to live subscribers, never stored. The
 * same batch bytes reach subscribers in DELIVERY pushes. With `acks: 0` there is no response.
 */
export interface PublishRequest {
  topic: string;
  partition: number;
  acks: 0 | 1;
  records: Buffer;
}
/** PUBLISH answer (acks 1). */
export interface PublishResponse {
  /** Subscriptions the batches were handed to on this node (0 = nobody listening). */
  subscribers: number;
}
const publishRequestWire = object<WireItem<PublishRequest>>({
  topic: topicName,
  partition: nonNegI32,
  acks: oneOf(0, 1),
  bytes: RAW_LENGTH,
});
const publishResponse = object<PublishResponse>({ subscribers: u32 });

/** Payload codecs of this file's ops, used by the op table. */
export const dataCodecs = {
  produceRequest: partitionListCodec<ProduceRequest, ProducePartition>(produceRequestWire),
  produceResponse: controlCodec(produceResponse),
  fetchRequest: controlCodec(fetchRequest),
  fetchResponse: partitionListCodec<FetchResponse, FetchPartitionResult>(fetchResponseWire),
  listOffsetsRequest: controlCodec(listOffsetsRequest),
  listOffsetsResponse: controlCodec(listOffsetsResponse),
  initProducerIdRequest: controlCodec(initProducerIdRequest),
  initProducerIdResponse: controlCodec(initProducerIdResponse),
  publishRequest: singleRawCodec<PublishRequest>(publishRequestWire),
  publishResponse: controlCodec(publishResponse),
};

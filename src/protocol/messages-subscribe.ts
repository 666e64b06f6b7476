import { topicName } from './messages-admin.js';
import type { OffsetSpec } from './messages-data.js';
import { controlCodec } from './payload.js';
import { singleRawCodec, type WireItem } from './raw-codec.js';
import {
  arrayOf,
  type Check,
  i64,
  i64OrMinus1,
  literal,
  nonNegI32,
  nullable,
  object,
  RAW_LENGTH,
  str,
  tagged,
  u16,
  u32,
} from './schema.js';

/*
 * Live subscriptions: the server pushes DELIVERY frames with credit-based flow control, the same
 * mechanism for durable topics (reading the log from a start position, then following its end)
 * and ephemeral ones (live fan-out only).
 *
 * Credit: the server keeps two windows per subscription, messages and bytes, and sends the next
 * batch only while both are above zero; a batch is indivisible, so one delivery may overshoot
 * either window. The client grants more with CREDIT (increments, not totals). A client that only
 * cares about one dimension grants the other generously (e.g. 0xffffffff bytes).
 */

/** Where a subscription starts: an OffsetSpec or an explicit offset. */
export type StartPosition = OffsetSpec | { kind: 'offset'; offset: number };

const startPosition: Check<StartPosition> = tagged<StartPosition, 'kind'>('kind', {
  earliest: object({ kind: literal('earliest') }),
  latest: object({ kind: literal('latest') }),
  timestamp: object({ kind: literal('timestamp'), timestampMs: i64 }),
  offset: object({ kind: literal('offset'), offset: i64 }),
});

/** A credit grant: increments to the message and byte windows. */
export interface Credit {
  messages: number;
  bytes: number;
}
const credit = object<Credit>({ messages: u32, bytes: u32 });

/**
 * SUBSCRIBE request. The client picks `subscriptionId` (unique on its connection) so deliveries
 * that overtake the response can already be routed. Different start offsets per partition: open
 * one subscription per partition.
 */
export interface SubscribeRequest {
  subscriptionId: number;
  topic: string;
  /** Partitions to follow; null = all partitions of the topic. */
  partitions: number[] | null;
  /** Ignored for ephemeral topics (always live). */
  start: StartPosition;
  /** Initial credit. */
  credit: Credit;
}
/** Where each subscribed partition starts. */
export interface SubscribedPartition {
  partition: number;
  /** First offset that will be delivered; -1 on ephemeral topics. */
  startOffset: number;
}
/** SUBSCRIBE answer. */
export interface SubscribeResponse {
  subscriptionId: number;
  partitions: SubscribedPartition[];
}
/** UNSUBSCRIBE request; deliveries already in flight may still arrive before the response. */
export interface UnsubscribeRequest {
  subscriptionId: number;
}
/** UNSUBSCRIBE answer. */
export interface UnsubscribeResponse {
  subscriptionId: number;
}
/** CREDIT (one-way: no response unless it fails, then an error frame with its correlation id). */
export interface CreditRequest extends Credit {
  subscriptionId: number;
}

/**
 * DELIVERY push (flags PUSH, correlation id 0): batches for one partition of a subscription. A
 * non-zero `errorCode` ends the subscription for that partition (topic deleted, offset out of
 * range...) and carries no records.
 */
export interface DeliveryPush {
  subscriptionId: number;
  partition: number;
  /** Partition's high watermark when the batches were read (lag = highWatermark - next offset). */
  highWatermark: number;
  errorCode: number;
  errorMessage: string | null;
  /** Whole batches exactly as stored; a view of the frame. */
  records: Buffer;
}

const subscribeRequest = object<SubscribeRequest>({
  subscriptionId: u32,
  topic: topicName,
  partitions: nullable(arrayOf(nonNegI32)),
  start: startPosition,
  credit,
});
const subscribeResponse = object<SubscribeResponse>({
  subscriptionId: u32,
  partitions: arrayOf(object<SubscribedPartition>({ partition: nonNegI32, startOffset: i64OrMinus1 })),
});
const unsubscribeRequest = object<UnsubscribeRequest>({ subscriptionId: u32 });
const unsubscribeResponse = object<UnsubscribeResponse>({ subscriptionId: u32 });
const creditRequest = object<CreditRequest>({ subscriptionId: u32, messages: u32, bytes: u32 });
const deliveryPushWire = object<WireItem<DeliveryPush>>({
  subscriptionId: u32,
  partition: nonNegI32,
  highWatermark: i64OrMinus1,
  errorCode: u16,
  errorMessage: nullable(str(0, 4096)),
  bytes: RAW_LENGTH,
});

/** Payload codecs of this file's ops, used by the op table. */
export const subscribeCodecs = {
  subscribeRequest: controlCodec(subscribeRequest),
  subscribeResponse: controlCodec(subscribeResponse),
  unsubscribeRequest: controlCodec(unsubscribeRequest),
  unsubscribeResponse: controlCodec(unsubscribeResponse),
  creditRequest: controlCodec(creditRequest),
  deliveryPush: singleRawCodec<DeliveryPush>(deliveryPushWire),
};

import { adminCodecs as a } from './messages-admin.js';
import { dataCodecs as d } from './messages-data.js';
import { groupCodecs as g } from './messages-groups.js';
import { subscribeCodecs as s } from './messages-subscribe.js';
import type { PayloadCodec } from './payload.js';

/**
 * The op table: every operation's wire number and payload codecs. Numbers are stable forever
 * (append, never renumber); ranges group related ops so a hex dump reads at a glance:
 * 0x00xx connection, 0x01xx topic admin, 0x02xx data path, 0x03xx subscriptions, 0x04xx groups.
 *
 * `responds`:
 * - `always`: exactly one response or error frame with the request's correlation id.
 * - `unless-acks-0`: as `always`, but a request with `acks: 0` gets no frame back at all.
 * - `on-error`: one-way; only a failure is answered (error frame with the correlation id).
 * - `push`: sent by the server only, flags PUSH, correlation id 0.
 */
export const OPS = {
  HELLO: { code: 0x0001, request: a.helloRequest, response: a.helloResponse, push: null, responds: 'always' },
  PING: { code: 0x0002, request: a.pingRequest, response: a.pingResponse, push: null, responds: 'always' },
  METADATA: {
    code: 0x0003,
    request: a.metadataRequest,
    response: a.metadataResponse,
    push: null,
    responds: 'always',
  },

  CREATE_TOPIC: {
    code: 0x0101,
    request: a.createTopicRequest,
    response: a.topicDescription,
    push: null,
    responds: 'always',
  },
  DELETE_TOPIC: {
    code: 0x0102,
    request: a.deleteTopicRequest,
    response: a.deleteTopicResponse,
    push: null,
    responds: 'always',
  },
  LIST_TOPICS: {
    code: 0x0103,
    request: a.listTopicsRequest,
    response: a.listTopicsResponse,
    push: null,
    responds: 'always',
  },
  DESCRIBE_TOPIC: {
    code: 0x0104,
    request: a.describeTopicRequest,
    response: a.topicDescription,
    push: null,
    responds: 'always',
  },

  PRODUCE: {
    code: 0x0201,
    request: d.produceRequest,
    response: d.produceResponse,
    push: null,
    responds: 'unless-acks-0',
  },
  FETCH: { code: 0x0202, request: d.fetchRequest, response: d.fetchResponse, push: null, responds: 'always' },
  LIST_OFFSETS: {
    code: 0x0203,
    request: d.listOffsetsRequest,
    response: d.listOffsetsResponse,
    push: null,
    responds: 'always',
  },
  INIT_PRODUCER_ID: {
    code: 0x0204,
    request: d.initProducerIdRequest,
    response: d.initProducerIdResponse,
    push: null,
    responds: 'always',
  },
  PUBLISH: {
    code: 0x0205,
    request: d.publishRequest,
    response: d.publishResponse,
    push: null,
    responds: 'unless-acks-0',
  },

  SUBSCRIBE: {
    code: 0x0301,
    request: s.subscribeRequest,
    response: s.subscribeResponse,
    push: null,
    responds: 'always',
  },
  UNSUBSCRIBE: {
    code: 0x0302,
    request: s.unsubscribeRequest,
    response: s.unsubscribeResponse,
    push: null,
    responds: 'always',
  },
  CREDIT: { code: 0x0303, request: s.creditRequest, response: null, push: null, responds: 'on-error' },
  DELIVERY: { code: 0x0304, request: null, response: null, push: s.deliveryPush, responds: 'push' },

  // Reserved for consumer groups (next issue); shapes in messages-groups.ts are a first cut.
  JOIN_GROUP: {
    code: 0x0401,
    request: g.joinGroupRequest,
    response: g.joinGroupResponse,
    push: null,
    responds: 'always',
  },
  SYNC_GROUP: {
    code: 0x0402,
    request: g.syncGroupRequest,
    response: g.syncGroupResponse,
    push: null,
    responds: 'always',
  },
  HEARTBEAT: {
    code: 0x0403,
    request: g.groupMemberRequest,
    response: g.emptyResponse,
    push: null,
    responds: 'always',
  },
  LEAVE_GROUP: {
    code: 0x0404,
    request: g.groupMemberRequest,
    response: g.emptyResponse,
    push: null,
    responds: 'always',
  },
  COMMIT_OFFSETS: {
    code: 0x0405,
    request: g.commitOffsetsRequest,
    response: g.commitOffsetsResponse,
    push: null,
    responds: 'always',
  },
  FETCH_OFFSETS: {
    code: 0x0406,
    request: g.fetchOffsetsRequest,
    response: g.fetchOffsetsResponse,
    push: null,
    responds: 'always',
  },
  ACK: { code: 0x0407, request: g.ackRequest, response: g.emptyResponse, push: null, responds: 'always' },
  NACK: { code: 0x0408, request: g.nackRequest, response: g.emptyResponse, push: null, responds: 'always' },
  LIST_GROUPS: {
    code: 0x0409,
    request: g.listGroupsRequest,
    response: g.listGroupsResponse,
    push: null,
    responds: 'always',
  },
  DESCRIBE_GROUPS: {
    code: 0x040a,
    request: g.describeGroupsRequest,
    response: g.describeGroupsResponse,
    push: null,
    responds: 'always',
  },
  GROUP_FETCH: {
    code: 0x040b,
    request: g.groupFetchRequest,
    response: g.groupFetchResponse,
    push: null,
    responds: 'always',
  },
} as const satisfies Record<string, OpSpec>;

/** How an op answers (see OPS). */
export type Responds = 'always' | 'unless-acks-0' | 'on-error' | 'push';

/** One row of the op table. */
export interface OpSpec {
  code: number;
  // biome-ignore lint/suspicious/noExplicitAny: rows hold codecs of different payload types
  request: PayloadCodec<any, any> | null;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  response: PayloadCodec<any, any> | null;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  push: PayloadCodec<any, any> | null;
  responds: Responds;
}

/** Name of an operation, e.g. 'PRODUCE'. */
export type OpName = keyof typeof OPS;

/** Op numbers by name: `Op.PRODUCE === 0x0201`. */
export const Op = Object.freeze(
  Object.fromEntries(Object.entries(OPS).map(([name, spec]) => [name, spec.code])) as {
    [K in OpName]: (typeof OPS)[K]['code'];
  },
);

/**
 * Op number of a connection-level error push (flags PUSH|ERROR, correlation id 0): the server
 * explains why it is about to close the connection (bad magic, oversize frame, shutdown).
 */
export const CONNECTION_ERROR_OP = 0;

const BY_CODE = new Map<number, OpName>((Object.keys(OPS) as OpName[]).map((name) => [OPS[name].code, name]));

/** The name of an op number, or undefined if this build does not know it. */
export function opName(code: number): OpName | undefined {
  return BY_CODE.get(code);
}

/** Human label for an op number in error messages: 'PRODUCE' or '0x7777'. */
export function opLabel(code: number): string {
  return BY_CODE.get(code) ?? `0x${code.toString(16).padStart(4, '0')}`;
}

type Out<C> = C extends PayloadCodec<infer O, infer _I> ? O : never;
type In<C> = C extends PayloadCodec<infer _O, infer I> ? I : never;

/** Ops a client may send. */
export type RequestOp = { [K in OpName]: (typeof OPS)[K]['request'] extends null ? never : K }[OpName];
/** Ops with a success response payload. */
export type ResponseOp = { [K in OpName]: (typeof OPS)[K]['response'] extends null ? never : K }[OpName];
/** Ops only the server sends unasked. */
export type PushOp = { [K in OpName]: (typeof OPS)[K]['push'] extends null ? never : K }[OpName];

/** Decoded request body of op K (raw byte fields are single Buffers). */
export type RequestOf<K extends RequestOp> = Out<(typeof OPS)[K]['request']>;
/** Request body accepted by the encoder (raw byte fields may be Buffer[]). */
export type RequestInput<K extends RequestOp> = In<(typeof OPS)[K]['request']>;
/** Decoded response body of op K. */
export type ResponseOf<K extends ResponseOp> = Out<(typeof OPS)[K]['response']>;
/** Response body accepted by the encoder. */
export type ResponseInput<K extends ResponseOp> = In<(typeof OPS)[K]['response']>;
/** Decoded push body of op K. */
export type PushOf<K extends PushOp> = Out<(typeof OPS)[K]['push']>;
/** Push body accepted by the encoder. */
export type PushInput<K extends PushOp> = In<(typeof OPS)[K]['push']>;

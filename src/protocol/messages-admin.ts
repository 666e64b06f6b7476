import { GregorError } from '../errors.js';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './frame.js';
import { controlCodec } from './payload.js';
import {
  arrayOf,
  bool,
  i32,
  i64,
  i64OrMinus1,
  int,
  nonNegI32,
  nullable,
  object,
  oneOf,
  optional,
  str,
  u8,
  u16,
  u32,
} from './schema.js';

/*
 * Control payloads of connection set-up, cluster metadata and topic administration. Each is one
 * CBOR map whose keys are the interface's field names. Fields marked "default" may be omitted by
 * an older peer and take that value.
 */

/** Longest topic name (Kafka's limit, so a Kafka listener can expose every topic). */
export const MAX_TOPIC_NAME_CHARS = 249;
/** A topic name as the wire accepts it; the broker applies the stricter naming rules. */
export const topicName = str(1, MAX_TOPIC_NAME_CHARS);
/** Longest node, client and group identifier. */
export const MAX_ID_CHARS = 255;
const id = str(0, MAX_ID_CHARS);
const positiveI32 = int(1, 0x7fff_ffff);

// --- HELLO ------------------------------------------------------------------------------------

/**
 * First request on every connection. Always sent in a version-1 frame with this version-1
 * payload (frozen forever) so any two builds can at least agree that they disagree.
 */
export interface HelloRequest {
  /** Oldest protocol version the client speaks. */
  minVersion: number;
  /** Newest protocol version the client speaks. */
  maxVersion: number;
  /** Free-form client identity for logs and metrics (e.g. "billing-worker-3"). */
  clientId: string;
  /** SDK name and version, e.g. "gregormq-js/0.1.0"; default "". */
  software: string;
}

/** Limits the server enforces on this connection. */
export interface ServerLimits {
  /** Largest frame the server accepts, bytes, length prefix included. */
  maxFrameBytes: number;
  /** Largest single record batch, bytes. */
  maxBatchBytes: number;
  /** Requests the server reads ahead per connection before it stops reading the socket. */
  maxInFlightRequests: number;
}

/** Answer to HELLO: the version every later frame on this connection uses. */
export interface HelloResponse {
  version: number;
  nodeName: string;
  /** Cluster this node belongs to; null for a stand-alone node. */
  clusterName: string | null;
  limits: ServerLimits;
}

const helloRequest = object<HelloRequest>({
  minVersion: u8,
  maxVersion: u8,
  clientId: id,
  software: optional(id, ''),
});
const helloResponse = object<HelloResponse>({
  version: u8,
  nodeName: id,
  clusterName: nullable(id),
  limits: object<ServerLimits>({ maxFrameBytes: u32, maxBatchBytes: u32, maxInFlightRequests: u32 }),
});

/**
 * Picks the newest version both sides speak, or throws UNSUPPORTED_VERSION saying which side to
 * upgrade. The server calls this on HELLO and answers the error in a version-1 error frame.
 */
export function negotiateVersion(
  client: { minVersion: number; maxVersion: number },
  server: { minVersion: number; maxVersion: number } = {
    minVersion: MIN_PROTOCOL_VERSION,
    maxVersion: PROTOCOL_VERSION,
  },
): number {
  const version = Math.min(client.maxVersion, server.maxVersion);
  if (client.minVersion > client.maxVersion)
    throw new GregorError(
      'UNSUPPORTED_VERSION',
      `HELLO: minVersion ${client.minVersion} is above maxVersion ${client.maxVersion}`,
    );
  if (version >= Math.max(client.minVersion, server.minVersion)) return version;
  const upgrade = client.minVersion > server.maxVersion ? 'upgrade the broker' : 'upgrade the client';
  throw new GregorError(
    'UNSUPPORTED_VERSION',
    `client speaks protocol versions ${client.minVersion}..${client.maxVersion}, this broker speaks ` +
      `${server.minVersion}..${server.maxVersion}; ${upgrade}`,
  );
}

// --- PING -------------------------------------------------------------------------------------

/** Liveness probe; `nonce` is echoed so a client can match probes without relying on order. */
export interface PingRequest {
  /** Any u32; default 0. */
  nonce: number;
}
/** PING answer. */
export interface PingResponse {
  nonce: number;
  /** Server wall clock, ms since epoch (lets tools show clock skew). */
  serverTimeMs: number;
}
const pingRequest = object<PingRequest>({ nonce: optional(u32, 0) });
const pingResponse = object<PingResponse>({ nonce: u32, serverTimeMs: i64 });

// --- METADATA ---------------------------------------------------------------------------------

/** Asks where topics live. */
export interface MetadataRequest {
  /** Topics to describe; null = every topic. */
  topics: string[] | null;
}

/** A broker a client may connect to. */
export interface NodeInfo {
  name: string;
  host: string;
  port: number;
}

/** Who serves one partition. With one node every field names that node; clusters fill replicas. */
export interface PartitionOwnership {
  partition: number;
  /** Node name of the leader; null while no leader is elected (partition unavailable). */
  leader: string | null;
  /** Epoch of the current leader (fences a deposed leader); default 0. */
  leaderEpoch: number;
  /** Node names holding a replica, leader included; default []. */
  replicas: string[];
  /** Replicas caught up with the leader; default []. */
  isr: string[];
}

/** How a topic stores messages. */
export type TopicKind = 'durable' | 'ephemeral';

/** One topic in a metadata answer; a requested topic that does not exist carries `errorCode`. */
export interface TopicMetadata {
  name: string;
  /** Wire error number (src/errors.ts), 0 when the topic is fine. */
  errorCode: number;
  kind: TopicKind;
  partitions: PartitionOwnership[];
}

/** METADATA answer: every node referenced plus the topics. */
export interface MetadataResponse {
  nodes: NodeInfo[];
  topics: TopicMetadata[];
}

const nodeInfo = object<NodeInfo>({ name: id, host: str(1, 255), port: u16 });
const partitionOwnership = object<PartitionOwnership>({
  partition: nonNegI32,
  leader: nullable(id),
  leaderEpoch: optional(i32, 0),
  replicas: optional(arrayOf(id), []),
  isr: optional(arrayOf(id), []),
});
const topicKind = oneOf('durable', 'ephemeral');
const metadataRequest = object<MetadataRequest>({ topics: nullable(arrayOf(topicName)) });
const metadataResponse = object<MetadataResponse>({
  nodes: arrayOf(nodeInfo),
  topics: arrayOf(
    object<TopicMetadata>({
      name: topicName,
      errorCode: u16,
      kind: topicKind,
      partitions: arrayOf(partitionOwnership),
    }),
  ),
});

// --- Topic administration ---------------------------------------------------------------------

/** A topic's settings as created and described. */
export interface TopicConfig {
  name: string;
  partitions: number;
  /** Copies of each partition; 1 on a single node. */
  replicationFactor: number;
  /** Delete segments older than this (ms); -1 = keep forever. */
  retentionMs: number;
  /** Delete oldest segments while a partition is larger than this (bytes); -1 = no limit. */
  retentionBytes: number;
  kind: TopicKind;
}

/** CREATE_TOPIC request. */
/**
 * A topic to create. Fields left null take the broker's defaults (`topics.defaultPartitions`,
 * `topics.defaultRetentionMs`, ...), as a Kafka topic created without configs does.
 */
export interface NewTopicConfig {
  name: string;
  partitions: number | null;
  replicationFactor: number | null;
  retentionMs: number | null;
  retentionBytes: number | null;
  kind: TopicKind;
}

export interface CreateTopicRequest {
  topic: NewTopicConfig;
  /** Answer success (with the existing config) instead of TOPIC_EXISTS; default false. */
  ifNotExists: boolean;
}

/** Live state of one partition. */
export interface PartitionState extends PartitionOwnership {
  logStartOffset: number;
  highWatermark: number;
}

/** CREATE_TOPIC and DESCRIBE_TOPIC answer. */
export interface TopicDescription {
  config: TopicConfig;
  partitions: PartitionState[];
}

/** DELETE_TOPIC request. */
export interface DeleteTopicRequest {
  name: string;
  /** Answer success when the topic is already gone; default false. */
  ifExists: boolean;
}
/** DELETE_TOPIC answer. */
export interface DeleteTopicResponse {
  /** False only when `ifExists` was set and there was nothing to delete. */
  deleted: boolean;
}
/** LIST_TOPICS request (no fields yet; a filter may be added later). */
export type ListTopicsRequest = Record<string, never>;
/** LIST_TOPICS answer. */
export interface ListTopicsResponse {
  topics: TopicConfig[];
}
/** DESCRIBE_TOPIC request. */
export interface DescribeTopicRequest {
  name: string;
}

const topicConfig = object<TopicConfig>({
  name: topicName,
  partitions: positiveI32,
  replicationFactor: optional(positiveI32, 1),
  retentionMs: optional(i64OrMinus1, -1),
  retentionBytes: optional(i64OrMinus1, -1),
  kind: optional(topicKind, 'durable'),
});
const partitionState = object<PartitionState>({
  partition: nonNegI32,
  leader: nullable(id),
  leaderEpoch: optional(i32, 0),
  replicas: optional(arrayOf(id), []),
  isr: optional(arrayOf(id), []),
  logStartOffset: i64,
  highWatermark: i64,
});
const newTopicConfig = object<NewTopicConfig>({
  name: topicName,
  partitions: optional(nullable(positiveI32), null),
  replicationFactor: optional(nullable(positiveI32), null),
  retentionMs: optional(nullable(i64OrMinus1), null),
  retentionBytes: optional(nullable(i64OrMinus1), null),
  kind: optional(topicKind, 'durable'),
});
const createTopicRequest = object<CreateTopicRequest>({
  topic: newTopicConfig,
  ifNotExists: optional(bool, false),
});
const topicDescription = object<TopicDescription>({
  config: topicConfig,
  partitions: arrayOf(partitionState),
});
const deleteTopicRequest = object<DeleteTopicRequest>({
  name: topicName,
  ifExists: optional(bool, false),
});
const deleteTopicResponse = object<DeleteTopicResponse>({ deleted: bool });
const listTopicsRequest = object<ListTopicsRequest>({});
const listTopicsResponse = object<ListTopicsResponse>({ topics: arrayOf(topicConfig) });
const describeTopicRequest = object<DescribeTopicRequest>({ name: topicName });

/** Payload codecs of this file's ops, used by the op table. */
export const adminCodecs = {
  helloRequest: controlCodec(helloRequest),
  helloResponse: controlCodec(helloResponse),
  pingRequest: controlCodec(pingRequest),
  pingResponse: controlCodec(pingResponse),
  metadataRequest: controlCodec(metadataRequest),
  metadataResponse: controlCodec(metadataResponse),
  createTopicRequest: controlCodec(createTopicRequest),
  topicDescription: controlCodec(topicDescription),
  deleteTopicRequest: controlCodec(deleteTopicRequest),
  deleteTopicResponse: controlCodec(deleteTopicResponse),
  listTopicsRequest: controlCodec(listTopicsRequest),
  listTopicsResponse: controlCodec(listTopicsResponse),
  describeTopicRequest: controlCodec(describeTopicRequest),
};

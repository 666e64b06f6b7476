import { MAX_ID_CHARS, topicName } from './messages-admin.js';
import { controlCodec } from './payload.js';
import {
  arrayOf,
  bool,
  bytes,
  i32,
  i64,
  i64OrMinus1,
  nonNegI32,
  nullable,
  object,
  oneOf,
  optional,
  str,
  u16,
  u32,
} from './schema.js';

/*
 * Consumer-group payloads (DESIGN.md section 6). The op numbers are reserved and these shapes are
 * a first cut: the engineer who builds groups refines them. Fields added later must be
 * `optional(...)` with a default so older peers keep decoding.
 */

const id = str(0, MAX_ID_CHARS);
const groupId = str(1, MAX_ID_CHARS);
const errorMessage = nullable(str(0, 4096));

/** Fan-out: every member sees every partition it is assigned (Kafka style); queue: per-message ack/redelivery. */
export type GroupMode = 'fanout' | 'queue';

/** Partitions of one topic. */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}
const topicPartitions = object<TopicPartitions>({ topic: topicName, partitions: arrayOf(nonNegI32) });

/** JOIN_GROUP request. */
export interface JoinGroupRequest {
  groupId: string;
  /** null on first join; the assigned id on rejoin. */
  memberId: string | null;
  topics: string[];
  mode: GroupMode;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** Queue mode: redeliver after this many ms without an ack; null = broker default (groups.ackWaitMs). */
  ackWaitMs?: number | null;
  /** Queue mode: dead-letter after this many deliveries; -1 = never; null = broker default. */
  maxDeliveries?: number | null;
  /** Shown by DESCRIBE_GROUPS; default "". */
  clientId?: string;
}
/** JOIN_GROUP answer. */
export interface JoinGroupResponse {
  memberId: string;
  generation: number;
  /** Member that computes the assignment (null when the coordinator assigns). */
  leaderId: string | null;
  /** Members and their topics, sent to the leader only. */
  members: { memberId: string; topics: string[] }[];
}
/** SYNC_GROUP request: the leader sends the assignment, others send []. */
export interface SyncGroupRequest {
  groupId: string;
  memberId: string;
  generation: number;
  assignments: { memberId: string; partitions: TopicPartitions[] }[];
}
/** SYNC_GROUP answer: this member's partitions. */
export interface SyncGroupResponse {
  partitions: TopicPartitions[];
}
/**
 * HEARTBEAT and LEAVE_GROUP request. A HEARTBEAT with `waitMs` > 0 is parked by the coordinator
 * for up to that long and answered at once with REBALANCE_IN_PROGRESS when a rebalance starts,
 * so members learn of one within a round trip instead of a heartbeat interval.
 */
export interface GroupMemberRequest {
  groupId: string;
  memberId: string;
  generation: number;
  /** HEARTBEAT only: how long the coordinator may hold the answer, ms; default 0. */
  waitMs?: number;
}
/** Answer with no fields (HEARTBEAT, LEAVE_GROUP, ACK, NACK). */
export type EmptyResponse = Record<string, never>;

/** One committed position. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  /** Next offset to consume (Kafka convention); -1 = none committed. */
  offset: number;
  /** Free-form client metadata; default "". */
  metadata: string;
}
/**
 * COMMIT_OFFSETS request. A member commits with its id and generation; an admin reset uses
 * memberId "" and generation -1, refused with GROUP_NOT_EMPTY while members are live unless
 * `force`. For a queue-mode group an admin commit also resets the ack ledger to the offset.
 */
export interface CommitOffsetsRequest {
  groupId: string;
  memberId: string;
  generation: number;
  offsets: CommittedOffset[];
  /** Admin commits only: reset even with live members; default false. */
  force?: boolean;
}
/** Per-partition outcome of a commit. */
export interface CommitOffsetsResponse {
  partitions: { topic: string; partition: number; errorCode: number; errorMessage: string | null }[];
}
/** FETCH_OFFSETS request; null partitions = everything the group committed. */
export interface FetchOffsetsRequest {
  groupId: string;
  partitions: TopicPartitions[] | null;
}
/** FETCH_OFFSETS answer. */
export interface FetchOffsetsResponse {
  offsets: CommittedOffset[];
}
/** ACK request (queue mode): offsets processed. */
export interface AckRequest {
  groupId: string;
  topic: string;
  partition: number;
  offsets: number[];
}
/** NACK request (queue mode): offsets to redeliver after `delayMs`. */
export interface NackRequest extends AckRequest {
  delayMs: number;
}
/** LIST_GROUPS request (no fields yet). */
export type ListGroupsRequest = Record<string, never>;
/** Summary of one group. */
export interface GroupSummary {
  groupId: string;
  mode: GroupMode;
  state: string;
  members: number;
}
/** LIST_GROUPS answer. */
export interface ListGroupsResponse {
  groups: GroupSummary[];
}
/** DESCRIBE_GROUPS request. */
export interface DescribeGroupsRequest {
  groupIds: string[];
}
/** One member as described. */
export interface GroupMemberInfo {
  memberId: string;
  clientId: string;
  host: string;
  partitions: TopicPartitions[];
}
/** Lag of one partition for one group. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** Committed offset (queue mode: the ack floor); -1 = none. */
  committed: number;
  /** Log end offset (high watermark). */
  endOffset: number;
  /** Messages not yet committed / acknowledged: endOffset - max(committed, logStart). */
  lag: number;
  /** Queue mode: delivered and awaiting an ack; 0 otherwise. */
  pending: number;
}
/** One group as described. */
export interface GroupDescription extends GroupSummary {
  errorCode: number;
  generation: number;
  memberInfo: GroupMemberInfo[];
  /** Lag of every partition the group subscribes to or has committed; default []. */
  lag?: PartitionLag[];
}
/**
 * GROUP_FETCH request: a member pulls messages of its group. The coordinator answers when it has
 * at least one message or after `maxWaitMs`. Fanout mode: batches from the member's assigned
 * partitions starting at `positions` (or the committed offset). Queue mode: due redeliveries of
 * any partition first, then new messages of the assigned partitions; each handed-out offset
 * must be ACKed or NACKed before the ack wait runs out.
 */
export interface GroupFetchRequest {
  groupId: string;
  memberId: string;
  generation: number;
  maxMessages: number;
  maxBytes: number;
  maxWaitMs: number;
  /** Fanout mode: where the member is in each partition (next offset to read). */
  positions: CommittedOffset[];
}
/** Records of one partition handed to a member. */
export interface GroupFetchPartition {
  topic: string;
  partition: number;
  /** Whole record batches as stored in the log. */
  records: Buffer;
  /** Queue mode: the offsets inside `records` to process (others must be skipped); null = all. */
  offsets: number[] | null;
  /** Queue mode: delivery count of each of `offsets` (1 = first delivery); null otherwise. */
  deliveries: number[] | null;
}
/** GROUP_FETCH answer. */
export interface GroupFetchResponse {
  partitions: GroupFetchPartition[];
}
/** DESCRIBE_GROUPS answer. */
export interface DescribeGroupsResponse {
  groups: GroupDescription[];
}

const groupMode = oneOf('fanout', 'queue');
const joinGroupRequest = object<JoinGroupRequest>({
  groupId,
  memberId: nullable(id),
  topics: arrayOf(topicName),
  mode: optional(groupMode, 'fanout'),
  sessionTimeoutMs: u32,
  rebalanceTimeoutMs: u32,
  ackWaitMs: optional(nullable(u32), null),
  maxDeliveries: optional(nullable(i32), null),
  clientId: optional(str(0, MAX_ID_CHARS), ''),
});
const joinGroupResponse = object<JoinGroupResponse>({
  memberId: id,
  generation: i32,
  leaderId: nullable(id),
  members: arrayOf(object({ memberId: id, topics: arrayOf(topicName) })),
});
const syncGroupRequest = object<SyncGroupRequest>({
  groupId,
  memberId: id,
  generation: i32,
  assignments: arrayOf(object({ memberId: id, partitions: arrayOf(topicPartitions) })),
});
const syncGroupResponse = object<SyncGroupResponse>({ partitions: arrayOf(topicPartitions) });
const groupMemberRequest = object<GroupMemberRequest>({
  groupId,
  memberId: id,
  generation: i32,
  waitMs: optional(u32, 0),
});
const emptyResponse = object<EmptyResponse>({});
const committedOffset = object<CommittedOffset>({
  topic: topicName,
  partition: nonNegI32,
  offset: i64OrMinus1,
  metadata: optional(str(0, 4096), ''),
});
const commitOffsetsRequest = object<CommitOffsetsRequest>({
  groupId,
  memberId: id,
  generation: i32,
  offsets: arrayOf(committedOffset),
  force: optional(bool, false),
});
const commitOffsetsResponse = object<CommitOffsetsResponse>({
  partitions: arrayOf(object({ topic: topicName, partition: nonNegI32, errorCode: u16, errorMessage })),
});
const fetchOffsetsRequest = object<FetchOffsetsRequest>({
  groupId,
  partitions: nullable(arrayOf(topicPartitions)),
});
const fetchOffsetsResponse = object<FetchOffsetsResponse>({ offsets: arrayOf(committedOffset) });
const ackRequest = object<AckRequest>({
  groupId,
  topic: topicName,
  partition: nonNegI32,
  offsets: arrayOf(i64),
});
const nackRequest = object<NackRequest>({
  groupId,
  topic: topicName,
  partition: nonNegI32,
  offsets: arrayOf(i64),
  delayMs: optional(u32, 0),
});
const listGroupsRequest = object<ListGroupsRequest>({});
const groupSummary = { groupId, mode: groupMode, state: str(0, 64), members: u32 };
const listGroupsResponse = object<ListGroupsResponse>({
  groups: arrayOf(object<GroupSummary>(groupSummary)),
});
const describeGroupsRequest = object<DescribeGroupsRequest>({ groupIds: arrayOf(groupId) });
const describeGroupsResponse = object<DescribeGroupsResponse>({
  groups: arrayOf(
    object<GroupDescription>({
      ...groupSummary,
      errorCode: u16,
      generation: i32,
      lag: optional(
        arrayOf(
          object<PartitionLag>({
            topic: topicName,
            partition: nonNegI32,
            committed: i64OrMinus1,
            endOffset: i64OrMinus1,
            lag: i64,
            pending: u32,
          }),
        ),
        [],
      ),
      memberInfo: arrayOf(
        object<GroupMemberInfo>({
          memberId: id,
          clientId: id,
          host: str(0, 255),
          partitions: arrayOf(topicPartitions),
        }),
      ),
    }),
  ),
});

const groupFetchRequest = object<GroupFetchRequest>({
  groupId,
  memberId: id,
  generation: i32,
  maxMessages: u32,
  maxBytes: u32,
  maxWaitMs: u32,
  positions: arrayOf(committedOffset),
});
const groupFetchResponse = object<GroupFetchResponse>({
  partitions: arrayOf(
    object<GroupFetchPartition>({
      topic: topicName,
      partition: nonNegI32,
      records: bytes,
      offsets: nullable(arrayOf(i64)),
      deliveries: nullable(arrayOf(u32)),
    }),
  ),
});

/** Payload codecs of this file's ops, used by the op table. */
export const groupCodecs = {
  joinGroupRequest: controlCodec(joinGroupRequest),
  joinGroupResponse: controlCodec(joinGroupResponse),
  syncGroupRequest: controlCodec(syncGroupRequest),
  syncGroupResponse: controlCodec(syncGroupResponse),
  groupMemberRequest: controlCodec(groupMemberRequest),
  emptyResponse: controlCodec(emptyResponse),
  commitOffsetsRequest: controlCodec(commitOffsetsRequest),
  commitOffsetsResponse: controlCodec(commitOffsetsResponse),
  fetchOffsetsRequest: controlCodec(fetchOffsetsRequest),
  fetchOffsetsResponse: controlCodec(fetchOffsetsResponse),
  ackRequest: controlCodec(ackRequest),
  nackRequest: controlCodec(nackRequest),
  listGroupsRequest: controlCodec(listGroupsRequest),
  listGroupsResponse: controlCodec(listGroupsResponse),
  describeGroupsRequest: controlCodec(describeGroupsRequest),
  describeGroupsResponse: controlCodec(describeGroupsResponse),
  groupFetchRequest: controlCodec(groupFetchRequest),
  groupFetchResponse: controlCodec(groupFetchResponse),
};

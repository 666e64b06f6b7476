import { MAX_ID_CHARS, topicName } from './messages-admin.js';
import { controlCodec } from './payload.js';
import {
  arrayOf,
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
/** HEARTBEAT and LEAVE_GROUP request. */
export interface GroupMemberRequest {
  groupId: string;
  memberId: string;
  generation: number;
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
/** COMMIT_OFFSETS request. */
export interface CommitOffsetsRequest {
  groupId: string;
  memberId: string;
  generation: number;
  offsets: CommittedOffset[];
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
/** One group as described. */
export interface GroupDescription extends GroupSummary {
  errorCode: number;
  generation: number;
  memberInfo: GroupMemberInfo[];
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
const groupMemberRequest = object<GroupMemberRequest>({ groupId, memberId: id, generation: i32 });
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
};

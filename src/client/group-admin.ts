import { GregorError } from '../errors.js';
import type { GroupDescription, GroupSummary, PartitionLag } from '../protocol/index.js';
import type { Admin } from './admin.js';
import { checkInt } from './client-errors.js';
import type { Cluster } from './cluster.js';

/** Where `resetOffsets` moves a group: log start, log end, first message at/after a time, or an offset. */
export type ResetTarget = 'earliest' | 'latest' | Date | number;

/** One partition's new committed offset after a reset. */
export interface ResetResult {
  topic: string;
  partition: number;
  offset: number;
}

/**
 * Consumer-group administration: list, describe (members, assignment, lag) and offset resets.
 * Reached as `client.groups`.
 */
export class GroupAdmin {
  /** @internal use `client.groups` */
  constructor(
    private readonly cluster: Cluster,
    private readonly admin: Admin,
  ) {}

  /** Every group the broker knows (live, or with committed offsets). */
  async list(): Promise<GroupSummary[]> {
    return (await this.cluster.any().request('LIST_GROUPS', {})).groups;
  }

  /** Members, their partitions and per-partition lag; UNKNOWN_GROUP when the group does not exist. */
  async describe(group: string): Promise<GroupDescription> {
    const r = await this.cluster.any().request('DESCRIBE_GROUPS', { groupIds: [group] });
    const d = r.groups[0];
    if (d?.errorCode !== 0)
      throw new GregorError('UNKNOWN_GROUP', `consumer group "${group}" does not exist`);
    return d;
  }

  /** Committed offsets of the group (queue mode: the ack floor), sorted by topic and partition. */
  async fetchCommitted(group: string): Promise<ResetResult[]> {
    const r = await this.cluster.any().request('FETCH_OFFSETS', { groupId: group, partitions: null });
    return r.offsets
      .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Lag per partition: messages not yet committed (fanout) or acknowledged (queue). */
  async lag(group: string): Promise<PartitionLag[]> {
    return (await this.describe(group)).lag ?? [];
  }

  /**
   * Moves the group's committed offsets on `topic` (all partitions, or `partitions`). Refused
   * with GROUP_NOT_EMPTY while members are live unless `force`. Durable when it resolves.
   */
  async resetOffsets(
    group: string,
    topic: string,
    to: ResetTarget,
    opts: { partitions?: number[]; force?: boolean } = {},
  ): Promise<ResetResult[]> {
    const d = await this.admin.describeTopic(topic);
    const parts = opts.partitions ?? d.partitions.map((p) => p.partition);
    const offsets: ResetResult[] = [];
    for (const partition of parts) {
      let offset: number;
      if (typeof to === 'number') offset = checkInt('resetOffsets.to', to, 0);
      else if (to instanceof Date) offset = await this.admin.listOffsets(topic, partition, { timestamp: to });
      else offset = await this.admin.listOffsets(topic, partition, to);
      offsets.push({ topic, partition, offset });
    }
    const r = await this.cluster.any().request('COMMIT_OFFSETS', {
      groupId: group,
      memberId: '',
      generation: -1,
      offsets: offsets.map((o) => ({ ...o, metadata: '' })),
      force: opts.force ?? false,
    });
    for (const p of r.partitions) {
      if (p.errorCode !== 0) {
        throw new GregorError(
          'INVALID_ARGUMENT',
          `reset of ${p.topic}/${p.partition} failed: ${p.errorMessage}`,
        );
      }
    }
    return offsets;
  }
}

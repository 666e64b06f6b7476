import type { Logger } from 'pino';
import type { BrokerService } from '../broker/broker-service.js';
import { GregorError, isGregorError } from '../errors.js';
import type {
  AckRequest,
  CommitOffsetsRequest,
  CommitOffsetsResponse,
  CommittedOffset,
  FetchOffsetsRequest,
  GroupDescription,
  GroupFetchPartition,
  GroupFetchRequest,
  GroupFetchResponse,
  GroupMemberRequest,
  GroupMode,
  GroupSummary,
  JoinGroupRequest,
  JoinGroupResponse,
  NackRequest,
  PartitionLag,
  TopicPartitions,
} from '../protocol/messages-groups.js';
import { type DeadLetterReason, deadLetter } from './dead-letter.js';
import { DEFAULT_GROUP_DEFAULTS, Group, type GroupDefaults } from './group.js';
import { type GroupStore, newLedger, type StoreRecord, splitTpKey, tpKey } from './group-store.js';
import {
  dueRedeliveries,
  nextDue,
  type Pick,
  type QueueCursor,
  readRecordAt,
  scanFresh,
  toWire,
} from './queue-dispatch.js';

/** What the coordinator needs from its node. */
export interface GroupCoordinatorOptions {
  service: BrokerService;
  store: GroupStore;
  defaults?: Partial<GroupDefaults>;
  logger?: Logger;
  /** Whether this node coordinates `groupId` (cluster: the ring owner of the id). Default: all. */
  owns?: (groupId: string) => boolean;
  /** How often timers (ack wait, sessions, delays) are checked, ms. Default 50. */
  tickMs?: number;
}

/** Where a request came from (for DESCRIBE_GROUPS and closing members with their connection). */
export interface RequestOrigin {
  host: string;
  /** Aborted when the client's connection closes: its members leave at once. */
  signal?: AbortSignal;
}

function toTopicPartitions(keys: Iterable<string>): TopicPartitions[] {
  const by = new Map<string, number[]>();
  for (const k of keys) {
    const { topic, partition } = splitTpKey(k);
    const list = by.get(topic) ?? [];
    list.push(partition);
    by.set(topic, list);
  }
  return [...by]
    .sort()
    .map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

/**
 * The group coordinator role: owns a set of consumer groups (all of them on a single node; in a
 * cluster, those whose id the ring places here — see `owns`), their membership, committed offsets
 * and queue-mode ack ledgers. Durable state goes through a GroupStore; commits and acks are
 * answered only once stored durably.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly cursors = new Map<string, Map<string, QueueCursor>>();
  private readonly fetchWaiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Map<string, (() => void)[]>();
  /** When each group last had a member leave, join or commit (ms epoch), for offsets retention. */
  private readonly lastActive = new Map<string, number>();
  private nextExpiryCheck = 0;
  readonly defaults: GroupDefaults;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: GroupCoordinatorOptions) {
    this.defaults = { ...DEFAULT_GROUP_DEFAULTS, ...o.defaults };
    const now = Date.now();
    for (const [id, sg] of o.store.state) {
      this.ensureGroup(id, sg.mode);
      // A file from before records were dated counts from now: retention never ends early.
      this.lastActive.set(id, sg.activeAt > 0 ? sg.activeAt : now);
    }
    this.timer = setInterval(() => this.tick(), o.tickMs ?? 50);
    this.timer.unref();
  }

  private get topics() {
    return this.o.service.topics;
  }

  private check(groupId: string): void {
    if (this.closed) throw new GregorError('BROKER_SHUTTING_DOWN');
    if (this.o.owns && !this.o.owns(groupId)) {
      throw new GregorError('NOT_COORDINATOR', `this node does not coordinate group "${groupId}"`);
    }
  }

  private ensureGroup(id: string, mode: GroupMode): Group {
    let g = this.groups.get(id);
    if (!g) {
      g = new Group(
        id,
        mode,
        this.defaults,
        () => {
          const counts = new Map<string, number>();
          for (const t of g!.topics()) {
            try {
              const d = this.topics.definition(t);
              if (d.durable) counts.set(t, d.partitions);
            } catch {
              // Unknown topic: nothing to assign until it exists.
            }
          }
          return counts;
        },
        (grp) => this.onGroupChange(grp),
      );
      this.groups.set(id, g);
    }
    return g;
  }

  private group(groupId: string): Group {
    this.check(groupId);
    const g = this.groups.get(groupId);
    if (!g) throw new GregorError('UNKNOWN_GROUP', `consumer group "${groupId}" does not exist`);
    return g;
  }

  private onGroupChange(g: Group): void {
    this.wakeFetches(g.id);
    // Follow appends on every partition of the group's topics so parked fetches wake up.
    for (const fn of this.listeners.get(g.id) ?? []) fn();
    const un: (() => void)[] = [];
    for (const t of g.topics()) {
      try {
        if (!this.topics.definition(t).durable) continue;
        for (let p = 0; p < this.topics.definition(t).partitions; p++) {
          un.push(this.topics.partition(t, p).onAppend(() => this.wakeFetches(g.id)));
        }
      } catch {
        // Topic not there (yet).
      }
    }
    this.listeners.set(g.id, un);
  }

  private wakeFetches(groupId: string): void {
    const set = this.fetchWaiters.get(groupId);
    if (!set) return;
    this.fetchWaiters.delete(groupId);
    for (const fn of set) fn();
  }

  /** JOIN_GROUP: held until the round completes. */
  async join(req: JoinGroupRequest, origin: RequestOrigin): Promise<JoinGroupResponse> {
    this.check(req.groupId);
    if (req.topics.length === 0) throw new GregorError('INVALID_ARGUMENT', 'JOIN_GROUP.topics is empty');
    for (const t of req.topics) {
      if (!this.topics.has(t)) await this.o.service.createTopic({ name: t }).catch(() => undefined);
      this.topics.definition(t);
    }
    const existing = this.groups.get(req.groupId);
    if (existing && existing.members.size > 0 && existing.mode !== req.mode) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `group "${req.groupId}" runs in ${existing.mode} mode with live members; JOIN_GROUP.mode was ${req.mode}`,
      );
    }
    const g = this.ensureGroup(req.groupId, req.mode);
    this.lastActive.set(g.id, Date.now());
    if (g.mode !== req.mode || !this.o.store.state.has(req.groupId)) {
      g.mode = req.mode;
      await this.o.store.append([{ t: 'group', g: g.id, mode: req.mode, at: Date.now() }], true);
    }
    if (req.ackWaitMs != null) g.ackWaitMs = req.ackWaitMs;
    if (req.maxDeliveries != null) g.maxDeliveries = req.maxDeliveries;
    const { member, generation } = g.join(req.memberId, {
      clientId: req.clientId ?? '',
      host: origin.host,
      topics: [...req.topics].sort(),
      sessionTimeoutMs: req.sessionTimeoutMs || this.defaults.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs || this.defaults.sessionTimeoutMs,
    });
    if (origin.signal && !member.onGone) {
      const signal = origin.signal;
      const onAbort = () => this.removeMember(g, member.id);
      signal.addEventListener('abort', onAbort, { once: true });
      member.onGone = () => signal.removeEventListener('abort', onAbort);
    }
    const gen = await generation;
    return { memberId: member.id, generation: gen, leaderId: null, members: [] };
  }

  /** SYNC_GROUP: the member's partitions at this generation (the coordinator assigns). */
  async sync(req: {
    groupId: string;
    memberId: string;
    generation: number;
  }): Promise<{ partitions: TopicPartitions[] }> {
    const g = this.group(req.groupId);
    const m = g.member(req.memberId);
    g.checkGeneration(m, req.generation);
    return { partitions: toTopicPartitions(m.assigned) };
  }

  /** HEARTBEAT (parked up to `waitMs`). */
  async heartbeat(req: GroupMemberRequest): Promise<Record<string, never>> {
    await this.group(req.groupId).heartbeat(req.memberId, req.generation, req.waitMs ?? 0);
    return {};
  }

  /** LEAVE_GROUP: leaves at once; queue-mode messages it held go back to the others. */
  async leave(req: GroupMemberRequest): Promise<Record<string, never>> {
    const g = this.group(req.groupId);
    this.removeMember(g, req.memberId);
    return {};
  }

  private removeMember(g: Group, memberId: string): void {
    if (!g.remove(memberId)) return;
    // Retention counts from the moment the group became empty.
    this.lastActive.set(g.id, Date.now());
    for (const cur of this.cursors.get(g.id)?.values() ?? []) {
      for (const [o, f] of cur.inflight) {
        if (f.memberId === memberId) {
          cur.inflight.delete(o);
          cur.redeliver.set(o, 0);
        }
      }
    }
    this.wakeFetches(g.id);
  }

  /** COMMIT_OFFSETS, answered after the offsets are durable. */
  async commit(req: CommitOffsetsRequest): Promise<CommitOffsetsResponse> {
    this.check(req.groupId);
    const admin = req.generation === -1 && req.memberId === '';
    let g = this.groups.get(req.groupId);
    if (admin) {
      if (g && g.members.size > 0 && !req.force) {
        throw new GregorError(
          'GROUP_NOT_EMPTY',
          `group "${req.groupId}" has ${g.members.size} live member(s); stop them or force the reset`,
        );
      }
      g ??= this.ensureGroup(req.groupId, 'fanout');
    } else {
      if (!g) throw new GregorError('UNKNOWN_GROUP', `consumer group "${req.groupId}" does not exist`);
      g.member(req.memberId);
    }
    const records: StoreRecord[] = [];
    const results: CommitOffsetsResponse['partitions'] = [];
    const at = Date.now();
    this.lastActive.set(g.id, at);
    for (const c of req.offsets) {
      try {
        this.topics.partition(c.topic, c.partition);
        if (admin || g.mode === 'queue') {
          if (!admin)
            throw new GregorError('INVALID_ARGUMENT', 'queue-mode groups commit by ACK, not COMMIT_OFFSETS');
          records.push({ t: 'reset', g: g.id, topic: c.topic, p: c.partition, offset: c.offset, at });
          this.cursors.get(g.id)?.delete(tpKey(c.topic, c.partition));
        } else {
          records.push({
            t: 'commit',
            g: g.id,
            topic: c.topic,
            p: c.partition,
            offset: c.offset,
            meta: c.metadata,
            at,
          });
        }
        results.push({ topic: c.topic, partition: c.partition, errorCode: 0, errorMessage: null });
      } catch (err) {
        const e = isGregorError(err) ? err : new GregorError('UNKNOWN', String(err));
        results.push({ topic: c.topic, partition: c.partition, errorCode: e.wire, errorMessage: e.message });
      }
    }
    if (!this.o.store.state.has(g.id)) records.unshift({ t: 'group', g: g.id, mode: g.mode, at });
    if (records.length) await this.o.store.append(records, true);
    return { partitions: results };
  }

  /** FETCH_OFFSETS: committed offsets (queue mode: the ack floor); -1 where none. */
  async fetchOffsets(req: FetchOffsetsRequest): Promise<{ offsets: CommittedOffset[] }> {
    this.check(req.groupId);
    const sg = this.o.store.state.get(req.groupId);
    const out: CommittedOffset[] = [];
    if (req.partitions === null) {
      for (const [k, c] of sg?.offsets ?? []) {
        const { topic, partition } = splitTpKey(k);
        out.push({ topic, partition, offset: c.offset, metadata: c.meta });
      }
    } else {
      for (const tp of req.partitions) {
        for (const p of tp.partitions) {
          const c = sg?.offsets.get(tpKey(tp.topic, p));
          out.push({ topic: tp.topic, partition: p, offset: c?.offset ?? -1, metadata: c?.meta ?? '' });
        }
      }
    }
    return { offsets: out };
  }

  /** GROUP_FETCH: long-polls for messages for one member. */
  async fetch(req: GroupFetchRequest, signal?: AbortSignal): Promise<GroupFetchResponse> {
    const deadline = Date.now() + req.maxWaitMs;
    for (let round = 0; round < 100_000; round++) {
      const g = this.group(req.groupId);
      const m = g.member(req.memberId);
      g.checkGeneration(m, req.generation);
      const partitions =
        g.mode === 'queue'
          ? await this.fetchQueue(g, m.id, m.assigned, req)
          : await this.fetchFanout(g, m.assigned, req);
      const wait = deadline - Date.now();
      if (partitions.length > 0 || wait <= 0 || signal?.aborted || this.closed) return { partitions };
      await new Promise<void>((resolve) => {
        const set = this.fetchWaiters.get(g.id) ?? new Set();
        this.fetchWaiters.set(g.id, set);
        const done = () => {
          clearTimeout(t);
          set.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, Math.min(wait, this.nextWake(g.id) - Date.now()));
        signal?.addEventListener('abort', done, { once: true });
        set.add(done);
      });
    }
    return { partitions: [] };
  }

  private nextWake(groupId: string): number {
    let t = Date.now() + 60_000;
    for (const cur of this.cursors.get(groupId)?.values() ?? []) t = Math.min(t, nextDue(cur));
    return Math.max(Date.now() + 1, t);
  }

  private async fetchFanout(
    g: Group,
    assigned: Set<string>,
    req: GroupFetchRequest,
  ): Promise<GroupFetchPartition[]> {
    const sg = this.o.store.state.get(g.id);
    const positions = new Map(req.positions.map((p) => [tpKey(p.topic, p.partition), p.offset]));
    const out: GroupFetchPartition[] = [];
    let budget = req.maxBytes;
    for (const key of assigned) {
      if (budget <= 0) break;
      const { topic, partition } = splitTpKey(key);
      const p = this.topics.partition(topic, partition);
      let at = positions.get(key) ?? sg?.offsets.get(key)?.offset ?? -1;
      if (at < 0 || at < p.startOffset) at = p.startOffset;
      if (at >= p.endOffset) continue;
      const r = await p.read(at, budget);
      if (r.bytes.length === 0) continue;
      budget -= r.bytes.length;
      out.push({ topic, partition, records: r.bytes, offsets: null, deliveries: null });
    }
    return out;
  }

  private cursor(groupId: string, key: string): QueueCursor {
    let map = this.cursors.get(groupId);
    if (!map) {
      map = new Map();
      this.cursors.set(groupId, map);
    }
    let cur = map.get(key);
    if (!cur) {
      const { topic, partition } = splitTpKey(key);
      const floor = this.ledger(groupId, key).floor;
      cur = { topic, partition, next: floor, inflight: new Map(), redeliver: new Map() };
      map.set(key, cur);
    }
    return cur;
  }

  private ledger(groupId: string, key: string) {
    let sg = this.o.store.state.get(groupId);
    if (!sg) {
      sg = { mode: 'queue', offsets: new Map(), ledgers: new Map(), activeAt: 0 };
      this.o.store.state.set(groupId, sg);
    }
    let l = sg.ledgers.get(key);
    if (!l) {
      const { topic, partition } = splitTpKey(key);
      const committed = sg.offsets.get(key)?.offset ?? -1;
      l = newLedger(committed >= 0 ? committed : this.topics.partition(topic, partition).startOffset);
      sg.ledgers.set(key, l);
    }
    return l;
  }

  private async fetchQueue(
    g: Group,
    memberId: string,
    assigned: Set<string>,
    req: GroupFetchRequest,
  ): Promise<GroupFetchPartition[]> {
    const now = Date.now();
    const max = Math.max(1, req.maxMessages);
    const picked: { cur: QueueCursor; picks: Pick[] }[] = [];
    const stored: StoreRecord[] = [];
    let count = 0;
    // Redeliveries first, from any partition of the group's topics.
    const keys = new Set<string>(assigned);
    for (const k of this.cursors.get(g.id)?.keys() ?? []) keys.add(k);
    for (const key of keys) {
      if (count >= max) break;
      const cur = this.cursor(g.id, key);
      const ledger = this.ledger(g.id, key);
      const picks: Pick[] = [];
      for (const o of dueRedeliveries(cur, now, max - count)) {
        cur.redeliver.delete(o);
        if (o < ledger.floor || ledger.acked.has(o)) continue;
        const found = await readRecordAt(this.topics, cur.topic, cur.partition, o);
        if (!found) {
          stored.push({ t: 'ack', g: g.id, topic: cur.topic, p: cur.partition, offsets: [o] });
          continue;
        }
        const seen = ledger.deliveries.get(o) ?? 0;
        if (g.maxDeliveries > 0 && seen >= g.maxDeliveries) {
          await this.toDeadLetter(
            g,
            cur,
            found.record,
            seen,
            ledger.notBefore.has(o) ? 'nacked' : 'ack-wait-expired',
          );
          continue;
        }
        picks.push({ offset: o, batch: found.batch, record: found.record, deliveries: seen + 1 });
      }
      if (picks.length) picked.push({ cur, picks });
      count += picks.length;
    }
    for (const key of assigned) {
      if (count >= max) break;
      const cur = this.cursor(g.id, key);
      const picks = await scanFresh(this.topics, cur, this.ledger(g.id, key), max - count, req.maxBytes, now);
      if (picks.length) picked.push({ cur, picks });
      count += picks.length;
    }
    const out: GroupFetchPartition[] = [];
    for (const { cur, picks } of picked) {
      const ledger = this.ledger(g.id, tpKey(cur.topic, cur.partition));
      for (const pk of picks) {
        cur.inflight.set(pk.offset, { memberId, deadline: now + g.ackWaitMs });
        ledger.deliveries.set(pk.offset, pk.deliveries);
        ledger.notBefore.delete(pk.offset);
        stored.push({
          t: 'deliv',
          g: g.id,
          topic: cur.topic,
          p: cur.partition,
          offset: pk.offset,
          n: pk.deliveries,
        });
      }
      out.push(...toWire(cur.topic, cur.partition, picks));
    }
    // Delivery counts ride along with the next fsync: losing one only under-counts a delivery.
    if (stored.length) this.o.store.append(stored, false).catch(() => undefined);
    return out;
  }

  private async toDeadLetter(
    g: Group,
    cur: QueueCursor,
    record: Parameters<typeof deadLetter>[1]['record'],
    deliveries: number,
    reason: DeadLetterReason,
  ): Promise<void> {
    await deadLetter(this.o.service, {
      group: g.id,
      topic: cur.topic,
      partition: cur.partition,
      record,
      deliveries,
      reason,
    });
    await this.o.store.append(
      [{ t: 'ack', g: g.id, topic: cur.topic, p: cur.partition, offsets: [record.offset] }],
      true,
    );
    this.o.logger?.info(
      { group: g.id, topic: cur.topic, partition: cur.partition, offset: record.offset, deliveries, reason },
      'message dead-lettered',
    );
  }

  /** ACK: durable before it answers; an acked message is never delivered again. */
  async ack(req: AckRequest): Promise<Record<string, never>> {
    const g = this.group(req.groupId);
    this.topics.partition(req.topic, req.partition);
    const key = tpKey(req.topic, req.partition);
    this.ledger(g.id, key);
    const cur = this.cursors.get(g.id)?.get(key);
    for (const o of req.offsets) {
      cur?.inflight.delete(o);
      cur?.redeliver.delete(o);
    }
    const at = Date.now();
    this.lastActive.set(g.id, at);
    await this.o.store.append(
      [{ t: 'ack', g: g.id, topic: req.topic, p: req.partition, offsets: req.offsets, at }],
      true,
    );
    return {};
  }

  /** NACK: redeliver (to any member) after `delayMs`. */
  async nack(req: NackRequest): Promise<Record<string, never>> {
    const g = this.group(req.groupId);
    this.topics.partition(req.topic, req.partition);
    const key = tpKey(req.topic, req.partition);
    const cur = this.cursor(g.id, key);
    const ledger = this.ledger(g.id, key);
    const at = Date.now() + req.delayMs;
    const records: StoreRecord[] = [];
    for (const o of req.offsets) {
      if (o < ledger.floor || ledger.acked.has(o)) continue;
      cur.inflight.delete(o);
      cur.redeliver.set(o, at);
      records.push({ t: 'nack', g: g.id, topic: req.topic, p: req.partition, offset: o, notBefore: at });
    }
    if (records.length) await this.o.store.append(records, true);
    this.wakeFetches(g.id);
    return {};
  }

  private summary(g: Group): GroupSummary {
    return { groupId: g.id, mode: g.mode, state: g.state, members: g.members.size };
  }

  /** LIST_GROUPS: every group this node coordinates (live or with stored offsets). */
  list(): GroupSummary[] {
    return [...this.groups.values()]
      .filter((g) => !this.o.owns || this.o.owns(g.id))
      .map((g) => this.summary(g))
      .sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** DESCRIBE_GROUPS, with per-partition lag. */
  describe(ids: string[]): GroupDescription[] {
    return ids.map((id) => {
      const g = this.groups.get(id);
      if (!g) {
        return {
          groupId: id,
          mode: 'fanout' as const,
          state: 'dead',
          members: 0,
          errorCode: new GregorError('UNKNOWN_GROUP').wire,
          generation: -1,
          memberInfo: [],
          lag: [],
        };
      }
      return {
        ...this.summary(g),
        errorCode: 0,
        generation: g.generation,
        memberInfo: [...g.members.values()].map((m) => ({
          memberId: m.id,
          clientId: m.clientId,
          host: m.host,
          partitions: toTopicPartitions(m.assigned),
        })),
        lag: this.lag(id),
      };
    });
  }

  /** Lag per partition of the group's topics and committed partitions. */
  lag(groupId: string): PartitionLag[] {
    const g = this.groups.get(groupId);
    const sg = this.o.store.state.get(groupId);
    const keys = new Set<string>(sg?.offsets.keys() ?? []);
    for (const k of sg?.ledgers.keys() ?? []) keys.add(k);
    const topics = new Set(g?.topics() ?? []);
    for (const k of keys) topics.add(splitTpKey(k).topic);
    for (const t of topics) {
      try {
        const d = this.topics.definition(t);
        if (d.durable) for (let p = 0; p < d.partitions; p++) keys.add(tpKey(t, p));
      } catch {
        // Topic gone.
      }
    }
    const out: PartitionLag[] = [];
    for (const key of [...keys].sort()) {
      const { topic, partition } = splitTpKey(key);
      let p: ReturnType<typeof this.topics.partition>;
      try {
        p = this.topics.partition(topic, partition);
      } catch {
        continue;
      }
      const committed = sg?.ledgers.get(key)?.floor ?? sg?.offsets.get(key)?.offset ?? -1;
      const from = Math.max(committed, p.startOffset);
      out.push({
        topic,
        partition,
        committed,
        endOffset: p.endOffset,
        lag: Math.max(0, p.endOffset - from),
        pending: this.cursors.get(groupId)?.get(key)?.inflight.size ?? 0,
      });
    }
    return out;
  }

  /** Rows for the `gregormq_group_lag` metric. */
  lagStats(): { group: string; topic: string; partition: number; lag: number }[] {
    return [...this.groups.keys()].flatMap((group) => this.lag(group).map((l) => ({ group, ...l })));
  }

  /** Rows for the group member-count metric. */
  memberStats(): { group: string; members: number }[] {
    return [...this.groups.values()].map((g) => ({ group: g.id, members: g.members.size }));
  }

  /** The live Group object (tests and the rebalance bench read its state). */
  peek(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /**
   * Offsets retention (Kafka's offsets.retention.minutes): a group this node coordinates that has
   * had no member and no commit or ack for `offsetsRetentionMs` is forgotten, offsets, ack state
   * and all, and the deletion is stored so a restart does not bring it back.
   */
  private expireGroups(now: number): void {
    const retention = this.defaults.offsetsRetentionMs;
    for (const g of [...this.groups.values()]) {
      if (g.members.size > 0 || (this.o.owns && !this.o.owns(g.id))) continue;
      const since = this.lastActive.get(g.id) ?? now;
      if (now - since < retention) continue;
      this.forget(g);
      this.o.logger?.info(
        { group: g.id, idleMs: now - since, offsetsRetentionMs: retention },
        'group expired: no members and no commits for the offsets retention time',
      );
      this.o.store.append([{ t: 'delete', g: g.id }], true).catch((err: unknown) => {
        this.o.logger?.error({ err, group: g.id }, 'could not store the deletion of an expired group');
      });
    }
  }

  /** Drops every trace of `g` in memory (the caller stores the deletion). */
  private forget(g: Group): void {
    g.close();
    this.groups.delete(g.id);
    this.cursors.delete(g.id);
    this.lastActive.delete(g.id);
    for (const fn of this.listeners.get(g.id) ?? []) fn();
    this.listeners.delete(g.id);
    this.wakeFetches(g.id);
  }

  private tick(): void {
    const now = Date.now();
    if (now >= this.nextExpiryCheck) {
      this.nextExpiryCheck = now + Math.min(1000, this.defaults.offsetsRetentionMs);
      this.expireGroups(now);
    }
    for (const g of this.groups.values()) {
      for (const id of g.expired(now)) {
        this.o.logger?.info({ group: g.id, member: id }, 'member session timed out');
        this.removeMember(g, id);
      }
      let due = false;
      for (const cur of this.cursors.get(g.id)?.values() ?? []) {
        for (const [o, f] of cur.inflight) {
          if (f.deadline <= now) {
            cur.inflight.delete(o);
            cur.redeliver.set(o, 0);
            due = true;
          }
        }
        if (!due) for (const at of cur.redeliver.values()) if (at <= now) due = true;
      }
      if (due) this.wakeFetches(g.id);
    }
  }

  /** Stops timers, answers parked requests, closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const g of this.groups.values()) g.close();
    for (const id of [...this.fetchWaiters.keys()]) this.wakeFetches(id);
    for (const un of this.listeners.values()) for (const fn of un) fn();
    await this.o.store.close();
  }
}

import { GregorError, isGregorError } from '../errors.js';
import type { GroupFetchPartition, GroupMode, TopicPartitions } from '../protocol/index.js';
import { ClientClosedError, checkInt, InvalidOptionError } from './client-errors.js';
import type { Cluster } from './cluster.js';
import type { Connection } from './connection.js';
import { decodeRun, type Message } from './message.js';

/** Header carrying a "deliver no earlier than" time, ms since epoch as decimal text. */
export const NOT_BEFORE_HEADER = 'gregor-not-before';

/** Options of `client.groupConsumer()`. */
export interface GroupConsumerOptions {
  /** The group to join; every group gets every message, members of one group share them. */
  group: string;
  topics: string[];
  /**
   * 'fanout' (default): Kafka-style; partitions are shared among members, progress is a
   * committed offset per partition (committed automatically). 'queue': per-message `ack()` /
   * `nack()`, redelivery after the ack wait, dead letters after `maxDeliveries`.
   */
  mode?: GroupMode;
  /** Remove this member after this long without a heartbeat, ms. Default: the broker's (45 s). */
  sessionTimeoutMs?: number;
  /** How long each parked heartbeat waits at the broker, ms. Default 3000. */
  heartbeatIntervalMs?: number;
  /** Queue mode: redeliver after this long without an ack, ms. Default: the broker's (30 s). */
  ackWaitMs?: number;
  /** Queue mode: dead-letter after this many deliveries (-1 never). Default: the broker's (-1). */
  maxDeliveries?: number;
  /** Messages asked for per fetch (queue mode: also the most unacknowledged at once). Default 500. */
  maxMessages?: number;
  /** Queue mode: ack each message when the next one is asked for. Default false. */
  autoAck?: boolean;
  /** Called after every assignment change with this member's partitions. */
  onAssign?: (partitions: TopicPartitions[]) => void;
}

/** A message received through a group; queue mode adds acknowledgement. */
export interface GroupMessage extends Message {
  /** 1 on first delivery; more when redelivered (queue mode). */
  deliveryCount: number;
  /** Queue mode: done with it; resolves once the broker stored the ack durably. */
  ack(): Promise<void>;
  /** Queue mode: give it back for redelivery (to any member) after `delayMs`. */
  nack(delayMs?: number): Promise<void>;
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

/**
 * A member of a consumer group, as an async iterator:
 *
 *   const c = client.groupConsumer({ group: 'billing', topics: ['orders'] });
 *   for await (const m of c) { handle(m); }
 *
 * Joining, heartbeats (parked at the coordinator so a rebalance is learnt at once), assignment
 * changes and offset commits run in the background. In fanout mode a message counts as
 * processed once the next one is asked for, and processed offsets are committed on every fetch
 * round, when partitions are revoked and on close — at-least-once.
 */
export class GroupConsumer implements AsyncIterableIterator<GroupMessage> {
  private conn: Connection | null = null;
  private memberId: string | null = null;
  private generation = -1;
  private assigned = new Set<string>();
  private readonly positions = new Map<string, number>();
  private readonly processed = new Map<string, number>();
  private readonly committed = new Map<string, number>();
  private queue: GroupMessage[] = [];
  private inHand: GroupMessage | null = null;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private closed = false;
  private rejoin = true;
  private readonly loop: Promise<void>;
  private readonly mode: GroupMode;
  private readonly maxMessages: number;
  private readonly hbMs: number;
  private joinedOnce!: () => void;
  private readonly joined = new Promise<void>((r) => {
    this.joinedOnce = r;
  });

  /** @internal use `client.groupConsumer()` */
  constructor(
    private readonly cluster: Cluster,
    private readonly opts: GroupConsumerOptions,
    private readonly onClose: (c: GroupConsumer) => void,
  ) {
    if (typeof opts?.group !== 'string' || opts.group === '')
      throw new InvalidOptionError(
        'groupConsumer.group',
        `must be a group id, got ${JSON.stringify(opts?.group)}`,
      );
    if (!Array.isArray(opts.topics) || opts.topics.length === 0)
      throw new InvalidOptionError('groupConsumer.topics', 'must name at least one topic');
    this.mode = opts.mode ?? 'fanout';
    if (this.mode !== 'fanout' && this.mode !== 'queue')
      throw new InvalidOptionError(
        'groupConsumer.mode',
        `must be 'fanout' or 'queue', got ${JSON.stringify(opts.mode)}`,
      );
    this.maxMessages = checkInt('groupConsumer.maxMessages', opts.maxMessages ?? 500, 1, 1_000_000);
    this.hbMs = checkInt('groupConsumer.heartbeatIntervalMs', opts.heartbeatIntervalMs ?? 3000, 1, 3_600_000);
    this.loop = this.run().catch((err: Error) => this.fail(err));
  }

  /** Resolves once the first assignment arrived. */
  ready(): Promise<void> {
    return this.joined;
  }

  /** This member's partitions now. */
  assignment(): TopicPartitions[] {
    const by = new Map<string, number[]>();
    for (const k of this.assigned) {
      const [t, p] = k.split('\0') as [string, string];
      by.set(t, [...(by.get(t) ?? []), Number(p)]);
    }
    return [...by].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
  }

  /** The id the coordinator gave this member (null before the first join). */
  get id(): string | null {
    return this.memberId;
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async connection(): Promise<Connection> {
    if (!this.conn) {
      const node = this.cluster.any().nodeName;
      if (!node) throw new GregorError('CONNECTION_CLOSED', 'not connected to any broker');
      this.conn = this.cluster.dedicated(node);
    }
    return this.conn;
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.closed; i++) {
      const conn = await this.connection();
      try {
        if (this.rejoin) await this.joinAndSync(conn);
        await this.fetchOnce(conn);
      } catch (err) {
        if (this.closed) return;
        if (isGregorError(err) && (err.code === 'REBALANCE_IN_PROGRESS' || err.code === 'UNKNOWN_MEMBER')) {
          if (err.code === 'UNKNOWN_MEMBER') this.memberId = null;
          this.rejoin = true;
          continue;
        }
        if (isGregorError(err) && err.retriable) {
          this.rejoin = true;
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * (i % 20))));
          continue;
        }
        throw err;
      }
    }
  }

  private async joinAndSync(conn: Connection): Promise<void> {
    this.rejoin = false;
    const o = this.opts;
    const join = await conn.request(
      'JOIN_GROUP',
      {
        groupId: o.group,
        memberId: this.memberId,
        topics: o.topics,
        mode: this.mode,
        sessionTimeoutMs: o.sessionTimeoutMs ?? 0,
        rebalanceTimeoutMs: o.sessionTimeoutMs ?? 0,
        ackWaitMs: o.ackWaitMs ?? null,
        maxDeliveries: o.maxDeliveries ?? null,
        clientId: this.cluster.options.clientId.slice(0, 255),
      },
      { timeoutMs: 5 * 60_000 },
    );
    this.memberId = join.memberId;
    this.generation = join.generation;
    const sync = await conn.request('SYNC_GROUP', {
      groupId: o.group,
      memberId: join.memberId,
      generation: join.generation,
      assignments: [],
    });
    const next = new Set<string>();
    for (const tp of sync.partitions) for (const p of tp.partitions) next.add(key(tp.topic, p));
    const revoked = [...this.assigned].filter((k) => !next.has(k));
    if (revoked.length && this.mode === 'fanout') {
      const gone = new Set(revoked);
      this.queue = this.queue.filter((m) => !gone.has(key(m.topic, m.partition)));
      // The message in the user's hands is finished once next() is called; wait for that, bounded.
      for (
        let i = 0;
        i < 200 && this.inHand && gone.has(key(this.inHand.topic, this.inHand.partition));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await this.commitProcessed(conn, gone);
      for (const k of gone) {
        this.positions.delete(k);
        this.processed.delete(k);
      }
    }
    this.assigned = next;
    if (this.mode === 'fanout') {
      const fresh = [...next].filter((k) => !this.positions.has(k));
      if (fresh.length) {
        const r = await conn.request('FETCH_OFFSETS', { groupId: o.group, partitions: toTp(fresh) });
        for (const c of r.offsets) {
          if (c.offset >= 0) {
            this.positions.set(key(c.topic, c.partition), c.offset);
            this.committed.set(key(c.topic, c.partition), c.offset);
          }
        }
      }
    }
    // First heartbeat at the new generation confirms revocations; then keep one parked.
    await conn.request('HEARTBEAT', {
      groupId: o.group,
      memberId: join.memberId,
      generation: join.generation,
      waitMs: 0,
    });
    void this.heartbeatLoop(conn, join.generation);
    o.onAssign?.(this.assignment());
    this.joinedOnce();
  }

  private async heartbeatLoop(conn: Connection, generation: number): Promise<void> {
    while (!this.closed && !this.rejoin && this.generation === generation) {
      try {
        await conn.request(
          'HEARTBEAT',
          { groupId: this.opts.group, memberId: this.memberId!, generation, waitMs: this.hbMs },
          { timeoutMs: this.hbMs + 30_000 },
        );
      } catch (err) {
        if (this.closed || this.generation !== generation) return;
        if (isGregorError(err) && err.code === 'UNKNOWN_MEMBER') this.memberId = null;
        this.rejoin = true;
        return;
      }
    }
  }

  private async fetchOnce(conn: Connection): Promise<void> {
    if (this.mode === 'fanout') await this.commitProcessed(conn);
    if (this.queue.length >= this.maxMessages) {
      await new Promise((r) => setTimeout(r, 20));
      return;
    }
    const r = await conn.request(
      'GROUP_FETCH',
      {
        groupId: this.opts.group,
        memberId: this.memberId!,
        generation: this.generation,
        maxMessages: this.maxMessages - this.queue.length,
        maxBytes: 4 * 1024 * 1024,
        maxWaitMs: Math.min(500, this.hbMs),
        positions: [...this.positions].map(([k, offset]) => {
          const [topic, p] = k.split('\0') as [string, string];
          return { topic, partition: Number(p), offset, metadata: '' };
        }),
      },
      { timeoutMs: 60_000 },
    );
    if (this.rejoin) return;
    for (const part of r.partitions) this.accept(part);
    if (this.queue.length) this.wake();
  }

  private accept(part: GroupFetchPartition): void {
    const k = key(part.topic, part.partition);
    if (!this.assigned.has(k) && this.mode === 'fanout') return;
    const from = this.mode === 'fanout' ? (this.positions.get(k) ?? 0) : 0;
    const run = decodeRun(part.topic, part.partition, part.records, from);
    const wanted = part.offsets ? new Map(part.offsets.map((o, i) => [o, part.deliveries?.[i] ?? 1])) : null;
    for (const m of run.messages) {
      if (wanted && !wanted.has(m.offset)) continue;
      this.queue.push(this.wrap(m, wanted?.get(m.offset) ?? 1));
    }
    if (this.mode === 'fanout') this.positions.set(k, run.nextOffset);
  }

  private wrap(m: Message, deliveryCount: number): GroupMessage {
    const queue = this.mode === 'queue';
    const need = (what: string) => {
      if (!queue)
        throw new GregorError('INVALID_ARGUMENT', `${what} works in queue mode; this group is fanout`);
    };
    return {
      ...m,
      deliveryCount,
      ack: async () => {
        need('ack()');
        await (await this.connection()).request('ACK', {
          groupId: this.opts.group,
          topic: m.topic,
          partition: m.partition,
          offsets: [m.offset],
        });
      },
      nack: async (delayMs = 0) => {
        need('nack()');
        await (await this.connection()).request('NACK', {
          groupId: this.opts.group,
          topic: m.topic,
          partition: m.partition,
          offsets: [m.offset],
          delayMs: checkInt('nack.delayMs', delayMs, 0, 0xffff_ffff),
        });
      },
    };
  }

  private async commitProcessed(conn: Connection, only?: Set<string>): Promise<void> {
    const offsets = [];
    for (const [k, offset] of this.processed) {
      if (only && !only.has(k)) continue;
      if (this.committed.get(k) === offset) continue;
      const [topic, p] = k.split('\0') as [string, string];
      offsets.push({ topic, partition: Number(p), offset, metadata: '' });
    }
    if (!offsets.length || this.memberId === null) return;
    await conn.request('COMMIT_OFFSETS', {
      groupId: this.opts.group,
      memberId: this.memberId,
      generation: this.generation,
      offsets,
    });
    for (const c of offsets) this.committed.set(key(c.topic, c.partition), c.offset);
  }

  /** Commits what has been processed so far (fanout mode); durable when it resolves. */
  async commit(): Promise<void> {
    this.markDone();
    if (this.mode === 'fanout') await this.commitProcessed(await this.connection());
  }

  private markDone(): void {
    const m = this.inHand;
    if (!m) return;
    this.inHand = null;
    if (this.mode === 'fanout') this.processed.set(key(m.topic, m.partition), m.offset + 1);
    else if (this.opts.autoAck) m.ack().catch(() => undefined);
  }

  /** The next message (waits for one); honours the not-before header. */
  async next(): Promise<IteratorResult<GroupMessage>> {
    this.markDone();
    for (let i = 0; ; i++) {
      if (this.closed) return { value: undefined, done: true };
      if (this.failure) throw this.failure;
      const m = this.queue.shift();
      if (m) {
        if (!this.assigned.has(key(m.topic, m.partition)) && this.mode === 'fanout') continue;
        const nb = notBefore(m);
        if (nb > Date.now()) {
          // Fanout keeps partition order, so a delayed message holds back the rest of the queue.
          this.queue.unshift(m);
          await this.sleep(Math.min(nb - Date.now(), 1000));
          continue;
        }
        this.inHand = m;
        return { value: m, done: false };
      }
      await new Promise<void>((r) => {
        this.waiter = r;
      });
      void i;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.waiter = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  /** `for await` break: closes the consumer. */
  async return(): Promise<IteratorResult<GroupMessage>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<GroupMessage> {
    return this;
  }

  /** Commits (fanout), leaves the group (its partitions move at once) and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    const conn = this.conn;
    try {
      // A dead broker must not hold up close for reconnect attempts: skip what cannot be sent.
      if (conn?.connected && this.memberId !== null) {
        if (this.mode === 'fanout') await this.commit().catch(() => undefined);
        await conn
          .request(
            'LEAVE_GROUP',
            { groupId: this.opts.group, memberId: this.memberId, generation: this.generation },
            { timeoutMs: 5000 },
          )
          .catch(() => undefined);
      }
    } finally {
      this.closed = true;
      this.wake();
      if (conn) this.cluster.release(conn);
      this.onClose(this);
      await this.loop.catch(() => undefined);
    }
  }

  /** @internal */
  assertOpen(): void {
    if (this.closed) throw new ClientClosedError('group consumer');
  }
}

function notBefore(m: Message): number {
  for (const h of m.headers) if (h.key === NOT_BEFORE_HEADER) return Number(h.value.toString('utf8')) || 0;
  return 0;
}

function toTp(keys: string[]): TopicPartitions[] {
  const by = new Map<string, number[]>();
  for (const k of keys) {
    const [t, p] = k.split('\0') as [string, string];
    by.set(t, [...(by.get(t) ?? []), Number(p)]);
  }
  return [...by].map(([topic, partitions]) => ({ topic, partitions }));
}

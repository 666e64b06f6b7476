import { codeForWire, GregorError, isGregorError } from '../errors.js';
import type { Credit, DeliveryPush, StartPosition, SubscribeResponse } from '../protocol/index.js';
import type { Cluster, TopicRoute } from './cluster.js';
import type { Connection } from './connection.js';
import { decodeRun } from './message.js';
import type { MessageBuffer } from './message-buffer.js';

/** What a consumer source needs from its consumer. */
export interface SourceContext {
  cluster: Cluster;
  topic: string;
  partitions: number[] | undefined;
  buffer: MessageBuffer;
}

/** The network side of a consumer. */
export interface ConsumerSource {
  /** Opens subscriptions or resolves start offsets; resolves once data can flow. */
  start(): Promise<void>;
  close(): void;
}

/** Most consecutive failed attempts to re-open one subscription before the consumer fails. */
const MAX_REOPEN_ATTEMPTS = 600;

interface Sub {
  /** Partitions of this subscription; null = all (ephemeral topics). */
  partitions: number[] | null;
  node: string;
  conn: Connection | null;
  /** Current subscription id; 0 while (re)opening, so stale deliveries are ignored. */
  id: number;
  /** Next offset expected (durable, one partition per Sub); -1 until SUBSCRIBE answered. */
  nextOffset: number;
  owedMessages: number;
  owedBytes: number;
  reopening: boolean;
  stopDelivery?: () => void;
}

/**
 * Server-push consumption: one SUBSCRIBE per partition (each with its own start and resume
 * offset) on a dedicated connection per node, or one per topic for ephemeral topics. Credit is
 * granted back as the application consumes, in steps of half the window, so at most one window
 * per subscription is ever buffered. After a disconnect or a retriable delivery error each
 * subscription re-opens at the offset after the last message received: nothing is skipped and
 * nothing is delivered twice.
 */
export class SubscribeSource implements ConsumerSource {
  private readonly subs: Sub[] = [];
  private readonly conns = new Map<string, Connection>();
  private readonly unlisten: (() => void)[] = [];
  private closed = false;
  private ephemeral = false;

  constructor(
    private readonly ctx: SourceContext,
    private readonly start0: StartPosition,
    private readonly window: Credit,
  ) {}

  async start(): Promise<void> {
    const route = await this.ctx.cluster.route(this.ctx.topic);
    this.ephemeral = route.kind === 'ephemeral';
    const all = Array.from({ length: route.leaders.length }, (_, i) => i);
    const wanted = this.ctx.partitions ?? all;
    for (const p of wanted)
      if (p >= route.leaders.length)
        throw new GregorError(
          'UNKNOWN_PARTITION',
          `topic "${this.ctx.topic}" has partitions 0-${route.leaders.length - 1}; consumer asked for ${p}`,
        );
    if (this.ephemeral) {
      // Publishes reach every node with subscribers, so one subscription at any node is enough.
      this.subs.push(this.newSub(this.ctx.partitions ?? null, this.leaderOf(route, wanted[0] ?? 0)));
    } else {
      for (const p of wanted) this.subs.push(this.newSub([p], this.leaderOf(route, p)));
    }
    await Promise.all(this.subs.map((s) => this.openWithRetry(s)));
  }

  close(): void {
    this.closed = true;
    for (const u of this.unlisten) u();
    for (const s of this.subs) s.stopDelivery?.();
    for (const c of this.conns.values()) this.ctx.cluster.release(c);
    this.conns.clear();
  }

  private newSub(partitions: number[] | null, node: string): Sub {
    return {
      partitions,
      node,
      conn: null,
      id: 0,
      nextOffset: -1,
      owedMessages: 0,
      owedBytes: 0,
      reopening: false,
    };
  }

  private leaderOf(route: TopicRoute, partition: number): string {
    const leader = route.leaders[partition];
    if (!leader) throw new GregorError('NOT_OWNER', `${this.ctx.topic}/${partition} has no leader right now`);
    return leader;
  }

  private connectionFor(node: string): Connection {
    let c = this.conns.get(node);
    if (!c) {
      c = this.ctx.cluster.dedicated(node);
      this.conns.set(node, c);
      const conn = c;
      this.unlisten.push(
        c.onDisconnect(() => {
          for (const s of this.subs) if (s.conn === conn) void this.reopen(s);
        }),
      );
    }
    return c;
  }

  private async open(sub: Sub, start: StartPosition): Promise<void> {
    const conn = this.connectionFor(sub.node);
    sub.stopDelivery?.();
    sub.conn = conn;
    const id = conn.allocateSubscriptionId();
    sub.id = id;
    sub.owedMessages = 0;
    sub.owedBytes = 0;
    sub.stopDelivery = conn.onDelivery(id, (d) => this.onDelivery(sub, id, d));
    let res: SubscribeResponse;
    try {
      res = await conn.request('SUBSCRIBE', {
        subscriptionId: id,
        topic: this.ctx.topic,
        partitions: sub.partitions,
        start,
        credit: this.window,
      });
    } catch (err) {
      if (sub.id === id) sub.id = 0;
      throw err;
    }
    if (this.closed || sub.id !== id) return;
    const first = res.partitions[0];
    if (!this.ephemeral && first && sub.nextOffset < first.startOffset) sub.nextOffset = first.startOffset;
  }

  private onDelivery(sub: Sub, id: number, d: DeliveryPush): void {
    if (this.closed || sub.id !== id) return;
    if (d.errorCode !== 0) {
      const code = codeForWire(d.errorCode);
      const err = new GregorError(code, `${this.ctx.topic}/${d.partition}: ${d.errorMessage ?? code}`);
      if (err.retriable) {
        this.ctx.cluster.invalidate(this.ctx.topic);
        void this.reopen(sub);
      } else this.ctx.buffer.fail(err);
      return;
    }
    let run: ReturnType<typeof decodeRun>;
    try {
      run = decodeRun(
        this.ctx.topic,
        d.partition,
        d.records,
        this.ephemeral ? Number.MIN_SAFE_INTEGER : sub.nextOffset,
      );
    } catch (err) {
      this.ctx.buffer.fail(err as Error);
      return;
    }
    if (this.ephemeral) for (const m of run.messages) m.offset = -1;
    else sub.nextOffset = run.nextOffset;
    const records = run.records;
    const bytes = d.records.length;
    this.ctx.buffer.push({
      messages: run.messages,
      onConsumed: () => this.consumed(sub, id, records, bytes),
    });
  }

  /** Returns credit for consumed deliveries, half a window at a time. */
  private consumed(sub: Sub, id: number, records: number, bytes: number): void {
    if (this.closed || sub.id !== id || !sub.conn) return;
    sub.owedMessages += records;
    sub.owedBytes += bytes;
    if (sub.owedMessages * 2 < this.window.messages && sub.owedBytes * 2 < this.window.bytes) return;
    const grant = {
      subscriptionId: id,
      messages: Math.min(sub.owedMessages, 0xffff_ffff),
      bytes: Math.min(sub.owedBytes, 0xffff_ffff),
    };
    sub.owedMessages = 0;
    sub.owedBytes = 0;
    // A lost grant goes with its connection; the re-opened subscription starts with a full window.
    sub.conn.sendOneWay('CREDIT', grant).catch(() => undefined);
  }

  /** Re-opens after a disconnect or a retriable delivery error; a final failure ends the consumer. */
  private reopen(sub: Sub): void {
    if (this.closed || sub.reopening) return;
    sub.id = 0;
    this.openWithRetry(sub).catch((err: Error) => this.ctx.buffer.fail(err));
  }

  /**
   * Opens (or re-opens at the next expected offset) with backoff while errors are retriable. A
   * disconnect during the attempt fails the SUBSCRIBE request itself, so the loop sees it.
   */
  private async openWithRetry(sub: Sub): Promise<void> {
    sub.reopening = true;
    try {
      for (let attempt = 1; !this.closed; attempt++) {
        try {
          if (!this.ephemeral && attempt > 1) {
            const route = await this.ctx.cluster.route(this.ctx.topic);
            sub.node = this.leaderOf(route, sub.partitions![0]!);
          }
          const start: StartPosition =
            this.ephemeral || sub.nextOffset < 0 ? this.start0 : { kind: 'offset', offset: sub.nextOffset };
          await this.open(sub, start);
          return;
        } catch (err) {
          if (this.closed) return;
          if (!isGregorError(err) || !err.retriable || attempt >= MAX_REOPEN_ATTEMPTS) throw err;
          if (err.code === 'NOT_OWNER') this.ctx.cluster.invalidate(this.ctx.topic);
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
        }
      }
    } finally {
      sub.reopening = false;
    }
  }
}

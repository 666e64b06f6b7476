import { codeForWire, GregorError, isGregorError } from '../errors.js';
import type { FetchPartition, FetchResponse, OffsetSpec } from '../protocol/index.js';
import type { Admin } from './admin.js';
import type { Connection } from './connection.js';
import { decodeRun } from './message.js';
import type { ConsumerSource, SourceContext } from './subscribe-source.js';

/** Options of the fetch loop. */
export interface FetchSourceOptions {
  /** Where to start: an offset spec, or an explicit offset (clamped into the log). */
  start: OffsetSpec | { kind: 'offset'; offset: number };
  /** Byte budget per partition per fetch. */
  maxBytesPerPartition: number;
  /** Long-poll wait, ms. */
  maxWaitMs: number;
  /** Stop fetching while this many messages wait in the buffer. */
  highWaterMessages: number;
  requestTimeoutMs: number;
}

/** Consecutive retriable failures of one node's fetch loop before the consumer fails. */
const MAX_FETCH_FAILURES = 600;

/**
 * Pull consumption: per leader node a loop of long-poll FETCH requests on a dedicated connection,
 * each covering that node's partitions at their next offsets. A loop only fetches while the
 * buffer is below its high-water mark, so a slow application slows the fetching, never grows
 * memory. Robust across reconnects by construction: the next fetch simply asks for the next
 * offset again.
 */
export class FetchSource implements ConsumerSource {
  private readonly next = new Map<number, number>();
  private readonly byNode = new Map<string, Set<number>>();
  private readonly conns = new Map<string, Connection>();
  private closed = false;

  constructor(
    private readonly ctx: SourceContext,
    private readonly admin: Admin,
    private readonly o: FetchSourceOptions,
  ) {}

  async start(): Promise<void> {
    const route = await this.ctx.cluster.route(this.ctx.topic);
    if (route.kind === 'ephemeral')
      throw new GregorError(
        'INVALID_ARGUMENT',
        `topic "${this.ctx.topic}" is ephemeral: consume it with mode 'subscribe'`,
      );
    const wanted = this.ctx.partitions ?? Array.from({ length: route.leaders.length }, (_, i) => i);
    await Promise.all(wanted.map(async (p) => this.next.set(p, await this.startOffset(p))));
    for (const p of wanted) this.assign(p, route.leaders[p] ?? null);
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns.values()) this.ctx.cluster.release(c);
    this.conns.clear();
  }

  private async startOffset(p: number): Promise<number> {
    const s = this.o.start;
    if (s.kind === 'offset') {
      const [lo, hi] = await Promise.all([
        this.admin.listOffsets(this.ctx.topic, p, 'earliest'),
        this.admin.listOffsets(this.ctx.topic, p, 'latest'),
      ]);
      return Math.min(Math.max(s.offset, lo), hi);
    }
    return this.admin.listOffsets(
      this.ctx.topic,
      p,
      s.kind === 'timestamp' ? { timestamp: s.timestampMs } : s.kind,
    );
  }

  /** Puts a partition into its leader's loop, starting the loop if it is new. */
  private assign(partition: number, leader: string | null): void {
    if (this.closed) return;
    if (!leader) {
      setTimeout(() => void this.rehome(partition), 200);
      return;
    }
    let set = this.byNode.get(leader);
    if (!set) {
      set = new Set();
      this.byNode.set(leader, set);
      set.add(partition);
      void this.loop(leader, set);
    } else set.add(partition);
  }

  private async rehome(partition: number): Promise<void> {
    if (this.closed) return;
    try {
      this.ctx.cluster.invalidate(this.ctx.topic);
      const route = await this.ctx.cluster.route(this.ctx.topic);
      this.assign(partition, route.leaders[partition] ?? null);
    } catch (err) {
      this.ctx.buffer.fail(err as Error);
    }
  }

  private async loop(node: string, parts: Set<number>): Promise<void> {
    let conn = this.conns.get(node);
    if (!conn) {
      conn = this.ctx.cluster.dedicated(node);
      this.conns.set(node, conn);
    }
    let failures = 0;
    while (!this.closed && parts.size > 0) {
      await this.ctx.buffer.waitForSpace(this.o.highWaterMessages);
      if (this.closed) return;
      const partitions: FetchPartition[] = [...parts].map((partition) => ({
        topic: this.ctx.topic,
        partition,
        offset: this.next.get(partition)!,
        maxBytes: this.o.maxBytesPerPartition,
      }));
      let res: FetchResponse;
      try {
        res = await conn.request(
          'FETCH',
          {
            maxWaitMs: this.o.maxWaitMs,
            minBytes: 1,
            maxBytes: Math.min(0xffff_ffff, this.o.maxBytesPerPartition * partitions.length),
            partitions,
          },
          { timeoutMs: this.o.maxWaitMs + this.o.requestTimeoutMs },
        );
        failures = 0;
      } catch (err) {
        if (this.closed) return;
        failures++;
        if (!isGregorError(err) || !err.retriable || failures >= MAX_FETCH_FAILURES) {
          this.ctx.buffer.fail(err as Error);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(failures, 5))));
        continue;
      }
      for (const r of res.partitions) {
        if (!parts.has(r.partition)) continue;
        if (r.errorCode !== 0) {
          const code = codeForWire(r.errorCode);
          const at = this.next.get(r.partition)!;
          if (code === 'OFFSET_OUT_OF_RANGE' && r.logStartOffset > at) {
            // Retention removed what we were about to read: continue at the new log start.
            this.next.set(r.partition, r.logStartOffset);
          } else if (code === 'NOT_OWNER' || code === 'UNKNOWN_PARTITION') {
            parts.delete(r.partition);
            void this.rehome(r.partition);
          } else {
            this.ctx.buffer.fail(
              new GregorError(
                code,
                `${this.ctx.topic}/${r.partition} at offset ${at}: ${r.errorMessage ?? code}`,
              ),
            );
            return;
          }
          continue;
        }
        if (r.records.length === 0) continue;
        let run: ReturnType<typeof decodeRun>;
        try {
          run = decodeRun(this.ctx.topic, r.partition, r.records, this.next.get(r.partition)!);
        } catch (err) {
          this.ctx.buffer.fail(err as Error);
          return;
        }
        this.next.set(r.partition, run.nextOffset);
        this.ctx.buffer.push({ messages: run.messages });
      }
    }
    if (this.byNode.get(node) === parts && parts.size === 0) this.byNode.delete(node);
  }
}

import { GregorError } from '../errors.js';
import type { PartitionLog, ReadResult } from '../storage/partition-log.js';
import { readBatchHeader, splitBatches } from '../storage/record-batch.js';
import { ProducerState } from './producer-state.js';

export interface PartitionAppendResult {
  baseOffset: number;
  lastOffset: number;
  /** True when the batch was a producer retry already in the log: nothing was written. */
  duplicate: boolean;
}

type Waiter = { offset: number; resolve: () => void };

/**
 * One partition of a durable topic on this node: the log plus what the broker keeps beside it —
 * idempotent-producer state, and the waiters (long-poll fetches, live subscriptions) woken when
 * data arrives. Appends are serialised so the sequence check and the append act as one step.
 */
export class Partition {
  private tail: Promise<unknown> = Promise.resolve();
  private waiters = new Set<Waiter>();
  private appendListeners = new Set<() => void>();
  /** The leader epoch stamped into appended batches (0 until replication assigns epochs). */
  leaderEpoch = 0;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
    readonly producers: ProducerState = new ProducerState(),
  ) {}

  /** Rebuilds producer state from the batches from `fromOffset` to the end of the log. */
  static async open(
    topic: string,
    index: number,
    log: PartitionLog,
    fromOffset?: number,
    state?: ProducerState,
  ) {
    const producers = state ?? new ProducerState();
    let offset = Math.max(fromOffset ?? log.startOffset, log.startOffset);
    while (offset < log.endOffset) {
      const r = await log.read(offset, 4 * 1024 * 1024);
      if (r.batchCount === 0) break;
      for (const b of splitBatches(r.bytes)) {
        const h = readBatchHeader(b);
        if (h.baseOffset >= offset) producers.record(h, h.baseOffset);
      }
      offset = r.nextOffset;
    }
    return new Partition(topic, index, log, producers);
  }

  get endOffset(): number {
    return this.log.endOffset;
  }

  get startOffset(): number {
    return this.log.startOffset;
  }

  /** Appends one batch (validated by the log), or recognises a producer retry. */
  append(batch: Buffer): Promise<PartitionAppendResult> {
    const run = async (): Promise<PartitionAppendResult> => {
      const h = readBatchHeader(batch);
      const verdict = this.producers.check(h);
      if (verdict.kind === 'duplicate') return { ...verdict, duplicate: true };
      const r = await this.log.append(batch, { leaderEpoch: this.leaderEpoch });
      this.producers.record(h, r.baseOffset);
      this.wake();
      return { baseOffset: r.baseOffset, lastOffset: r.lastOffset, duplicate: false };
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  read(offset: number, maxBytes: number): Promise<ReadResult> {
    return this.log.read(offset, maxBytes);
  }

  /**
   * Resolves once the log holds data at `offset` (endOffset > offset), after `timeoutMs`, or when
   * `signal` aborts — whichever comes first. Never rejects.
   */
  waitForData(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.log.endOffset > offset || timeoutMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { offset, resolve: () => done() };
      const timer = setTimeout(() => done(), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Calls `fn` after every append; returns the function that stops it. */
  onAppend(fn: () => void): () => void {
    this.appendListeners.add(fn);
    return () => this.appendListeners.delete(fn);
  }

  /** Wakes every waiter (used on shutdown and delete too). */
  wakeAll(): void {
    for (const w of [...this.waiters]) w.resolve();
  }

  private wake(): void {
    const end = this.log.endOffset;
    for (const w of [...this.waiters]) if (end > w.offset) w.resolve();
    for (const fn of this.appendListeners) fn();
  }

  async truncateTo(offset: number): Promise<void> {
    await this.tail;
    await this.log.truncateTo(offset);
    this.producers.truncate(offset);
  }

  async close(): Promise<void> {
    this.wakeAll();
    await this.tail;
    await this.log.close();
  }
}

/** Thrown for a partition number outside a topic's range. */
export function unknownPartition(topic: string, partition: unknown, count: number): GregorError {
  return new GregorError(
    'UNKNOWN_PARTITION',
    `topic "${topic}" has partitions 0-${count - 1}; partition ${JSON.stringify(partition)} does not exist`,
  );
}

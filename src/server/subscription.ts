import type { Logger } from 'pino';
import type { EphemeralTopic } from '../broker/ephemeral-topic.js';
import type { Partition } from '../broker/partition.js';
import {
  BATCH_LENGTH_PREFIX_BYTES,
  countRecords,
  OFF_BASE_OFFSET,
  OFF_BATCH_LENGTH,
  OFF_RECORD_COUNT,
  readInt64,
} from '../storage/record-batch.js';

/** Where a subscription pushes data: one DELIVERY frame per call. */
export interface DeliverySink {
  /** Sends `bytes` (whole batches of one partition). */
  push(partition: number, bytes: Buffer, records: number): void;
  /** True while the connection's socket buffer is full: pushing waits for `onDrain`. */
  congested(): boolean;
  onDrain(fn: () => void): void;
}

/** Credit granted by the client: deliveries stop when either runs out. */
export interface Credit {
  messages: number;
  bytes: number;
}

/** Most bytes read from the log for one push. */
const MAX_PUSH_BYTES = 1024 * 1024;

/**
 * Cuts a run of whole batches after the batch that reaches `maxRecords` (always keeping the
 * first), so message credit is honoured at batch granularity. Returns the bytes, their record
 * count and the offset after the last batch kept.
 */
function takeRecords(
  bytes: Buffer,
  maxRecords: number,
): { bytes: Buffer; records: number; nextOffset: number } {
  let n = 0;
  let off = 0;
  let nextOffset = -1;
  while (off + OFF_RECORD_COUNT + 4 <= bytes.length) {
    const count = bytes.readInt32BE(off + OFF_RECORD_COUNT);
    n += count;
    nextOffset = readInt64(bytes, off + OFF_BASE_OFFSET) + count;
    off += bytes.readInt32BE(off + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
    if (n >= maxRecords) break;
  }
  return { bytes: off === bytes.length ? bytes : bytes.subarray(0, off), records: n, nextOffset };
}

/**
 * A live subscription to partitions of a durable topic: the server pushes batches from each
 * partition's next offset as they are appended, while the client's credit lasts. Credit is the
 * flow control: a consumer that stops granting it stops the pushes, so a slow consumer costs the
 * broker nothing but this object.
 */
export class LogSubscription {
  private readonly credit: Credit = { messages: 0, bytes: 0 };
  private pumping = false;
  private again = false;
  private closed = false;
  private readonly unlisten: (() => void)[] = [];

  constructor(
    readonly id: number,
    private readonly partitions: { partition: Partition; nextOffset: number }[],
    private readonly sink: DeliverySink,
    private readonly logger?: Logger,
  ) {
    for (const p of partitions) this.unlisten.push(p.partition.onAppend(() => this.pump()));
  }

  /** Adds credit (from a CREDIT request or the SUBSCRIBE itself) and resumes pushing. */
  grant(c: Partial<Credit>): void {
    this.credit.messages += Math.max(0, c.messages ?? 0);
    this.credit.bytes += Math.max(0, c.bytes ?? 0);
    this.pump();
  }

  /** Positions each partition's next delivery, e.g. after a seek. */
  positions(): { partition: number; nextOffset: number }[] {
    return this.partitions.map((p) => ({ partition: p.partition.index, nextOffset: p.nextOffset }));
  }

  private hasCredit(): boolean {
    return this.credit.messages > 0 && this.credit.bytes > 0;
  }

  /** Pushes while there is credit, data and socket room. Re-entrant calls fold into one loop. */
  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.run().finally(() => {
      this.pumping = false;
    });
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        for (const p of this.partitions) {
          // Bounded: each pass moves at most the credit granted, and credit only shrinks here.
          while (!this.closed && this.hasCredit() && p.nextOffset < p.partition.endOffset) {
            if (this.sink.congested()) {
              this.sink.onDrain(() => this.pump());
              return;
            }
            if (p.nextOffset < p.partition.startOffset) p.nextOffset = p.partition.startOffset;
            const r = await p.partition.read(p.nextOffset, Math.min(this.credit.bytes, MAX_PUSH_BYTES));
            if (r.batchCount === 0 || this.closed) break;
            const taken = takeRecords(r.bytes, this.credit.messages);
            this.sink.push(p.partition.index, taken.bytes, taken.records);
            this.credit.messages -= taken.records;
            this.credit.bytes -= taken.bytes.length;
            p.nextOffset = taken.nextOffset;
          }
        }
      } while (this.again && !this.closed);
    } catch (err) {
      this.logger?.warn({ err, subscription: this.id }, 'subscription push failed');
    }
  }

  close(): void {
    this.closed = true;
    for (const u of this.unlisten) u();
  }
}

/**
 * A subscription to an ephemeral topic: batches are pushed as they are published while credit
 * and socket room last, and dropped otherwise (at-most-once).
 */
export class EphemeralSubscription {
  private readonly credit: Credit = { messages: 0, bytes: 0 };
  private readonly unsubscribe: () => void;

  constructor(
    readonly id: number,
    topic: EphemeralTopic,
    partitions: number[] | undefined,
    private readonly sink: DeliverySink,
  ) {
    this.unsubscribe = topic.subscribe({
      partitions: partitions ? new Set(partitions) : undefined,
      deliver: (partition, batch) => {
        if (this.credit.messages <= 0 || this.credit.bytes <= 0 || this.sink.congested()) return false;
        const records = countRecords(batch);
        this.sink.push(partition, batch, records);
        this.credit.messages -= records;
        this.credit.bytes -= batch.length;
        return true;
      },
    });
  }

  grant(c: Partial<Credit>): void {
    this.credit.messages += Math.max(0, c.messages ?? 0);
    this.credit.bytes += Math.max(0, c.bytes ?? 0);
  }

  close(): void {
    this.unsubscribe();
  }
}

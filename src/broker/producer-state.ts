import { GregorError } from '../errors.js';
import type { BatchHeader } from '../storage/record-batch.js';

/** How many recent batches per producer are remembered for duplicate detection (Kafka keeps 5). */
export const PRODUCER_DEDUP_WINDOW = 5;

interface RecentBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  recent: RecentBatch[];
}

/** What to do with an incoming batch: append it, or answer with the offsets it already has. */
export type SequenceVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number };

/** Snapshot shape stored on disk (CBOR) so restarts need not rescan the whole log. */
export interface ProducerStateSnapshot {
  /** Every batch below this offset is reflected in `producers`. */
  endOffset: number;
  producers: [number, ProducerEntry][];
}

/**
 * Idempotent-producer bookkeeping for one partition: per producer id the epoch and the last few
 * sequence ranges written, so a retried batch is recognised and answered with its original
 * offsets instead of being written twice.
 */
export class ProducerState {
  private readonly producers = new Map<number, ProducerEntry>();

  /** Decides what to do with a batch before it is appended. Non-idempotent batches always append. */
  check(h: BatchHeader): SequenceVerdict {
    if (h.producerId < 0) return { kind: 'append' };
    const entry = this.producers.get(h.producerId);
    if (!entry) return { kind: 'append' };
    if (h.producerEpoch < entry.epoch) {
      throw new GregorError(
        'FENCED',
        `producer ${h.producerId} epoch ${h.producerEpoch} is older than the current epoch ${entry.epoch}`,
      );
    }
    if (h.producerEpoch > entry.epoch) return { kind: 'append' };
    const firstSeq = h.baseSequence;
    const lastSeq = h.baseSequence + h.recordCount - 1;
    for (const r of entry.recent) {
      if (r.firstSeq === firstSeq && r.lastSeq === lastSeq) {
        return { kind: 'duplicate', baseOffset: r.baseOffset, lastOffset: r.lastOffset };
      }
    }
    const last = entry.recent[entry.recent.length - 1];
    if (last && firstSeq !== last.lastSeq + 1) {
      throw new GregorError(
        'OUT_OF_ORDER_SEQUENCE',
        `producer ${h.producerId}: expected sequence ${last.lastSeq + 1}, got ${firstSeq}`,
      );
    }
    return { kind: 'append' };
  }

  /** Records a batch that is now in the log (after append, and while rebuilding from the log). */
  record(h: BatchHeader, baseOffset: number): void {
    if (h.producerId < 0) return;
    let entry = this.producers.get(h.producerId);
    if (!entry || h.producerEpoch > entry.epoch) {
      entry = { epoch: h.producerEpoch, recent: [] };
      this.producers.set(h.producerId, entry);
    }
    entry.recent.push({
      firstSeq: h.baseSequence,
      lastSeq: h.baseSequence + h.recordCount - 1,
      baseOffset,
      lastOffset: baseOffset + h.recordCount - 1,
    });
    if (entry.recent.length > PRODUCER_DEDUP_WINDOW) entry.recent.shift();
  }

  /** Forgets batches at or after `offset` (the log was truncated there). */
  truncate(offset: number): void {
    for (const [id, entry] of this.producers) {
      entry.recent = entry.recent.filter((r) => r.lastOffset < offset);
      if (entry.recent.length === 0) this.producers.delete(id);
    }
  }

  snapshot(endOffset: number): ProducerStateSnapshot {
    return {
      endOffset,
      producers: [...this.producers].map(([id, e]) => [id, { epoch: e.epoch, recent: [...e.recent] }]),
    };
  }

  static fromSnapshot(s: ProducerStateSnapshot): ProducerState {
    const state = new ProducerState();
    for (const [id, e] of s.producers) state.producers.set(id, { epoch: e.epoch, recent: [...e.recent] });
    return state;
  }

  get size(): number {
    return this.producers.size;
  }
}

import type { GregorError } from '../errors.js';
import {
  computeBatchCrc,
  OFF_BASE_SEQUENCE,
  OFF_CRC,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  type RecordInput,
  writeInt64,
} from '../storage/record-batch.js';

/** Where a produced message ended up. `offset` is -1 with acks 0 and on ephemeral topics. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

/** Where the outcome of queued records goes: one `send()`'s promise, or a whole `sendBatch()`'s. */
export interface RecordSink {
  /** Record number `slot` of the call was acknowledged. */
  ok(slot: number, m: RecordMetadata): void;
  fail(err: Error): void;
}

/** One record waiting for its batch's answer. */
export interface PendingRecord {
  record: RecordInput;
  /** Estimated bytes, counted against the producer's buffer. */
  size: number;
  /** True once counted in the producer's buffer (placed in a partition queue). */
  placed?: boolean;
  sink: RecordSink;
  /** Position in its call (0 for send()). */
  slot: number;
}

/** A sealed, encoded batch on its way to the broker (possibly again, after a failure). */
export interface OutgoingBatch {
  records: PendingRecord[];
  bytes: Buffer;
  baseSequence: number;
  /** Times it was sent. */
  attempts: number;
  state: 'ready' | 'inflight';
  /** When it was sealed (ms epoch): a batch waits at most deliveryTimeoutMs for a leader. */
  sealedAt: number;
  /** Last retriable failure, reported if retries run out. */
  lastError?: GregorError;
}

/** Producer identity stamped into a partition's batches. */
export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

/**
 * The producer's per-partition state: the open batch being filled, the sealed batches not yet
 * acknowledged (in sequence order), and the idempotence sequence. Batches are sent strictly in
 * order and, after any failure, re-sent in order only once nothing is in flight, so the broker
 * sees sequences without gaps and recognises a retried batch as a duplicate.
 */
export class PartitionQueue {
  open: PendingRecord[] = [];
  openBytes = 0;
  lingerTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  readonly sealed: OutgoingBatch[] = [];
  inFlight = 0;
  /** Set after a failure: nothing is sent until in-flight batches settle and the backoff passes. */
  holding = false;
  /** A resume (after backoff) is already scheduled. */
  retryScheduled = false;
  /** Set while a new producer identity is being fetched for this partition. */
  resetting = false;
  identity: ProducerIdentity | null;
  nextSequence = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    identity: ProducerIdentity | null,
  ) {
    this.identity = identity;
  }

  /** Takes the open records for sealing and assigns their sequence range. */
  takeOpen(): { records: PendingRecord[]; baseSequence: number } {
    const records = this.open;
    this.open = [];
    this.openBytes = 0;
    const baseSequence = this.identity ? this.nextSequence : -1;
    if (this.identity) this.nextSequence = (this.nextSequence + records.length) % 0x8000_0000;
    return { records, baseSequence };
  }

  /** The next batch that may go out now, honouring order, the in-flight cap and a hold. */
  nextToSend(maxInFlight: number): OutgoingBatch | undefined {
    if (this.holding || this.resetting || this.inFlight >= maxInFlight) return undefined;
    for (const b of this.sealed) if (b.state === 'ready') return b;
    return undefined;
  }

  /** True when nothing is open, sealed or in flight. */
  get idle(): boolean {
    return this.open.length === 0 && this.sealed.length === 0;
  }

  /** Removes a settled batch. */
  remove(batch: OutgoingBatch): void {
    const i = this.sealed.indexOf(batch);
    if (i >= 0) this.sealed.splice(i, 1);
  }

  /**
   * Moves every unacknowledged batch to a fresh identity with sequences from 0. Used when the
   * broker lost or never saw earlier sequences (OUT_OF_ORDER_SEQUENCE at the head of the queue):
   * those batches were certainly not written, so re-stamping them cannot create duplicates.
   */
  restamp(identity: ProducerIdentity): void {
    this.identity = identity;
    let seq = 0;
    for (const b of this.sealed) {
      stampIdentity(b.bytes, identity, seq);
      b.baseSequence = seq;
      seq += b.records.length;
    }
    this.nextSequence = seq;
  }
}

/** Rewrites a batch's producer id, epoch and base sequence, then its CRC (those fields are covered). */
export function stampIdentity(batch: Buffer, id: ProducerIdentity, baseSequence: number): void {
  writeInt64(batch, id.producerId, OFF_PRODUCER_ID);
  batch.writeInt16BE(id.producerEpoch, OFF_PRODUCER_EPOCH);
  batch.writeInt32BE(baseSequence, OFF_BASE_SEQUENCE);
  batch.writeUInt32BE(computeBatchCrc(batch), OFF_CRC);
}

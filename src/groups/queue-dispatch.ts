import type { TopicManager } from '../broker/topic-manager.js';
import type { GroupFetchPartition } from '../protocol/messages-groups.js';
import type { DecodedRecord } from '../storage/record-batch.js';
import { decodeBatch, readBatchHeader, splitBatches } from '../storage/record-batch.js';
import type { LedgerState } from './group-store.js';

/** Header holding a "not before" time (ms since epoch, decimal text): delivery waits until then. */
export const NOT_BEFORE_HEADER = 'gregor-not-before';

/** Runtime (not stored) dispatch state of one partition of a queue-mode group. */
export interface QueueCursor {
  topic: string;
  partition: number;
  /** Next offset never handed out since start (or since a reset). */
  next: number;
  /** Handed out, waiting for an ack: offset -> member and deadline. */
  inflight: Map<number, { memberId: string; deadline: number }>;
  /** Offsets to hand out again (expired, nacked, delayed, or their member left), with when. */
  redeliver: Map<number, number>;
}

/** One message chosen for delivery. */
export interface Pick {
  offset: number;
  batch: Buffer;
  record: DecodedRecord;
  deliveries: number;
}

/** Parses the not-before header; NaN-safe (0 when absent or malformed). */
export function notBeforeOf(r: DecodedRecord): number {
  for (const h of r.headers) {
    if (h.key === NOT_BEFORE_HEADER) {
      const v = Number(h.value.toString('utf8'));
      return Number.isFinite(v) ? v : 0;
    }
  }
  return 0;
}

/** Reads the batch holding `offset` and the record at it (null when retention removed it). */
export async function readRecordAt(
  topics: TopicManager,
  topic: string,
  partition: number,
  offset: number,
): Promise<{ batch: Buffer; record: DecodedRecord } | null> {
  const p = topics.partition(topic, partition);
  if (offset < p.startOffset || offset >= p.endOffset) return null;
  const r = await p.read(offset, 1);
  for (const batch of splitBatches(r.bytes)) {
    const h = readBatchHeader(batch);
    if (offset < h.baseOffset || offset > h.baseOffset + h.lastOffsetDelta) continue;
    const record = decodeBatch(batch).find((x) => x.offset === offset);
    if (record) return { batch, record };
  }
  return null;
}

/**
 * Scans fresh messages from `cur.next`: skips acknowledged offsets, parks messages whose
 * not-before time lies ahead (into `redeliver`), and returns up to `max` to deliver. Advances
 * `cur.next` past everything it looked at.
 */
export async function scanFresh(
  topics: TopicManager,
  cur: QueueCursor,
  ledger: LedgerState,
  max: number,
  maxBytes: number,
  now: number,
): Promise<Pick[]> {
  const p = topics.partition(cur.topic, cur.partition);
  if (cur.next < Math.max(p.startOffset, ledger.floor)) cur.next = Math.max(p.startOffset, ledger.floor);
  const out: Pick[] = [];
  for (let round = 0; round < 64 && out.length < max && cur.next < p.endOffset; round++) {
    const r = await p.read(cur.next, maxBytes);
    if (r.batchCount === 0) break;
    let stop = false;
    for (const batch of splitBatches(r.bytes)) {
      const h = readBatchHeader(batch);
      if (h.baseOffset + h.lastOffsetDelta < cur.next) continue;
      for (const record of decodeBatch(batch)) {
        if (record.offset < cur.next) continue;
        if (out.length >= max) {
          stop = true;
          break;
        }
        cur.next = record.offset + 1;
        const o = record.offset;
        if (ledger.acked.has(o) || o < ledger.floor || cur.inflight.has(o) || cur.redeliver.has(o)) continue;
        const nb = Math.max(notBeforeOf(record), ledger.notBefore.get(o) ?? 0);
        const seen = ledger.deliveries.get(o) ?? 0;
        if (nb > now || seen > 0) {
          // Delayed, or delivered before a restart: goes through the redelivery path (which
          // counts deliveries and applies the dead-letter limit).
          cur.redeliver.set(o, nb);
          continue;
        }
        out.push({ offset: o, batch, record, deliveries: 1 });
      }
      if (stop) break;
    }
    if (stop) break;
    cur.next = Math.max(cur.next, r.nextOffset);
  }
  return out;
}

/** Offsets of `cur.redeliver` that are due now, oldest first, at most `max`. */
export function dueRedeliveries(cur: QueueCursor, now: number, max: number): number[] {
  const out: number[] = [];
  for (const [o, at] of cur.redeliver) if (at <= now) out.push(o);
  out.sort((a, b) => a - b);
  return out.slice(0, max);
}

/** Groups picks by batch into wire entries (one entry per batch, with the offsets to process). */
export function toWire(topic: string, partition: number, picks: Pick[]): GroupFetchPartition[] {
  const byBatch = new Map<Buffer, Pick[]>();
  for (const pk of picks) {
    const list = byBatch.get(pk.batch) ?? [];
    list.push(pk);
    byBatch.set(pk.batch, list);
  }
  return [...byBatch].map(([batch, list]) => ({
    topic,
    partition,
    records: batch,
    offsets: list.map((x) => x.offset),
    deliveries: list.map((x) => x.deliveries),
  }));
}

/** Earliest time something in `cur` becomes due (ack deadline or redelivery), or Infinity. */
export function nextDue(cur: QueueCursor): number {
  let t = Number.POSITIVE_INFINITY;
  for (const v of cur.inflight.values()) if (v.deadline < t) t = v.deadline;
  for (const at of cur.redeliver.values()) if (at < t) t = at;
  return t;
}

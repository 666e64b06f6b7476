import { GregorError } from '../errors.js';
import { decodeBatch, type RecordHeader, readBatchHeader, splitBatches } from '../storage/record-batch.js';

/** One consumed message. `key`, `value` and header values are views of the received bytes. */
export interface Message {
  topic: string;
  partition: number;
  offset: number;
  /** ms since epoch, as the producer stamped it. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Headers in the order they were sent (a key may repeat). */
  headers: RecordHeader[];
}

/** Messages decoded from a run of whole batches, and the offset to ask for next. */
export interface DecodedRun {
  messages: Message[];
  /** One past the last offset of the last whole batch; `fromOffset` when there was none. */
  nextOffset: number;
  /** Bytes of the whole batches consumed. */
  bytes: number;
  /** Records in those batches, including any skipped below `fromOffset` (what credit counts). */
  records: number;
}

/**
 * Decodes back-to-back batches (a fetch answer or a delivery). The broker sends whole batches
 * starting with the one that holds `fromOffset`, so records below it are skipped here; a trailing
 * partial batch (byte-limited read) is ignored and read again next time.
 */
export function decodeRun(topic: string, partition: number, bytes: Buffer, fromOffset: number): DecodedRun {
  const messages: Message[] = [];
  let nextOffset = fromOffset;
  let used = 0;
  let count = 0;
  for (const batch of splitBatches(bytes)) {
    used += batch.length;
    const h = readBatchHeader(batch);
    count += h.recordCount;
    const last = h.baseOffset + h.lastOffsetDelta;
    if (last < nextOffset) continue;
    let records: ReturnType<typeof decodeBatch>;
    try {
      records = decodeBatch(batch);
    } catch (err) {
      throw new GregorError(
        'CORRUPT_MESSAGE',
        `${topic}/${partition}: batch at offset ${h.baseOffset} is damaged: ${(err as Error).message}`,
        { cause: err },
      );
    }
    for (const r of records) {
      if (r.offset < nextOffset) continue;
      messages.push({
        topic,
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      });
    }
    nextOffset = last + 1;
  }
  return { messages, nextOffset, bytes: used, records: count };
}

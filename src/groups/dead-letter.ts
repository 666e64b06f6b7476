import type { BrokerService } from '../broker/broker-service.js';
import { isGregorError } from '../errors.js';
import { type DecodedRecord, encodeBatch, type RecordHeader } from '../storage/record-batch.js';

/** Why a message was dead-lettered. */
export type DeadLetterReason = 'ack-wait-expired' | 'nacked';

/** Headers added to a dead-lettered message (the original headers are kept before them). */
export const DLQ_HEADERS = {
  reason: 'gregor-dlq-reason',
  deliveries: 'gregor-dlq-deliveries',
  topic: 'gregor-dlq-topic',
  partition: 'gregor-dlq-partition',
  offset: 'gregor-dlq-offset',
  group: 'gregor-dlq-group',
  timestamp: 'gregor-dlq-timestamp',
} as const;

/** The dead-letter topic of `topic`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** What to dead-letter and why. */
export interface DeadLetterInput {
  group: string;
  topic: string;
  partition: number;
  record: DecodedRecord;
  deliveries: number;
  reason: DeadLetterReason;
}

/**
 * Appends the message, with headers saying why, how often and from where, to `<topic>.dlq`
 * (created with one partition when missing), durably (acks=all) before the caller acks it away.
 */
export async function deadLetter(service: BrokerService, d: DeadLetterInput): Promise<void> {
  const dlq = deadLetterTopic(d.topic);
  if (!service.topics.has(dlq)) {
    try {
      await service.createTopic({ name: dlq, partitions: 1 });
    } catch (err) {
      if (!(isGregorError(err) && err.code === 'TOPIC_EXISTS')) throw err;
    }
  }
  const text = (k: string, v: string | number): RecordHeader => ({ key: k, value: Buffer.from(String(v)) });
  const headers: RecordHeader[] = [
    ...d.record.headers,
    text(DLQ_HEADERS.reason, d.reason === 'nacked' ? 'max-deliveries-nacked' : 'max-deliveries-ack-wait'),
    text(DLQ_HEADERS.deliveries, d.deliveries),
    text(DLQ_HEADERS.topic, d.topic),
    text(DLQ_HEADERS.partition, d.partition),
    text(DLQ_HEADERS.offset, d.record.offset),
    text(DLQ_HEADERS.group, d.group),
    text(DLQ_HEADERS.timestamp, d.record.timestamp),
  ];
  const batch = encodeBatch([
    { key: d.record.key, value: d.record.value, headers, timestamp: d.record.timestamp },
  ]);
  await service.produce(dlq, 0, batch, -1);
}

import {
  type EncodedPayload,
  encodeHead,
  type PayloadCodec,
  pushRaw,
  type RawInput,
  RawReader,
  splitPayload,
} from './payload.js';
import { type Check, FieldProblem } from './schema.js';

/*
 * Codecs for payloads that carry record batches. On the wire every `records` field of the
 * TypeScript value becomes `bytes: <u32 length>` in the CBOR header (schema.ts RAW_LENGTH) and the
 * bytes themselves go, in the same order, into the payload's raw section. Decoding hands out
 * views of the frame, so a batch is never copied between the socket and the log (or the log and
 * the consumer).
 */

/** Replaces `records` by its wire stand-in, the declared byte count. */
export type WireItem<I> = Omit<I, 'records'> & { bytes: number };

/** A value whose `records` may be given as several buffers (encoder input). */
export type WithRawInput<I> = Omit<I, 'records'> & { records: RawInput };

/** Swaps the declared length the schema left in `records` for the bytes themselves. */
function attach(item: { records: unknown }, reader: RawReader): void {
  item.records = reader.take(item.records as number);
}

/**
 * Codec for `{ ...fields, partitions: [{ ...fields, records }] }`: a list of per-partition byte
 * ranges (produce requests, fetch responses). `check` validates the wire form of the header and
 * must use RAW_LENGTH for each item's `bytes`.
 */
export function partitionListCodec<T extends { partitions: I[] }, I extends { records: Buffer }>(
  check: Check<Omit<T, 'partitions'> & { partitions: WireItem<I>[] }>,
): PayloadCodec<T, Omit<T, 'partitions'> & { partitions: readonly WithRawInput<I>[] }> {
  return {
    encode(value): EncodedPayload {
      const head = encodeHead(check(value, true));
      const raw: Buffer[] = [];
      for (const p of value.partitions) pushRaw(raw, p.records);
      return { head, raw };
    },
    decode(payload): T {
      const { header, raw } = splitPayload(payload);
      const value = check(header) as unknown as T;
      const reader = new RawReader(raw);
      const parts = value.partitions;
      let i = 0;
      try {
        for (; i < parts.length; i++) attach(parts[i]!, reader);
      } catch (err) {
        if (err instanceof FieldProblem) throw err.within(`[${i}]`).within('partitions');
        throw err;
      }
      reader.finish();
      return value;
    },
  };
}

/** Codec for a payload with one `records` field at the top (deliveries, ephemeral publish). */
export function singleRawCodec<T extends { records: Buffer }>(
  check: Check<WireItem<T>>,
): PayloadCodec<T, WithRawInput<T>> {
  return {
    encode(value): EncodedPayload {
      const head = encodeHead(check(value, true));
      const raw: Buffer[] = [];
      pushRaw(raw, value.records);
      return { head, raw };
    },
    decode(payload): T {
      const { header, raw } = splitPayload(payload);
      const value = check(header) as unknown as T;
      const reader = new RawReader(raw);
      attach(value, reader);
      reader.finish();
      return value;
    },
  };
}

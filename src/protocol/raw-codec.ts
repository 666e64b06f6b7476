import {
  type EncodedPayload,
  encodeHead,
  type PayloadCodec,
  pushRaw,
  type RawInput,
  RawReader,
  rawLength,
  splitPayload,
} from './payload.js';
import type { Check } from './schema.js';

/*
 * Codecs for payloads that carry record batches. On the wire every `records` field of the
 * TypeScript value becomes `bytes: <u32 length>` in the CBOR header and the bytes themselves go,
 * in the same order, into the payload's raw section. Decoding hands out views of the frame, so a
 * batch is never copied between the socket and the log (or the log and the consumer).
 */

/** Replaces `records` by its wire stand-in, the declared byte count. */
export type WireItem<I> = Omit<I, 'records'> & { bytes: number };

/** A value whose `records` may be given as several buffers (encoder input). */
export type WithRawInput<I> = Omit<I, 'records'> & { records: RawInput };

function toWire<I extends { records: Buffer }>(item: WithRawInput<I>): WireItem<I> {
  const { records, ...rest } = item;
  return { ...rest, bytes: rawLength(records) } as WireItem<I>;
}

function fromWire<I extends { records: Buffer }>(item: WireItem<I>, reader: RawReader, path: string): I {
  const { bytes, ...rest } = item;
  return { ...rest, records: reader.take(bytes, path ? `${path}.bytes` : 'bytes') } as unknown as I;
}

/**
 * Codec for `{ ...fields, partitions: [{ ...fields, records }] }`: a list of per-partition byte
 * ranges (produce requests, fetch responses). `check` validates the wire form of the header.
 */
export function partitionListCodec<T extends { partitions: I[] }, I extends { records: Buffer }>(
  check: Check<Omit<T, 'partitions'> & { partitions: WireItem<I>[] }>,
): PayloadCodec<T, Omit<T, 'partitions'> & { partitions: readonly WithRawInput<I>[] }> {
  return {
    encode(value): EncodedPayload {
      const wire = { ...value, partitions: value.partitions.map(toWire) };
      const head = encodeHead(check(wire, '', true));
      const raw: Buffer[] = [];
      for (const p of value.partitions) pushRaw(raw, p.records);
      return { head, raw };
    },
    decode(payload): T {
      const { header, raw } = splitPayload(payload);
      const wire = check(header, '');
      const reader = new RawReader(raw);
      const partitions = wire.partitions.map((p, i) => fromWire<I>(p, reader, `partitions[${i}]`));
      reader.finish();
      return { ...wire, partitions } as unknown as T;
    },
  };
}

/** Codec for a payload with one `records` field at the top (deliveries, ephemeral publish). */
export function singleRawCodec<T extends { records: Buffer }>(
  check: Check<WireItem<T>>,
): PayloadCodec<T, WithRawInput<T>> {
  return {
    encode(value): EncodedPayload {
      const head = encodeHead(check(toWire<T>(value), '', true));
      const raw: Buffer[] = [];
      pushRaw(raw, value.records);
      return { head, raw };
    },
    decode(payload): T {
      const { header, raw } = splitPayload(payload);
      const reader = new RawReader(raw);
      const value = fromWire<T>(check(header, ''), reader, '');
      reader.finish();
      return value;
    },
  };
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GregorError } from '../../src/errors.js';
import {
  COALESCE_RAW_BYTES,
  concatFrame,
  decodePush,
  decodeRequest,
  decodeResponse,
  decodeResponseAs,
  encodeConnectionError,
  encodeErrorResponse,
  encodePush,
  encodeRequest,
  encodeResponse,
  FLAG_ERROR,
  FLAG_RESPONSE,
  type Frame,
  FrameDecoder,
  FrameError,
  negotiateVersion,
  OPS,
  Op,
  type PushOp,
  type RequestOp,
  type ResponseOp,
} from '../../src/protocol/index.js';
import { splitBatches, validateBatch } from '../../src/storage/record-batch.js';
import { pushes, requests, responses, sampleBatch } from './samples.js';

/** Decodes exactly one frame from encoder output. */
function oneFrame(parts: Buffer[]): Frame {
  const d = new FrameDecoder();
  d.push(concatFrame(parts));
  const frame = d.next();
  assert.ok(frame, 'a complete frame');
  assert.equal(d.next(), undefined);
  assert.equal(d.bufferedBytes, 0);
  return frame;
}

/** The value a decoder should return: raw inputs given as Buffer[] come back as one Buffer. */
function expected(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value))
    return value.length > 0 && value.every((v) => Buffer.isBuffer(v))
      ? Buffer.concat(value)
      : value.map(expected);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'records' && Array.isArray(v) ? Buffer.concat(v) : expected(v),
      ]),
    );
  return value;
}

describe('round trip of every op', () => {
  test('op table has unique codes and every op has a sample', () => {
    const codes: number[] = Object.values(OPS).map((s) => s.code);
    assert.equal(new Set(codes).size, codes.length);
    assert.ok(!codes.includes(0), 'op 0 is reserved for connection errors');
    for (const [name, spec] of Object.entries(OPS)) {
      if (spec.request) assert.ok(name in requests, `${name} request sample`);
      if (spec.response) assert.ok(name in responses, `${name} response sample`);
      if (spec.push) assert.ok(name in pushes, `${name} push sample`);
    }
  });

  for (const op of Object.keys(requests) as RequestOp[]) {
    test(`${op} request`, () => {
      // biome-ignore lint/suspicious/noExplicitAny: sample table pairs op and body
      const frame = oneFrame(encodeRequest(op, 77, requests[op] as any));
      assert.equal(frame.op, Op[op]);
      assert.equal(frame.flags, 0);
      const msg = decodeRequest(frame);
      assert.equal(msg.op, op);
      assert.equal(msg.correlationId, 77);
      assert.deepEqual(msg.body, expected(requests[op]));
    });
  }

  for (const op of Object.keys(responses) as ResponseOp[]) {
    test(`${op} response`, () => {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const frame = oneFrame(encodeResponse(op, 0xffff_ffff, responses[op] as any));
      assert.equal(frame.flags, FLAG_RESPONSE);
      const msg = decodeResponse(frame);
      assert.equal(msg.error, null);
      assert.equal(msg.op, op);
      assert.equal(msg.correlationId, 0xffff_ffff);
      assert.deepEqual(msg.body, expected(responses[op]));
      assert.deepEqual(decodeResponseAs(op, frame), expected(responses[op]));
    });
  }

  for (const op of Object.keys(pushes) as PushOp[]) {
    test(`${op} push`, () => {
      const msg = decodePush(oneFrame(encodePush(op, pushes[op])));
      assert.equal(msg.op, op);
      assert.deepEqual(msg.body, expected(pushes[op]));
    });
  }

  test('error response carries wire code, message and retriable', () => {
    const frame = oneFrame(
      encodeErrorResponse('PRODUCE', 9, new GregorError('NOT_OWNER', 'node-b owns orders/0')),
    );
    assert.equal(frame.flags, FLAG_RESPONSE | FLAG_ERROR);
    const msg = decodeResponse(frame);
    assert.ok(msg.error instanceof GregorError);
    assert.equal(msg.op, 'PRODUCE');
    assert.equal(msg.error.code, 'NOT_OWNER');
    assert.equal(msg.error.retriable, true);
    assert.equal(msg.error.message, 'node-b owns orders/0');
    assert.throws(() => decodeResponseAs('PRODUCE', frame), { code: 'NOT_OWNER' });
  });

  test('error response echoes an op this build does not know', () => {
    const frame = oneFrame(
      encodeErrorResponse(0x7777, 3, new GregorError('UNKNOWN_OP', 'unknown op 0x7777')),
    );
    const msg = decodeResponse(frame);
    assert.equal(msg.op, undefined);
    assert.equal(msg.error?.code, 'UNKNOWN_OP');
  });

  test('non-Gregor errors do not leak their message', () => {
    const msg = decodeResponse(oneFrame(encodeErrorResponse('FETCH', 1, new Error('EACCES /secret/path'))));
    assert.equal(msg.error?.code, 'UNKNOWN');
    assert.doesNotMatch(msg.error?.message ?? '', /secret/);
  });

  test('connection error push', () => {
    const msg = decodePush(oneFrame(encodeConnectionError(new GregorError('BROKER_SHUTTING_DOWN'))));
    assert.equal(msg.op, null);
    assert.equal(msg.error?.code, 'BROKER_SHUTTING_DOWN');
  });

  test('decodeResponseAs refuses a response for another op', () => {
    const frame = oneFrame(encodeResponse('PING', 1, { nonce: 1, serverTimeMs: 2 }));
    assert.throws(
      () => decodeResponseAs('METADATA', frame),
      (e: unknown) => e instanceof FrameError && !e.fatal,
    );
  });

  test('a request frame is not accepted as a response and vice versa', () => {
    const req = oneFrame(encodeRequest('PING', 1, { nonce: 1 }));
    assert.throws(() => decodeResponse(req), /expected a response frame/);
    const res = oneFrame(encodeResponse('PING', 1, { nonce: 1, serverTimeMs: 2 }));
    assert.throws(() => decodeRequest(res), /expected a request frame/);
  });

  test('older peers may omit optional fields: defaults are filled in (null = broker default)', () => {
    const frame = oneFrame(
      encodeRequest('CREATE_TOPIC', 1, { topic: { name: 't', partitions: 1 } } as never),
    );
    const msg = decodeRequest(frame);
    assert.equal(msg.op, 'CREATE_TOPIC');
    if (msg.op !== 'CREATE_TOPIC') return;
    assert.deepEqual(msg.body, {
      topic: {
        name: 't',
        partitions: 1,
        replicationFactor: null,
        retentionMs: null,
        retentionBytes: null,
        kind: 'durable',
      },
      ifNotExists: false,
    });
  });
});

describe('batches travel as stored bytes', () => {
  test('large batches are separate output buffers (no copy), small ones coalesce into one', () => {
    const bigBatch = sampleBatch(400);
    assert.ok(bigBatch.length > COALESCE_RAW_BYTES);
    const parts = encodeRequest('PRODUCE', 1, {
      acks: 1,
      timeoutMs: 1000,
      partitions: [{ topic: 't', partition: 0, records: bigBatch }],
    });
    assert.equal(parts.length, 2);
    assert.equal(parts[1], bigBatch, 'the very same Buffer object, not a copy');
    const small = encodeRequest('PRODUCE', 1, {
      acks: 1,
      timeoutMs: 1000,
      partitions: [{ topic: 't', partition: 0, records: sampleBatch(1) }],
    });
    assert.equal(small.length, 1);
  });

  test('decoded records are views of the received chunk, and split into valid batches', () => {
    const b = [sampleBatch(2), sampleBatch(3, 2), sampleBatch(1, 5)];
    const chunk = concatFrame(
      encodeResponse('FETCH', 5, {
        partitions: [
          {
            topic: 't',
            partition: 0,
            errorCode: 0,
            errorMessage: null,
            highWatermark: 6,
            logStartOffset: 0,
            records: b,
          },
          {
            topic: 't',
            partition: 1,
            errorCode: 0,
            errorMessage: null,
            highWatermark: 1,
            logStartOffset: 0,
            records: b[0]!,
          },
        ],
      }),
    );
    const d = new FrameDecoder();
    d.push(chunk);
    const body = decodeResponseAs('FETCH', d.next()!);
    const records = body.partitions[0]!.records;
    assert.equal(records.buffer, chunk.buffer, 'same memory as the socket chunk');
    const split = splitBatches(records);
    assert.equal(split.length, 3);
    split.forEach((s, i) => {
      assert.ok(s.equals(b[i]!));
      validateBatch(s);
    });
    assert.ok(body.partitions[1]!.records.equals(b[0]!));
  });
});

describe('encoder input validation', () => {
  test('names the bad field', () => {
    assert.throws(
      () =>
        encodeRequest('FETCH', 1, {
          maxWaitMs: 1,
          minBytes: 1,
          maxBytes: 1,
          partitions: [{ topic: 't', partition: -1, offset: 0, maxBytes: 1 }],
        }),
      (e: unknown) =>
        e instanceof GregorError &&
        e.code === 'INVALID_ARGUMENT' &&
        /FETCH request: field partitions\[0\]\.partition/.test(e.message),
    );
    assert.throws(
      () =>
        encodeRequest('CREATE_TOPIC', 1, {
          topic: { ...requests.CREATE_TOPIC.topic, name: '' },
          ifNotExists: false,
        }),
      /topic\.name/,
    );
  });
});

describe('encoder raw input validation', () => {
  test('records that are not bytes are named', () => {
    assert.throws(
      () =>
        encodeRequest('PRODUCE', 1, {
          acks: 1,
          timeoutMs: 1,
          partitions: [{ topic: 't', partition: 0, records: [sampleBatch(1), 'oops' as unknown as Buffer] }],
        }),
      /PRODUCE request: field partitions\[0\]\.records\[1\]: expected bytes, got string "oops"/,
    );
  });
});

describe('version negotiation', () => {
  test('picks the newest common version', () => {
    assert.equal(negotiateVersion({ minVersion: 1, maxVersion: 3 }), 1);
    assert.equal(negotiateVersion({ minVersion: 1, maxVersion: 3 }, { minVersion: 1, maxVersion: 2 }), 2);
  });
  test('a newer client is told to upgrade the broker', () => {
    assert.throws(
      () => negotiateVersion({ minVersion: 2, maxVersion: 3 }),
      (e: unknown) =>
        e instanceof GregorError &&
        e.code === 'UNSUPPORTED_VERSION' &&
        /client speaks protocol versions 2\.\.3, this broker speaks 1\.\.1; upgrade the broker/.test(
          e.message,
        ),
    );
  });
  test('an older client is told to upgrade itself', () => {
    assert.throws(
      () => negotiateVersion({ minVersion: 1, maxVersion: 1 }, { minVersion: 2, maxVersion: 4 }),
      /upgrade the client/,
    );
  });
  test('an inverted range is refused', () => {
    assert.throws(() => negotiateVersion({ minVersion: 3, maxVersion: 1 }), { code: 'UNSUPPORTED_VERSION' });
  });
});

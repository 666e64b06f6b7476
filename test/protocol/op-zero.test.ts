import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GregorError } from '../../src/errors.js';
import {
  concatFrame,
  decodeResponse,
  encodeConnectionError,
  encodeErrorResponse,
  FrameDecoder,
  FrameError,
} from '../../src/protocol/index.js';

test('an error response to a request that used the reserved op 0 reaches its sender', () => {
  const d = new FrameDecoder();
  d.push(concatFrame(encodeErrorResponse(0, 7, new GregorError('UNKNOWN_OP', 'op 0 is reserved'))));
  const msg = decodeResponse(d.next()!);
  assert.equal(msg.correlationId, 7);
  assert.equal(msg.error?.code, 'UNKNOWN_OP');
});

test('a pushed connection error must carry correlation 0', () => {
  const frame = concatFrame(encodeConnectionError(new GregorError('BROKER_SHUTTING_DOWN')));
  frame.writeUInt32BE(9, 10); // correlation id field
  const d = new FrameDecoder();
  d.push(frame);
  assert.throws(
    () => d.next(),
    (err: unknown) => err instanceof FrameError && !err.fatal && /correlation 0/.test(err.message),
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  concatFrame,
  decodeRequest,
  encodeFrame,
  encodeRequest,
  type Frame,
  FrameDecoder,
  FrameError,
  Op,
} from '../../src/protocol/index.js';
import { encodeHead } from '../../src/protocol/payload.js';
import { sampleBatch, sampleFrames } from './samples.js';

/** Every sample frame back to back, with the start offset of each. */
function stream(): { bytes: Buffer; starts: number[]; frames: Buffer[]; payloads: Buffer[] } {
  const frames = [...sampleFrames().values()].map(concatFrame);
  const starts: number[] = [];
  let pos = 0;
  for (const f of frames) {
    starts.push(pos);
    pos += f.length;
  }
  return { bytes: Buffer.concat(frames), starts, frames, payloads: frames.map((f) => f.subarray(14)) };
}

/** All frames currently decodable (bounded: a decoder can never yield more frames than bytes). */
function drain(d: FrameDecoder, out: Frame[] = []): Frame[] {
  for (let i = 0; i < 1_000_000; i++) {
    const f = d.next();
    if (!f) return out;
    out.push(f);
  }
  throw new Error('decoder did not stop');
}

/** The FrameError `fn` throws. */
function frameError(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FrameError, `expected a FrameError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a FrameError');
}

function assertSame(frames: Frame[], expected: ReturnType<typeof stream>): void {
  assert.equal(frames.length, expected.frames.length);
  frames.forEach((f, i) => {
    assert.equal(f.streamOffset, expected.starts[i]);
    assert.ok(f.payload.equals(expected.frames[i]!.subarray(14)), `payload of frame ${i}`);
  });
}

/** A frame with arbitrary header fields and CBOR header (bypasses the typed encoders). */
function craft(
  op: number,
  head: unknown,
  opts: { version?: number; flags?: number; raw?: Buffer[] } = {},
): Buffer {
  return concatFrame(
    encodeFrame(
      { version: opts.version ?? 1, flags: opts.flags ?? 0, op, correlationId: 42 },
      encodeHead(head),
      opts.raw,
    ),
  );
}

const ping = concatFrame(encodeRequest('PING', 5, { nonce: 1 }));

describe('FrameDecoder chunking', () => {
  test('many frames in one chunk, payloads are views of that chunk', () => {
    const s = stream();
    const d = new FrameDecoder();
    d.push(s.bytes);
    const frames = drain(d);
    assertSame(frames, s);
    for (const f of frames) assert.equal(f.payload.buffer, s.bytes.buffer);
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.streamOffset, s.bytes.length);
    d.end();
  });

  test('every split point of a multi-frame buffer', () => {
    const s = stream();
    for (let cut = 1; cut < s.bytes.length; cut++) {
      const d = new FrameDecoder();
      d.push(s.bytes.subarray(0, cut));
      const frames = drain(d);
      d.push(s.bytes.subarray(cut));
      drain(d, frames);
      if (frames.length !== s.frames.length) assert.fail(`cut at ${cut}: ${frames.length} frames`);
      for (let i = 0; i < frames.length; i++)
        if (frames[i]!.streamOffset !== s.starts[i] || !frames[i]!.payload.equals(s.payloads[i]!))
          assert.fail(`cut at ${cut}: frame ${i} differs`);
      if (d.bufferedBytes !== 0) assert.fail(`cut at ${cut}: ${d.bufferedBytes} bytes left`);
    }
  });

  test('one byte at a time', () => {
    const s = stream();
    const d = new FrameDecoder();
    const frames: Frame[] = [];
    for (let i = 0; i < s.bytes.length; i++) {
      d.push(s.bytes.subarray(i, i + 1));
      drain(d, frames);
    }
    assertSame(frames, s);
  });

  test('random multi-way splits (seeded)', () => {
    const s = stream();
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const d = new FrameDecoder();
      const frames: Frame[] = [];
      for (let pos = 0; pos < s.bytes.length; ) {
        const n = 1 + rand(round % 2 ? 40 : 2000);
        d.push(s.bytes.subarray(pos, pos + n));
        pos += n;
        drain(d, frames);
      }
      assertSame(frames, s);
    }
  });

  test('a frame split across chunks is reassembled once; big batches survive intact', () => {
    const batch = sampleBatch(2000);
    const bytes = concatFrame(
      encodeRequest('PRODUCE', 1, {
        acks: 1,
        timeoutMs: 1,
        partitions: [{ topic: 't', partition: 0, records: batch }],
      }),
    );
    const d = new FrameDecoder();
    for (let pos = 0; pos < bytes.length; pos += 16_384) {
      d.push(bytes.subarray(pos, pos + 16_384));
      if (pos + 16_384 < bytes.length) assert.equal(d.next(), undefined);
    }
    const msg = decodeRequest(d.next()!);
    assert.equal(msg.op, 'PRODUCE');
    if (msg.op === 'PRODUCE') assert.ok(msg.body.partitions[0]!.records.equals(batch));
  });
});

describe('FrameDecoder malformed input', () => {
  test('bad magic is fatal and names the stream byte', () => {
    const d = new FrameDecoder();
    const bad = Buffer.from(ping);
    bad.writeUInt16BE(0x1234, 4);
    d.push(Buffer.concat([ping, ping, bad, ping]));
    assert.ok(d.next() && d.next());
    const e = frameError(() => d.next());
    assert.equal(e.code, 'INVALID_FRAME');
    assert.equal(e.fatal, true);
    assert.equal(e.streamOffset, 2 * ping.length);
    assert.match(e.message, new RegExp(`bad magic 0x1234 at stream byte ${2 * ping.length + 4}`));
    // sticky: the stream cannot be resynced
    d.push(ping);
    assert.equal(
      frameError(() => d.next()),
      e,
    );
    assert.equal(d.error, e);
  });

  test('HTTP and TLS clients are recognised', () => {
    const http = new FrameDecoder();
    http.push(Buffer.from('GET /metrics HTTP/1.1\r\n'));
    assert.match(frameError(() => http.next()).message, /looks like HTTP/);
    const tls = new FrameDecoder();
    tls.push(Buffer.from('160301020001fc0303', 'hex'));
    assert.match(frameError(() => tls.next()).message, /looks like a TLS handshake/);
  });

  test('a length smaller than the header is fatal', () => {
    const bad = Buffer.from(ping);
    bad.writeUInt32BE(3, 0);
    const d = new FrameDecoder();
    d.push(Buffer.concat([ping, bad]));
    assert.ok(d.next());
    const e = frameError(() => d.next());
    assert.equal(e.fatal, true);
    assert.match(
      e.message,
      new RegExp(`frame at stream byte ${ping.length}: length 3 is smaller than the 10 header bytes`),
    );
  });

  test('oversize is refused after 6 bytes, before any buffering', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1024 });
    const head = Buffer.alloc(6);
    head.writeUInt32BE(2000, 0);
    head.writeUInt16BE(0x4752, 4);
    d.push(head);
    const e = frameError(() => d.next());
    assert.equal(e.code, 'FRAME_TOO_LARGE');
    assert.equal(e.fatal, true);
    assert.match(e.message, /frame at stream byte 0: length 2000 makes a 2004-byte frame, the limit is 1024/);
    assert.equal(d.bufferedBytes, 0);
  });

  test('the default limit admits a maximal 16 MiB batch and refuses 4 GiB lengths', () => {
    const d = new FrameDecoder();
    const head = Buffer.alloc(14);
    head.writeUInt32BE(16 * 1024 * 1024 + 200, 0);
    head.writeUInt16BE(0x4752, 4);
    d.push(head);
    assert.equal(d.next(), undefined);
    const huge = new FrameDecoder();
    huge.push(Buffer.from('ffffffff4752', 'hex'));
    assert.equal(frameError(() => huge.next()).code, 'FRAME_TOO_LARGE');
  });

  test('a length that promises more than the stream holds is reported at end()', () => {
    const d = new FrameDecoder();
    d.push(Buffer.concat([ping, ping.subarray(0, 10)]));
    assert.equal(drain(d).length, 1);
    const e = frameError(() => d.end());
    assert.equal(e.fatal, true);
    assert.match(
      e.message,
      new RegExp(
        `stream ended inside the frame at stream byte ${ping.length}: have 10 of ${ping.length} bytes`,
      ),
    );
  });

  test('a length that is too short truncates the CBOR, then the stream loses sync', () => {
    const short = Buffer.from(ping);
    short.writeUInt32BE(short.readUInt32BE(0) - 3, 0);
    const d = new FrameDecoder();
    d.push(Buffer.concat([short, ping]));
    const f = d.next()!;
    const e1 = frameError(() => decodeRequest(f));
    assert.equal(e1.fatal, false);
    assert.equal(e1.code, 'INVALID_FRAME');
    assert.match(
      e1.message,
      /frame at stream byte 0 \(PING request, correlation 5\): cborLength \d+ runs past/,
    );
    const e2 = frameError(() => d.next());
    assert.equal(e2.fatal, true);
    assert.equal(e2.streamOffset, ping.length - 3);
  });

  test('truncated CBOR inside a well-framed frame is answerable', () => {
    const cbor = encodeHead({ nonce: 1 }).subarray(4);
    const cut = cbor.subarray(0, cbor.length - 1);
    const payload = Buffer.concat([Buffer.from([0, 0, 0, cut.length]), cut]);
    const bad = concatFrame(encodeFrame({ version: 1, flags: 0, op: Op.PING, correlationId: 9 }, payload));
    const d = new FrameDecoder();
    d.push(Buffer.concat([ping, bad, ping]));
    const [a, b, c] = drain(d);
    assert.ok(a && b && c);
    const e = frameError(() => decodeRequest(b));
    assert.equal(e.fatal, false);
    assert.equal(e.header?.correlationId, 9);
    assert.equal(e.streamOffset, ping.length);
    assert.match(
      e.message,
      /frame at stream byte \d+ \(PING request, correlation 9\): CBOR header .* is truncated/,
    );
    assert.equal(decodeRequest(c).op, 'PING');
  });

  test('unknown op is non-fatal and carries the header', () => {
    const d = new FrameDecoder();
    d.push(Buffer.concat([craft(0x7777, {}), ping]));
    const e = frameError(() => d.next());
    assert.equal(e.code, 'UNKNOWN_OP');
    assert.equal(e.fatal, false);
    assert.equal(e.header?.op, 0x7777);
    assert.equal(e.header?.correlationId, 42);
    assert.match(e.message, /frame at stream byte 0 \(op 0x7777, correlation 42, \d+ bytes\): unknown op/);
    assert.equal(d.next()?.op, Op.PING);
  });

  test('unsupported version is non-fatal', () => {
    const d = new FrameDecoder();
    d.push(Buffer.concat([ping, craft(Op.PING, { nonce: 1 }, { version: 9 }), ping]));
    assert.ok(d.next());
    const e = frameError(() => d.next());
    assert.equal(e.code, 'UNSUPPORTED_VERSION');
    assert.equal(e.fatal, false);
    assert.equal(e.streamOffset, ping.length);
    assert.match(e.message, /protocol version 9, this side reads 1\.\.1/);
    assert.ok(d.next());
  });

  test('reserved flag bits are refused', () => {
    const d = new FrameDecoder();
    d.push(craft(Op.PING, { nonce: 1 }, { flags: 0x80 }));
    const e = frameError(() => d.next());
    assert.equal(e.fatal, false);
    assert.match(e.message, /reserved flag bits 0x80/);
  });

  test('payload field errors name the field path', () => {
    const d = new FrameDecoder();
    d.push(
      Buffer.concat([
        craft(Op.FETCH, {
          maxWaitMs: 1,
          minBytes: 0,
          maxBytes: 1,
          partitions: [{ topic: 't', partition: 'x', offset: 0, maxBytes: 1 }],
        }),
        craft(Op.CREATE_TOPIC, { topic: { name: 't', partitions: 0 } }),
        craft(Op.LIST_OFFSETS, { partitions: [{ topic: 't', partition: 0, spec: { kind: 'yesterday' } }] }),
        craft(Op.PING, [1, 2]),
        craft(Op.FETCH, {
          maxWaitMs: 1,
          minBytes: 0,
          maxBytes: 1,
          partitions: [{ topic: 't', partition: 0, offset: 2 ** 60, maxBytes: 1 }],
        }),
      ]),
    );
    const [fetch, create, offsets, pingArray, bigOffset] = drain(d);
    assert.match(
      frameError(() => decodeRequest(fetch!)).message,
      /field partitions\[0\]\.partition: expected an integer, got string "x"/,
    );
    assert.match(
      frameError(() => decodeRequest(create!)).message,
      /field topic\.partitions: 0 is outside 1\.\./,
    );
    assert.match(
      frameError(() => decodeRequest(offsets!)).message,
      /field partitions\[0\]\.spec\.kind: expected one of earliest \| latest \| timestamp/,
    );
    assert.match(frameError(() => decodeRequest(pingArray!)).message, /expected a map, got an array/);
    assert.match(
      frameError(() => decodeRequest(bigOffset!)).message,
      /partitions\[0\]\.offset: expected an integer/,
    );
  });

  test('raw sections must match the declared byte counts', () => {
    const batch = sampleBatch(1);
    const head = { acks: 1, timeoutMs: 1, partitions: [{ topic: 't', partition: 0, bytes: batch.length }] };
    const d = new FrameDecoder();
    d.push(
      Buffer.concat([
        craft(Op.PRODUCE, head, { raw: [batch.subarray(1)] }),
        craft(Op.PRODUCE, head, { raw: [batch, Buffer.from([1])] }),
        craft(Op.PING, { nonce: 1 }, { raw: [Buffer.from([1, 2])] }),
      ]),
    );
    const [under, over, extra] = drain(d);
    assert.match(
      frameError(() => decodeRequest(under!)).message,
      /field partitions\[0\]\.bytes: declares \d+ raw bytes but only \d+ remain/,
    );
    assert.match(
      frameError(() => decodeRequest(over!)).message,
      /1 raw bytes after the last declared batch bytes/,
    );
    assert.match(
      frameError(() => decodeRequest(extra!)).message,
      /2 unexpected raw bytes after the CBOR header/,
    );
  });

  test('a push-only op sent as a request is refused', () => {
    const d = new FrameDecoder();
    d.push(craft(Op.DELIVERY, {}));
    assert.match(frameError(() => decodeRequest(d.next()!)).message, /DELIVERY is sent by the server only/);
  });
});

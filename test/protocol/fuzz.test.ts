import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GregorError } from '../../src/errors.js';
import {
  concatFrame,
  decodePush,
  decodeRequest,
  decodeResponse,
  type Frame,
  FrameDecoder,
  FrameError,
  frameKind,
} from '../../src/protocol/index.js';
import { sampleFrames } from './samples.js';

/**
 * Mutation fuzzing of the decoder and every payload decoder: mutated frames must only ever
 * produce a Frame/typed message or a GregorError, and decoding must always finish. Bounded by
 * default (20k frames, a few seconds); GREGOR_FUZZ_FRAMES raises it for a soak.
 */

const FRAMES = Number(process.env.GREGOR_FUZZ_FRAMES ?? 20_000);

/** xorshift32: deterministic, so a failure is reproducible from the printed seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { int: (n: number) => next() % n, chance: (p: number) => next() / 0x1_0000_0000 < p };
}
type Rng = ReturnType<typeof rng>;

const SPECIAL = [
  0x00, 0xff, 0x7f, 0x80, 0x1b, 0x3b, 0x5a, 0x7a, 0x9a, 0xba, 0xbf, 0x9f, 0xf6, 0xf7, 0xc1, 0xd8,
];

function mutate(base: Buffer, r: Rng): Buffer {
  let b = Buffer.from(base);
  const count = 1 + r.int(4);
  for (let m = 0; m < count; m++) {
    // Most mutations hit the payload, so CBOR and field validation get exercised, not just framing.
    const inPayload = b.length > 14 && r.chance(0.75);
    const pos = inPayload ? 14 + r.int(b.length - 14) : r.int(Math.max(1, b.length));
    switch (r.int(7)) {
      case 0:
        b[pos] = (b[pos] ?? 0) ^ (1 << r.int(8));
        break;
      case 1:
        b[pos] = r.int(256);
        break;
      case 2:
        b[pos] = SPECIAL[r.int(SPECIAL.length)]!;
        break;
      case 3:
        b = b.subarray(0, pos);
        break;
      case 4: {
        const extra = Buffer.alloc(1 + r.int(16));
        for (let i = 0; i < extra.length; i++) extra[i] = r.int(256);
        b = Buffer.concat([b.subarray(0, pos), extra, b.subarray(pos)]);
        break;
      }
      case 5: {
        const len = 1 + r.int(32);
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos, pos + len), b.subarray(pos)]);
        break;
      }
      default:
        if (b.length >= 4)
          b.writeUInt32BE(r.chance(0.5) ? r.int(0x1_0000_0000) : Math.max(0, b.length - 4 + r.int(9) - 4), 0);
    }
  }
  // Half the time repair the length so the frame stays well-framed and reaches the payload decoders.
  if (b.length >= 14 && r.chance(0.5)) b.writeUInt32BE(b.length - 4, 0);
  return b;
}

type Outcome = 'ok' | 'fatal' | 'answerable' | 'incomplete';

function decodeAny(frame: Frame): void {
  const kind = frameKind(frame.flags);
  if (kind === 'request') decodeRequest(frame);
  else if (kind === 'response') decodeResponse(frame);
  else decodePush(frame);
}

/** Runs one mutated frame through a fresh decoder in random chunks; returns what happened. */
function runOne(bytes: Buffer, r: Rng, codes: Map<string, number>): Outcome {
  const d = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  let outcome: Outcome = 'incomplete';
  const note = (err: unknown) => {
    if (!(err instanceof GregorError))
      throw new Error(`non-GregorError escaped: ${String(err)}`, { cause: err });
    codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
  };
  let pos = 0;
  for (let step = 0; step < 8 && pos < bytes.length; step++) {
    const n = step === 7 ? bytes.length - pos : 1 + r.int(bytes.length);
    d.push(bytes.subarray(pos, pos + n));
    pos += n;
    for (let i = 0; i <= bytes.length; i++) {
      const before = d.streamOffset;
      let frame: Frame | undefined;
      try {
        frame = d.next();
      } catch (err) {
        note(err);
        if (err instanceof FrameError && err.fatal) return 'fatal';
        assert.ok(d.streamOffset > before, 'a non-fatal error consumes its frame');
        outcome = 'answerable';
        continue;
      }
      if (!frame) break;
      try {
        decodeAny(frame);
        if (outcome === 'incomplete') outcome = 'ok';
      } catch (err) {
        note(err);
        assert.ok(err instanceof FrameError && !err.fatal, 'payload errors are answerable');
        outcome = 'answerable';
      }
    }
  }
  try {
    d.end();
  } catch (err) {
    note(err);
  }
  return outcome;
}

test(`decoder survives ${FRAMES} mutated frames with nothing but GregorErrors`, () => {
  const seed = Number(process.env.GREGOR_FUZZ_SEED ?? 0x5eed);
  const r = rng(seed);
  const bases = [...sampleFrames().values()].map(concatFrame);
  const outcomes = new Map<Outcome, number>();
  const codes = new Map<string, number>();
  for (let i = 0; i < FRAMES; i++) {
    const base = bases[r.int(bases.length)]!;
    const mutated = mutate(base, r);
    let outcome: Outcome;
    try {
      outcome = runOne(mutated, r, codes);
    } catch (err) {
      assert.fail(`seed ${seed}, frame ${i} (${mutated.toString('hex')}): ${(err as Error).stack}`);
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // The run must really have reached every layer: framing, version/op checks, CBOR, fields.
  for (const o of ['ok', 'fatal', 'answerable'] as const)
    assert.ok((outcomes.get(o) ?? 0) > 0, `some ${o} outcomes`);
  for (const c of ['INVALID_FRAME', 'FRAME_TOO_LARGE', 'UNKNOWN_OP', 'UNSUPPORTED_VERSION'])
    assert.ok((codes.get(c) ?? 0) > 0, `some ${c} errors (${JSON.stringify([...codes])})`);
});

test('one long stream of well-framed mutated frames: the decoder keeps going after every answerable error', () => {
  const r = rng(0xbeef);
  const bases = [...sampleFrames().values()].map(concatFrame);
  const parts: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(bases[r.int(bases.length)]!);
    // payload-only mutations keep magic and length intact
    for (let m = 0; m < 3; m++) if (b.length > 18) b[18 + r.int(b.length - 18)] = r.int(256);
    if (r.chance(0.1)) b[6] = r.int(4); // version
    if (r.chance(0.1)) b.writeUInt16BE(r.int(0x500), 8); // op
    parts.push(b);
  }
  const stream = Buffer.concat(parts);
  const d = new FrameDecoder();
  let seen = 0;
  for (let pos = 0; pos < stream.length; pos += 1500) {
    d.push(stream.subarray(pos, pos + 1500));
    for (let i = 0; i < 10_000; i++) {
      let frame: Frame | undefined;
      try {
        frame = d.next();
      } catch (err) {
        assert.ok(err instanceof FrameError && !err.fatal, String(err));
        seen++;
        continue;
      }
      if (!frame) break;
      seen++;
      try {
        decodeAny(frame);
      } catch (err) {
        assert.ok(err instanceof FrameError && !err.fatal, String(err));
      }
    }
  }
  d.end();
  assert.equal(seen, parts.length);
  assert.equal(d.streamOffset, stream.length);
});

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  concatFrame,
  decodePush,
  decodeRequest,
  decodeResponse,
  FrameDecoder,
  frameKind,
} from '../../src/protocol/index.js';
import { repoRoot, sampleFrames } from './samples.js';

/**
 * Golden fixtures: every frame type pinned as bytes in test/fixtures/protocol/<name>.bin. A wire
 * change shows up as a failing test and, after `GREGOR_UPDATE_FIXTURES=1 node --test ...`, as a
 * binary diff in review. Never update them to make a test pass without meaning to change the wire.
 */

const dir = path.join(repoRoot(), 'test', 'fixtures', 'protocol');
const update = process.env.GREGOR_UPDATE_FIXTURES === '1';

test('golden fixtures pin every frame type byte for byte', () => {
  const frames = sampleFrames();
  if (update) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir))
      if (f.endsWith('.bin') && !frames.has(f.slice(0, -4)))
        assert.fail(`stale fixture ${f}: delete it by hand`);
    for (const [name, parts] of frames) writeFileSync(path.join(dir, `${name}.bin`), concatFrame(parts));
  }
  const onDisk = readdirSync(dir).filter((f) => f.endsWith('.bin'));
  assert.deepEqual(
    onDisk.sort(),
    [...frames.keys()].map((n) => `${n}.bin`).sort(),
    'one fixture per frame type',
  );
  for (const [name, parts] of frames) {
    const golden = readFileSync(path.join(dir, `${name}.bin`));
    const actual = concatFrame(parts);
    if (!actual.equals(golden)) {
      let i = 0;
      while (i < actual.length && actual[i] === golden[i]) i++;
      assert.fail(
        `${name}.bin differs from the encoder output at byte ${i} (fixture ${golden.length} bytes, now ${actual.length}); ` +
          'if the wire change is intended, rerun with GREGOR_UPDATE_FIXTURES=1 and commit the fixtures',
      );
    }
  }
});

test('every fixture decodes with the current decoder', () => {
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.bin'))) {
    const d = new FrameDecoder();
    d.push(readFileSync(path.join(dir, f)));
    const frame = d.next();
    assert.ok(frame, f);
    assert.equal(d.bufferedBytes, 0, `${f} holds exactly one frame`);
    const kind = frameKind(frame.flags);
    const msg =
      kind === 'request'
        ? decodeRequest(frame)
        : kind === 'response'
          ? decodeResponse(frame)
          : decodePush(frame);
    assert.ok(msg, f);
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../../src/cluster/clock.js';
import { FileGenerationStore, MemoryGenerationStore } from '../../src/cluster/generation-store.js';
import { NodeState } from '../../src/cluster/node-state.js';
import {
  buildDelta,
  buildDigest,
  decodeMessage,
  encodeMessage,
  MSG_SYNACK,
  type NodeDelta,
} from '../../src/cluster/scuttlebutt.js';

function stateWith(id: string, gen: number, n: number, valueBytes = 10): NodeState {
  const s = new NodeState(id, gen);
  for (let i = 0; i < n; i++) s.set(`k${i}`, 'x'.repeat(valueBytes));
  return s;
}

function applyAll(target: NodeState, delta: NodeDelta[]): void {
  for (const [id, , , , entries] of delta) {
    if (id !== target.id) continue;
    for (const [k, v, val, del] of entries) target.apply(k, v, val, del);
  }
}

test('delta carries only entries above the peer version, in ascending version order', () => {
  const s = stateWith('a', 1, 5);
  s.set('k1', 'updated'); // version 6, k1 moves to the end
  const states = new Map([['a', s]]);
  const { delta, truncated } = buildDelta(states, [['a', 1, 0, 3]], false, 65536, seededRandom(1));
  assert.equal(truncated, false);
  assert.equal(delta.length, 1);
  const versions = delta[0]![4].map((e) => e[1]);
  assert.deepEqual(versions, [4, 5, 6]);
  assert.deepEqual(
    delta[0]![4].map((e) => e[0]),
    ['k3', 'k4', 'k1'],
  );
});

test('a truncated delta is a valid prefix and repeated exchanges converge', () => {
  const src = stateWith('a', 1, 200, 200); // ~40 KB of state
  const states = new Map([['a', src]]);
  const replica = new NodeState('a', 1);
  let rounds = 0;
  while (replica.maxVersion < src.maxVersion && rounds < 50) {
    const { delta, truncated } = buildDelta(
      states,
      [['a', 1, 0, replica.maxVersion]],
      false,
      4096,
      seededRandom(rounds),
    );
    const bytes = encodeMessage({ kind: MSG_SYNACK, cluster: 'c', partial: false, digest: [], delta }, 4096);
    assert.ok(bytes.byteLength <= 4096);
    const decoded = decodeMessage(bytes, 4096);
    const before = replica.maxVersion;
    applyAll(replica, decoded.delta);
    assert.ok(replica.maxVersion > before, 'every bounded delta makes progress');
    // Prefix property: every key at or below maxVersion holds the source's value.
    for (const [k, v] of src.entries)
      if (v.version <= replica.maxVersion) assert.equal(replica.get(k), v.value);
    if (replica.maxVersion < src.maxVersion) assert.equal(truncated, true);
    rounds++;
  }
  assert.equal(replica.maxVersion, src.maxVersion);
  assert.ok(rounds > 5, `expected several bounded rounds, got ${rounds}`);
});

test('a higher generation is sent in full; a peer that lacks a node gets it in full', () => {
  const s = stateWith('a', 2, 3);
  const states = new Map([['a', s]]);
  const older = buildDelta(states, [['a', 1, 50, 40]], false, 65536, seededRandom(1)).delta;
  assert.equal(older[0]![3], 0);
  assert.equal(older[0]![4].length, 3);
  const missing = buildDelta(states, [], false, 65536, seededRandom(1)).delta;
  assert.equal(missing[0]![4].length, 3);
  const newer = buildDelta(states, [['a', 3, 1, 1]], false, 65536, seededRandom(1)).delta;
  assert.equal(newer.length, 0);
  // With a partial digest, absence means "not listed", not "unknown".
  assert.equal(buildDelta(states, [], true, 65536, seededRandom(1)).delta.length, 0);
});

test('digest lists self first and goes partial when over budget', () => {
  const states: NodeState[] = [];
  for (let i = 0; i < 100; i++) states.push(stateWith(`node-${i}`, 1, 1));
  const full = buildDigest(states, 'node-50', 65536, seededRandom(1));
  assert.equal(full.partial, false);
  assert.equal(full.digest.length, 100);
  assert.equal(full.digest[0]![0], 'node-50');
  const part = buildDigest(states, 'node-50', 500, seededRandom(1));
  assert.equal(part.partial, true);
  assert.ok(part.digest.length < 100 && part.digest.length > 1);
  assert.equal(part.digest[0]![0], 'node-50');
});

test('decodeMessage names the malformed field and enforces the size bound', () => {
  const ok = encodeMessage(
    { kind: 1, cluster: 'c', partial: false, digest: [['a', 1, 2, 3]], delta: [] },
    1024,
  );
  assert.equal(decodeMessage(ok, 1024).digest[0]![0], 'a');
  assert.throws(() => decodeMessage(ok, 4), /FRAME_TOO_LARGE|> 4/);
  assert.throws(() => decodeMessage(new Uint8Array([0xff, 0x00]), 1024), /CBOR|gossip/);
  const bad = encodeMessage(
    { kind: 1, cluster: 'c', partial: false, digest: [['a', -1, 2, 3]], delta: [] } as never,
    1024,
  );
  assert.throws(() => decodeMessage(bad, 1024), /digest\[0\]/);
  assert.throws(
    () =>
      encodeMessage(
        { kind: 1, cluster: 'c', partial: false, digest: [['a'.repeat(2000), 1, 1, 1]], delta: [] },
        1024,
      ),
    /maxMessageBytes/,
  );
});

test('replica apply ignores versions it already holds', () => {
  const r = new NodeState('a', 1);
  assert.equal(r.apply('k', 3, 'v3', false), true);
  assert.equal(r.apply('k', 2, 'old', false), false);
  assert.equal(r.get('k'), 'v3');
  assert.equal(r.apply('k', 4, undefined, true), true);
  assert.equal(r.get('k'), undefined);
});

test('generation stores count up; the file store persists across instances', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-gen-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f1 = new FileGenerationStore(join(dir, 'cluster'));
  assert.equal(await f1.next(), 1);
  assert.equal(await f1.next(), 2);
  const f2 = new FileGenerationStore(join(dir, 'cluster'));
  assert.equal(await f2.next(), 3);
  assert.equal((await readFile(join(dir, 'cluster', 'generation'), 'utf8')).trim(), '3');
  const m = new MemoryGenerationStore();
  assert.equal(await m.next(), 1);
  assert.equal(m.nextSync(), 2);
});

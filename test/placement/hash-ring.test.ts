import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGregorError } from '../../src/errors.js';
import { createRing, lookup, ownerOfKey, RING_SPACE, ringPosition } from '../../src/placement/index.js';

const ids = (n: number, prefix = 'node') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test('ring has N x vnodes sorted points and ignores input order', () => {
  const a = createRing(ids(7), 32);
  const b = createRing(ids(7).reverse(), 32);
  assert.equal(a.positions.length, 7 * 32);
  for (let i = 1; i < a.positions.length; i++) assert.ok(a.positions[i - 1]! <= a.positions[i]!);
  assert.deepEqual([...a.positions], [...b.positions]);
  assert.deepEqual([...a.owners], [...b.owners]);
  assert.deepEqual(a.nodes, [...ids(7)].sort());
  for (const p of a.positions) assert.ok(Number.isInteger(p) && p >= 0 && p < RING_SPACE);
});

test('ringPosition is a stable 53-bit hash', () => {
  assert.equal(ringPosition('orders/0'), ringPosition('orders/0'));
  assert.notEqual(ringPosition('orders/0'), ringPosition('orders/1'));
  assert.ok(ringPosition('x') < RING_SPACE);
});

test('a joining node takes keys only for itself, about 1/(N+1) of them', () => {
  const before = createRing(ids(10));
  const after = createRing([...ids(10), 'newcomer']);
  let moved = 0;
  const keys = 5000;
  for (let i = 0; i < keys; i++) {
    const k = `group-${i}`;
    const a = lookup(before, k);
    const b = lookup(after, k);
    if (a !== b) {
      assert.equal(b, 'newcomer', `key ${k} moved from ${a} to ${b}, not to the newcomer`);
      moved++;
    }
  }
  // Ideal is keys/11 = 455; 256 vnodes keep the newcomer's arc share within a few percent.
  assert.ok(moved > keys / 11 / 1.5 && moved < (keys / 11) * 1.5, `moved ${moved}`);
});

test('duplicate or empty ids are refused with the culprit named', () => {
  assert.throws(
    () => createRing(['a', 'b', 'a']),
    (e: unknown) => isGregorError(e) && e.code === 'INVALID_ARGUMENT' && /'a'/.test(e.message),
  );
  assert.throws(
    () => createRing(['a', '']),
    (e: unknown) => isGregorError(e) && e.code === 'INVALID_ARGUMENT',
  );
  assert.throws(() => createRing(['a'], 0), /vnodesPerNode/);
});

test('ownerOfKey maps a key to one member, the same for any member order', () => {
  const members = ids(5).map((id) => ({ id }));
  assert.equal(ownerOfKey([], 'g'), undefined);
  for (let i = 0; i < 50; i++) {
    const owner = ownerOfKey(members, `group-${i}`);
    assert.ok(owner && ids(5).includes(owner));
    assert.equal(ownerOfKey([...members].reverse(), `group-${i}`), owner);
    assert.equal(ownerOfKey(ids(5), `group-${i}`), owner);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { x } from '../src/index.js';

test('smoke', () => {
  assert.equal(x, 1);
});

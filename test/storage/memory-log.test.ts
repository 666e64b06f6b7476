import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryLog } from '../../src/storage/memory-log.js';
import { makeBatch } from './log-helpers.js';
import { runLogSuite } from './log-suite.js';

runLogSuite('MemoryLog', async (t, opts) => {
  const log = createMemoryLog(opts);
  t.after(() => log.close());
  return log;
});

test('MemoryLog keeps its own copy of appended bytes', async () => {
  const log = createMemoryLog();
  const batch = makeBatch('copy', 1);
  await log.append(batch);
  batch.fill(0);
  const r = await log.read(0, 1000);
  assert.notDeepEqual(r.bytes, batch);
  assert.equal(r.batchCount, 1);
});

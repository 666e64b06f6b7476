import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GroupMessage } from '../../src/client/group-consumer.js';
import { startTestBroker } from '../helpers/broker.js';
import { client, drain, FAST_GROUPS, produce, waitFor } from './helpers.js';

test('two groups each receive every message of a topic (fan-out)', async (t) => {
  const broker = await startTestBroker(t, { groups: FAST_GROUPS });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'orders', partitions: 3 });
  const sent = await produce(c, 'orders', 60);
  const got: Record<string, GroupMessage[]> = { a: [], b: [] };
  for (const g of ['a', 'b']) {
    const gc = c.groupConsumer({ group: g, topics: ['orders'], heartbeatIntervalMs: 200 });
    t.after(() => gc.close());
    void drain(gc, got[g]!);
  }
  await waitFor('both groups to read 60', () => got.a!.length >= 60 && got.b!.length >= 60);
  for (const g of ['a', 'b']) {
    assert.deepEqual(got[g]!.map((m) => m.value!.toString()).sort(), [...sent].sort(), `group ${g}`);
  }
});

test('three members of one group split a topic; no message is processed twice', async (t) => {
  const broker = await startTestBroker(t, { groups: FAST_GROUPS });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'work', partitions: 6 });
  const got: GroupMessage[][] = [[], [], []];
  const members = got.map((into) => {
    const gc = c.groupConsumer({ group: 'workers', topics: ['work'], heartbeatIntervalMs: 200 });
    t.after(() => gc.close());
    void drain(gc, into);
    return gc;
  });
  await waitFor('three members with two partitions each', () => {
    const g = broker.groups.peek('workers');
    return (
      !!g &&
      g.settled &&
      g.members.size === 3 &&
      members.every((m) => m.assignment()[0]?.partitions.length === 2)
    );
  });
  const sent = await produce(c, 'work', 300);
  await waitFor('all 300 read', () => got.flat().length >= 300);
  const all = got.flat().map((m) => m.value!.toString());
  assert.equal(all.length, 300, 'no duplicates');
  assert.deepEqual(all.sort(), [...sent].sort());
  for (const [i, list] of got.entries()) assert.ok(list.length > 0, `member ${i} got work`);
  // Each partition was read by exactly one member.
  const owners = new Map<number, number>();
  for (const [i, list] of got.entries()) {
    for (const m of list) {
      assert.equal(owners.get(m.partition) ?? i, i, `partition ${m.partition} read by one member`);
      owners.set(m.partition, i);
    }
  }
});

test('a member resumes from the committed offset; lag is reported', async (t) => {
  const broker = await startTestBroker(t, { groups: FAST_GROUPS });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'resume', partitions: 2 });
  await produce(c, 'resume', 20, 'first');
  const first = c.groupConsumer({ group: 'r', topics: ['resume'], heartbeatIntervalMs: 200 });
  const seen: string[] = [];
  for await (const m of first) {
    seen.push(m.value!.toString());
    if (seen.length === 20) break;
  }
  const lag = await c.groups.lag('r');
  assert.deepEqual(
    lag.map((l) => [l.partition, l.lag]),
    [
      [0, 0],
      [1, 0],
    ],
  );
  await produce(c, 'resume', 10, 'second');
  assert.equal(
    (await c.groups.lag('r')).reduce((n, l) => n + l.lag, 0),
    10,
  );
  const again = c.groupConsumer({ group: 'r', topics: ['resume'], heartbeatIntervalMs: 200 });
  t.after(() => again.close());
  const next: string[] = [];
  for await (const m of again) {
    next.push(m.value!.toString());
    if (next.length === 10) break;
  }
  assert.ok(
    next.every((v) => v.startsWith('second-')),
    `resumed after the commit: ${next.join(',')}`,
  );
  const d = await c.groups.describe('r');
  assert.equal(d.members, 0);
  await assert.rejects(c.groups.describe('nope'), /does not exist/);
});

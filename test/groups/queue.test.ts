import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { GroupMessage } from '../../src/client/group-consumer.js';
import { DLQ_HEADERS } from '../../src/groups/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { client, FAST_GROUPS, produce, waitFor } from './helpers.js';

test('a member killed mid-batch: its unacked messages go to the others, none is lost or acked twice', async (t) => {
  const broker = await startTestBroker(t, { groups: FAST_GROUPS });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'jobs', partitions: 2 });
  const sent = await produce(c, 'jobs', 40);
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./queue-member.js', import.meta.url)), String(broker.port), 'q', 'jobs', '60000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const held: { value: string }[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l) held.push(JSON.parse(l));
  });
  // The child takes a batch (its maxMessages, 10) and sits on it without acking.
  await waitFor('the child to hold messages', () => held.length >= 10);
  const acked: GroupMessage[] = [];
  const worker = c.groupConsumer({ group: 'q', topics: ['jobs'], mode: 'queue', heartbeatIntervalMs: 200 });
  t.after(() => worker.close());
  void (async () => {
    for await (const m of worker) {
      acked.push(m);
      await m.ack();
    }
  })().catch(() => undefined);
  await waitFor(
    'the worker to join',
    () => broker.groups.peek('q')?.members.size === 2 && broker.groups.peek('q')!.settled,
  );
  child.kill('SIGKILL');
  // The child's ack wait is a minute: redelivery comes from its connection closing, long before.
  await waitFor(
    'every message acked',
    () => new Set(acked.map((m) => m.value!.toString())).size >= 40,
    20_000,
  );
  const values = acked.map((m) => m.value!.toString());
  assert.deepEqual([...new Set(values)].sort(), [...sent].sort(), 'nothing lost');
  assert.equal(values.length, 40, 'nothing delivered to the worker twice');
  const heldValues = new Set(held.map((h) => h.value));
  const redelivered = acked.filter((m) => heldValues.has(m.value!.toString()));
  assert.ok(redelivered.length >= 10);
  assert.ok(
    redelivered.every((m) => m.deliveryCount === 2),
    'held messages come back as second deliveries',
  );
  const lag = await c.groups.lag('q');
  assert.equal(
    lag.reduce((n, l) => n + l.lag, 0),
    0,
  );
});

test('ack wait expiry redelivers; a poison message is dead-lettered after max deliveries with headers', async (t) => {
  const broker = await startTestBroker(t, { groups: { ...FAST_GROUPS, ackWaitMs: 300 } });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'pay', partitions: 1 });
  await produce(c, 'pay', 3, 'ok');
  const p = c.producer();
  await p.send({ topic: 'pay', value: 'poison' });
  await p.send({ topic: 'pay', value: 'ignored-once' });
  await p.flush();
  const deliveries = new Map<string, number[]>();
  const gc = c.groupConsumer({ group: 'pay-workers', topics: ['pay'], mode: 'queue', maxDeliveries: 3 });
  t.after(() => gc.close());
  void (async () => {
    for await (const m of gc) {
      const v = m.value!.toString();
      deliveries.set(v, [...(deliveries.get(v) ?? []), m.deliveryCount]);
      if (v === 'poison') await m.nack();
      else if (v === 'ignored-once' && m.deliveryCount === 1)
        continue; // never acked: ack wait expires
      else await m.ack();
    }
  })().catch(() => undefined);
  const dlq: GroupMessage[] = [];
  await waitFor('the poison message in pay.dlq', async () => {
    if (!(await c.admin.listTopics()).some((x) => x.name === 'pay.dlq')) return false;
    return (await c.admin.describeTopic('pay.dlq')).partitions[0]!.highWatermark >= 1;
  });
  const reader = c.consumer({ topic: 'pay.dlq', from: 'earliest' });
  for await (const m of reader) {
    dlq.push(m as GroupMessage);
    break;
  }
  const m = dlq[0]!;
  assert.equal(m.value!.toString(), 'poison');
  const h = Object.fromEntries(m.headers.map((x) => [x.key, x.value.toString()]));
  assert.equal(h[DLQ_HEADERS.reason], 'max-deliveries-nacked');
  assert.equal(h[DLQ_HEADERS.deliveries], '3');
  assert.equal(h[DLQ_HEADERS.topic], 'pay');
  assert.equal(h[DLQ_HEADERS.partition], '0');
  assert.equal(h[DLQ_HEADERS.offset], '3');
  assert.equal(h[DLQ_HEADERS.group], 'pay-workers');
  assert.deepEqual(deliveries.get('poison'), [1, 2, 3]);
  await waitFor('the unacked message to come back', () => (deliveries.get('ignored-once') ?? []).length >= 2);
  assert.deepEqual(deliveries.get('ignored-once'), [1, 2]);
  await waitFor('nothing left to ack', async () => (await c.groups.lag('pay-workers'))[0]!.lag === 0);
  for (const v of ['ok-0', 'ok-1', 'ok-2']) assert.deepEqual(deliveries.get(v), [1]);
});

test('delayed delivery: a message is not handed out before its not-before time', async (t) => {
  const broker = await startTestBroker(t, { groups: FAST_GROUPS });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'later', partitions: 1 });
  const notBefore = Date.now() + 600;
  const p = c.producer();
  await p.send({ topic: 'later', value: 'late', headers: { 'gregor-not-before': String(notBefore) } });
  await p.send({ topic: 'later', value: 'now' });
  await p.flush();
  for (const mode of ['queue', 'fanout'] as const) {
    const gc = c.groupConsumer({ group: `later-${mode}`, topics: ['later'], mode, autoAck: true });
    t.after(() => gc.close());
    const got: { v: string; at: number }[] = [];
    for await (const m of gc) {
      got.push({ v: m.value!.toString(), at: Date.now() });
      if (got.length === 2) break;
    }
    const late = got.find((g) => g.v === 'late')!;
    assert.ok(late.at >= notBefore, `${mode}: delivered ${notBefore - late.at} ms early`);
    if (mode === 'queue')
      assert.deepEqual(
        got.map((g) => g.v),
        ['now', 'late'],
        'queue mode does not hold others back',
      );
  }
});

/**
 * PUBLISH to an existing ephemeral topic is done on the tick its frame arrives (no promise chain);
 * these check that this path keeps what the general one promised: order, answers, errors, metrics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/observability/metrics.js';
import type { PushMessage, ResponseMessage } from '../../src/protocol/index.js';
import { decodeBatch, encodeBatch, splitBatches } from '../../src/storage/record-batch.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

async function subscribed(port: number, topic: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const r = await c.request('SUBSCRIBE', {
    subscriptionId: 1,
    topic,
    partitions: null,
    start: { kind: 'latest' },
    credit: { messages: 1000, bytes: 1 << 20 },
  });
  if (r.error) throw r.error;
  return c;
}

function values(pushes: PushMessage[]): string[] {
  const out: string[] = [];
  for (const p of pushes) {
    if (p.op !== 'DELIVERY') continue;
    for (const b of splitBatches(p.body.records))
      for (const r of decodeBatch(b)) out.push(r.value?.toString() ?? '');
  }
  return out;
}

function errorCode(r: ResponseMessage): string | undefined {
  return r.error?.code;
}

test('acks-0 and acks-1 PUBLISH frames written together reach a subscriber in order', async (t) => {
  const broker = await startTestBroker(t);
  await broker.service.createTopic({ name: 'ticks', partitions: 1, durable: false });
  const sub = await subscribed(broker.port, 'ticks');
  const pub = await RawClient.connect(broker.port);
  t.after(() => {
    sub.close();
    pub.close();
  });
  const publish = (v: string) => ({ topic: 'ticks', partition: 0, records: encodeBatch([{ value: v }]) });
  pub.send('PUBLISH', { ...publish('m0'), acks: 0 });
  const answered = pub.request('PUBLISH', { ...publish('m1'), acks: 1 });
  pub.send('PUBLISH', { ...publish('m2'), acks: 0 });
  pub.send('PUBLISH', { ...publish('m3'), acks: 0 });
  const r = await answered;
  assert.equal(r.error, null);
  assert.deepEqual(r.body, { subscribers: 1 });
  await sub.waitForPushes((p) => values(p).length >= 4);
  assert.deepEqual(values(sub.pushes), ['m0', 'm1', 'm2', 'm3']);
});

test('a bad PUBLISH to an ephemeral topic is answered with its error, acks 0 too, and the broker keeps serving', async (t) => {
  const broker = await startTestBroker(t);
  await broker.service.createTopic({ name: 'ticks', partitions: 2, durable: false });
  const sub = await subscribed(broker.port, 'ticks');
  const pub = await RawClient.connect(broker.port);
  t.after(() => {
    sub.close();
    pub.close();
  });
  const records = encodeBatch([{ value: 'x' }]);
  const badPartition = await pub.request('PUBLISH', { topic: 'ticks', partition: 2, acks: 1, records });
  assert.equal(errorCode(badPartition), 'UNKNOWN_PARTITION');
  assert.match(badPartition.error!.message, /partitions 0-1; got 2/);
  // acks 0 gets no answer when it works, but a failure is still reported on its correlation id.
  const corrupt = await pub.request('PUBLISH', {
    topic: 'ticks',
    partition: 0,
    acks: 0,
    records: Buffer.concat([records, Buffer.from([1, 2, 3])]),
  });
  assert.equal(errorCode(corrupt), 'CORRUPT_MESSAGE');
  assert.match(corrupt.error!.message, /PUBLISH ticks\/0/);
  const good = await pub.request('PUBLISH', { topic: 'ticks', partition: 1, acks: 1, records });
  assert.deepEqual(good.body, { subscribers: 1 });
  await sub.waitForPushes((p) => values(p).length >= 1);
  assert.deepEqual(values(sub.pushes), ['x'], 'nothing of the refused publishes was delivered');
});

test('PUBLISH on the same-tick path is counted in the request metrics', async (t) => {
  const broker = await startTestBroker(t, { metrics: createMetrics() });
  await broker.service.createTopic({ name: 'ticks', partitions: 1, durable: false });
  const pub = await RawClient.connect(broker.port);
  t.after(() => pub.close());
  const records = encodeBatch([{ value: 'x' }]);
  assert.deepEqual((await pub.request('PUBLISH', { topic: 'ticks', partition: 0, acks: 1, records })).body, {
    subscribers: 0,
  });
  const bad = await pub.request('PUBLISH', { topic: 'ticks', partition: 5, acks: 1, records });
  assert.equal(errorCode(bad), 'UNKNOWN_PARTITION');
  const res = await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`);
  const text = await res.text();
  assert.match(text, /gregormq_requests_total\{op="PUBLISH",outcome="ok"\} 1\b/);
  assert.match(text, /gregormq_requests_total\{op="PUBLISH",outcome="UNKNOWN_PARTITION"\} 1\b/);
  assert.match(text, /gregormq_messages_in_total\{topic="ticks"\} 1\b/);
});

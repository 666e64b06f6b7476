import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { ResponseMessage } from '../../src/protocol/index.js';
import { decodeBatch, encodeBatch, splitBatches } from '../../src/storage/record-batch.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
function ok(r: ResponseMessage): any {
  if (r.error) throw r.error;
  return r.body;
}

async function produce(c: RawClient, topic: string, partition: number, values: string[], extra = {}) {
  const records = encodeBatch(
    values.map((v) => ({ value: v })),
    extra,
  );
  const r = ok(
    await c.request('PRODUCE', { acks: 1, timeoutMs: 5000, partitions: [{ topic, partition, records }] }),
  );
  return r.partitions[0]!;
}

test('hello, create, produce, fetch and list offsets over the wire', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.port);
  t.after(() => c.close());
  const hello = ok(
    await c.request('HELLO', { minVersion: 1, maxVersion: 3, clientId: 'test', software: 'raw' }),
  );
  assert.equal(hello.version, 1);
  assert.equal(hello.nodeName, 'test-node');

  const created = ok(
    await c.request('CREATE_TOPIC', {
      topic: {
        name: 'orders',
        partitions: 3,
        replicationFactor: 1,
        retentionMs: -1,
        retentionBytes: -1,
        kind: 'durable',
      },
      ifNotExists: false,
    }),
  );
  assert.equal(created.partitions.length, 3);
  const again = await c.request('CREATE_TOPIC', {
    topic: {
      name: 'orders',
      partitions: 3,
      replicationFactor: 1,
      retentionMs: -1,
      retentionBytes: -1,
      kind: 'durable',
    },
    ifNotExists: false,
  });
  assert.equal(again.error?.code, 'TOPIC_EXISTS');

  const p1 = await produce(c, 'orders', 1, ['a', 'b', 'c']);
  assert.deepEqual([p1.errorCode, p1.baseOffset, p1.lastOffset], [0, 0, 2]);
  const p2 = await produce(c, 'orders', 1, ['d']);
  assert.equal(p2.baseOffset, 3);

  const fetched = ok(
    await c.request('FETCH', {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      partitions: [{ topic: 'orders', partition: 1, offset: 0, maxBytes: 1 << 20 }],
    }),
  );
  const part = fetched.partitions[0]!;
  assert.equal(part.highWatermark, 4);
  const values = splitBatches(part.records).flatMap((b) =>
    decodeBatch(b).map((r) => `${r.offset}:${r.value?.toString()}`),
  );
  assert.deepEqual(values, ['0:a', '1:b', '2:c', '3:d']);

  const offsets = ok(
    await c.request('LIST_OFFSETS', {
      partitions: [
        { topic: 'orders', partition: 1, spec: { kind: 'earliest' } },
        { topic: 'orders', partition: 1, spec: { kind: 'latest' } },
        { topic: 'orders', partition: 9, spec: { kind: 'latest' } },
      ],
    }),
  );
  assert.deepEqual(
    offsets.partitions.map((p: { offset: number }) => p.offset),
    [0, 4, -1],
  );
  assert.notEqual(offsets.partitions[2]!.errorCode, 0);

  const unknown = await produce(c, 'orders', 7, ['x']);
  assert.notEqual(unknown.errorCode, 0);
  assert.match(unknown.errorMessage ?? '', /partition 7/);
});

test('a long-poll fetch returns as soon as data arrives', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.port);
  t.after(() => c.close());
  await broker.service.createTopic({ name: 'lp', partitions: 1 });
  const pending = c.request('FETCH', {
    maxWaitMs: 20_000,
    minBytes: 1,
    maxBytes: 1 << 20,
    partitions: [{ topic: 'lp', partition: 0, offset: 0, maxBytes: 1 << 20 }],
  });
  const other = await RawClient.connect(broker.port);
  t.after(() => other.close());
  await produce(other, 'lp', 0, ['wake']);
  const r = ok(await pending);
  assert.ok(r.partitions[0]!.records.length > 0, 'the waiting fetch got the new batch');
});

test('idempotent producer retries are answered with the original offsets', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.port);
  t.after(() => c.close());
  await broker.service.createTopic({ name: 'idem', partitions: 1 });
  const pid = ok(await c.request('INIT_PRODUCER_ID', { producerId: -1, producerEpoch: -1 }));
  const opts = { producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: 0 };
  const first = await produce(c, 'idem', 0, ['x', 'y'], opts);
  const retry = await produce(c, 'idem', 0, ['x', 'y'], opts);
  assert.deepEqual([retry.baseOffset, retry.lastOffset], [first.baseOffset, first.lastOffset]);
  const gap = await produce(c, 'idem', 0, ['z'], { ...opts, baseSequence: 5 });
  assert.notEqual(gap.errorCode, 0);
  assert.match(gap.errorMessage ?? '', /expected sequence 2/);
  assert.equal(broker.topics.partition('idem', 0).endOffset, 2);
});

test('subscriptions push with credit-based flow control', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.port);
  t.after(() => c.close());
  await broker.service.createTopic({ name: 'live', partitions: 1 });
  for (let i = 0; i < 5; i++) await produce(c, 'live', 0, [`m${i}`]);
  const sub = ok(
    await c.request('SUBSCRIBE', {
      subscriptionId: 7,
      topic: 'live',
      partitions: null,
      start: { kind: 'earliest' },
      credit: { messages: 2, bytes: 1 << 20 },
    }),
  );
  assert.equal(sub.partitions[0]!.startOffset, 0);
  const records = () =>
    c.pushes.flatMap((p) =>
      p.op === 'DELIVERY'
        ? splitBatches(p.body.records).flatMap((b) => decodeBatch(b).map((r) => r.value?.toString()))
        : [],
    );
  await c.waitForPushes(() => records().length >= 2);
  // Credit for two messages: the server must stop there. Ask for a round trip, then check.
  await c.request('PING', { nonce: 1 });
  assert.deepEqual(records(), ['m0', 'm1']);
  c.send('CREDIT', { subscriptionId: 7, messages: 100, bytes: 1 << 20 });
  await produce(c, 'live', 0, ['m5']);
  await c.waitForPushes(() => records().length >= 6);
  assert.deepEqual(records(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
});

test('ephemeral topics fan out to every live subscriber and store nothing', async (t) => {
  const broker = await startTestBroker(t);
  await broker.service.createTopic({ name: 'ticks', partitions: 1, durable: false });
  const subs = await Promise.all([RawClient.connect(broker.port), RawClient.connect(broker.port)]);
  const pub = await RawClient.connect(broker.port);
  t.after(() => {
    for (const c of [...subs, pub]) c.close();
  });
  for (const s of subs) {
    ok(
      await s.request('SUBSCRIBE', {
        subscriptionId: 1,
        topic: 'ticks',
        partitions: null,
        start: { kind: 'latest' },
        credit: { messages: 100, bytes: 1 << 20 },
      }),
    );
  }
  const r = ok(
    await pub.request('PUBLISH', {
      topic: 'ticks',
      partition: 0,
      acks: 1,
      records: encodeBatch([{ value: 'hi' }]),
    }),
  );
  assert.equal(r.subscribers, 2);
  for (const s of subs) await s.waitForPushes((p) => p.length === 1);
  const fetch = await pub.request('FETCH', {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1000,
    partitions: [{ topic: 'ticks', partition: 0, offset: 0, maxBytes: 1000 }],
  });
  assert.notEqual(ok(fetch).partitions[0]!.errorCode, 0, 'an ephemeral topic has no log to fetch from');
});

test('malformed frames get an error or a logged close, and the broker keeps serving', async (t) => {
  const broker = await startTestBroker(t);
  const good = await RawClient.connect(broker.port);
  t.after(() => good.close());
  // Bad magic: the server must close this connection.
  const bad = connect(broker.port, '127.0.0.1');
  await new Promise((r) => bad.once('connect', r));
  const closed = new Promise<void>((r) => bad.once('close', () => r()));
  bad.on('error', () => undefined);
  // Read (and drop) what the server sends, or its FIN is never seen and 'close' never comes.
  bad.resume();
  bad.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await closed;
  // Unknown op in a well-formed frame: answered with UNKNOWN_OP, connection stays open.
  const frame = Buffer.alloc(14);
  frame.writeUInt32BE(10, 0);
  frame.writeUInt16BE(0x4752, 4);
  frame[6] = 1;
  frame.writeUInt16BE(0x7777, 8);
  frame.writeUInt32BE(99, 10);
  const answered = new Promise<Buffer>((resolve) => good.socket.once('data', resolve));
  good.socket.write(frame);
  const reply = await answered;
  assert.equal(reply.readUInt32BE(10), 99, 'error answers the bad frame by correlation id');
  const pong = ok(await good.request('PING', { nonce: 5 }));
  assert.equal(pong.nonce, 5);
});

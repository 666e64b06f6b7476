import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { type Client, type Compression, type Consumer, connect, type Message } from '../../src/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { waitFor } from './tcp-proxy.js';

function topicName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function setup(t: { after(fn: () => Promise<void> | void): void }): Promise<Client> {
  const broker = await startTestBroker(t);
  const client = await connect({ brokers: `127.0.0.1:${broker.port}`, clientId: 'round-trip-test' });
  t.after(() => client.close());
  return client;
}

/** Takes exactly `n` messages from a consumer (bounded: the consumer must deliver them). */
async function take(consumer: Consumer, n: number): Promise<Message[]> {
  const out: Message[] = [];
  if (n === 0) return out;
  for await (const m of consumer) {
    out.push(m);
    if (out.length >= n) break;
  }
  return out;
}

for (const compression of ['none', 'snappy', 'lz4'] as Compression[]) {
  test(`produce/consume round trip with keys, headers and ${compression} compression; offsets match`, async (t) => {
    const client = await setup(t);
    const topic = topicName('rt');
    await client.admin.createTopic({ name: topic, partitions: 3 });
    const producer = client.producer({ compression, lingerMs: 2 });
    const n = 600;
    const sent = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        producer.send({
          topic,
          key: `key-${i % 17}`,
          value: Buffer.from(`value-${i}`),
          headers: { seq: String(i), bin: Buffer.from([0, 255, i & 0xff]) },
        }),
      ),
    );
    const byKey = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = sent[i]!;
      assert.equal(r.topic, topic);
      const prev = byKey.get(`key-${i % 17}`);
      if (prev !== undefined) assert.equal(r.partition, prev, 'one key, one partition');
      byKey.set(`key-${i % 17}`, r.partition);
    }
    const got = await take(client.consumer({ topic, from: 'earliest' }), n);
    assert.equal(got.length, n);
    const expected = new Map(sent.map((r, i) => [`${r.partition}/${r.offset}`, i]));
    assert.equal(expected.size, n, 'every send got its own offset');
    const lastOffset = new Map<number, number>();
    for (const m of got) {
      const i = expected.get(`${m.partition}/${m.offset}`);
      assert.notEqual(i, undefined, `consumed ${m.partition}/${m.offset} that no send() reported`);
      assert.equal(m.value?.toString(), `value-${i}`);
      assert.equal(m.key?.toString(), `key-${i! % 17}`);
      assert.equal(m.headers.find((h) => h.key === 'seq')?.value.toString(), String(i));
      assert.deepEqual([...m.headers.find((h) => h.key === 'bin')!.value], [0, 255, i! & 0xff]);
      assert.ok((lastOffset.get(m.partition) ?? -1) < m.offset, 'offsets increase per partition');
      lastOffset.set(m.partition, m.offset);
      expected.delete(`${m.partition}/${m.offset}`);
    }
    assert.equal(expected.size, 0);
  });
}

test('messages of one partition keep send order, with acks all and a custom partitioner', async (t) => {
  const client = await setup(t);
  const topic = topicName('order');
  await client.admin.createTopic({ name: topic, partitions: 2 });
  const producer = client.producer({
    acks: 'all',
    partitioner: (key) => (key?.toString() === 'odd' ? 1 : 0),
  });
  const sends = [];
  for (let i = 0; i < 400; i++)
    sends.push(producer.send({ topic, key: i % 2 ? 'odd' : 'even', value: String(i) }));
  const meta = await Promise.all(sends);
  for (let i = 0; i < 400; i++) assert.equal(meta[i]!.partition, i % 2);
  for (const p of [0, 1]) {
    const got = await take(client.consumer({ topic, partitions: [p], from: 'earliest', mode: 'fetch' }), 200);
    assert.deepEqual(
      got.map((m) => Number(m.value!.toString())),
      Array.from({ length: 200 }, (_, i) => 2 * i + p),
    );
    assert.deepEqual(
      got.map((m) => m.offset),
      Array.from({ length: 200 }, (_, i) => i),
    );
  }
});

test('sendBatch: metadata in call order, interleaved with send(); bad records named by index queue nothing', async (t) => {
  const client = await setup(t);
  const topic = topicName('batch');
  await client.admin.createTopic({ name: topic, partitions: 2 });
  const producer = client.producer();
  const first = producer.send({ topic, partition: 0, value: 'single-0' });
  const batch = producer.sendBatch(
    Array.from({ length: 3000 }, (_, i) => ({ topic, partition: i % 2, value: `b-${i}` })),
  );
  const last = producer.send({ topic, partition: 0, value: 'single-1' });
  const meta = await batch;
  assert.equal(meta.length, 3000);
  assert.equal((await first).offset, 0);
  for (let i = 0; i < 3000; i++) {
    assert.equal(meta[i]!.partition, i % 2);
    // Partition 0 starts after the single send before the batch.
    assert.equal(meta[i]!.offset, i % 2 === 0 ? 1 + i / 2 : (i - 1) / 2, `offset of record ${i}`);
  }
  assert.equal((await last).offset, 1501);
  assert.deepEqual(await producer.sendBatch([]), []);

  await assert.rejects(
    producer.sendBatch([
      { topic, value: 'ok' },
      { topic, value: 42 as unknown as string },
    ]),
    (e: Error & { code?: string }) =>
      e.code === 'INVALID_ARGUMENT' && /sendBatch\(\)\[1\]\.value/.test(e.message),
  );
  await assert.rejects(producer.sendBatch('nope' as never), /sendBatch\(\).*array/);
  await producer.flush();
  const ends = await Promise.all([0, 1].map((p) => client.admin.listOffsets(topic, p, 'latest')));
  assert.deepEqual(ends, [1502, 1500], 'the refused batch queued nothing');
  await producer.close();
  await assert.rejects(producer.sendBatch([{ topic, value: 'late' }]), /closed/);
});

for (const mode of ['subscribe', 'fetch'] as const) {
  test(`${mode} consumer starts from earliest, latest, an offset and a timestamp`, async (t) => {
    const client = await setup(t);
    const topic = topicName(`from-${mode}`);
    await client.admin.createTopic({ name: topic, partitions: 1 });
    const producer = client.producer({ lingerMs: 0 });
    const base = Date.now() - 100_000;
    for (let i = 0; i < 20; i++)
      await producer.send({ topic, partition: 0, value: `m${i}`, timestamp: base + i * 1000 });

    const earliest = await take(client.consumer({ topic, from: 'earliest', mode }), 20);
    assert.deepEqual(
      earliest.map((m) => m.value!.toString()),
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    );
    assert.equal(earliest[3]!.timestamp, base + 3000);

    const fromOffset = await take(client.consumer({ topic, from: 13, mode }), 7);
    assert.deepEqual(
      fromOffset.map((m) => m.offset),
      [13, 14, 15, 16, 17, 18, 19],
    );

    const fromTime = await take(client.consumer({ topic, from: new Date(base + 15_500), mode }), 4);
    assert.deepEqual(
      fromTime.map((m) => m.value!.toString()),
      ['m16', 'm17', 'm18', 'm19'],
    );
    assert.equal(await client.admin.listOffsets(topic, 0, { timestamp: base + 15_500 }), 16);

    const latest = client.consumer({ topic, from: 'latest', mode });
    await latest.ready();
    await producer.send({ topic, partition: 0, value: 'after' });
    const [m] = await take(latest, 1);
    assert.equal(m!.value!.toString(), 'after');
    assert.equal(m!.offset, 20);
  });
}

test('a subscription with a tiny credit window still delivers everything in order', async (t) => {
  const client = await setup(t);
  const topic = topicName('credit');
  await client.admin.createTopic({ name: topic, partitions: 1 });
  const producer = client.producer({ batchBytes: 512 });
  await Promise.all(Array.from({ length: 3000 }, (_, i) => producer.send({ topic, value: `v${i}` })));
  const consumer = client.consumer({ topic, from: 'earliest', maxMessages: 3, maxBytes: 256 });
  const got = await take(consumer, 3000);
  assert.deepEqual(
    got.map((m) => m.offset),
    Array.from({ length: 3000 }, (_, i) => i),
  );
  assert.equal(got[2999]!.value!.toString(), 'v2999');
});

test('ephemeral publish fans out to two subscribers', async (t) => {
  const client = await setup(t);
  const topic = topicName('eph');
  await client.admin.createTopic({ name: topic, partitions: 2, kind: 'ephemeral' });
  const a = client.subscribe(topic);
  const b = client.subscribe(topic);
  await Promise.all([a.ready(), b.ready()]);
  const counts: number[] = [];
  for (let i = 0; i < 50; i++)
    counts.push((await client.publish(topic, `e${i}`, { key: `k${i}` })).subscribers);
  assert.ok(
    counts.every((c) => c === 2),
    `each publish reached 2 subscribers: ${counts}`,
  );
  for (const sub of [a, b]) {
    const got = await take(sub, 50);
    assert.deepEqual(
      got.map((m) => m.value!.toString()).sort(),
      Array.from({ length: 50 }, (_, i) => `e${i}`).sort(),
    );
    assert.ok(got.every((m) => m.offset === -1));
  }
  const lonely = topicName('eph-none');
  await client.admin.createTopic({ name: lonely, partitions: 1, kind: 'ephemeral' });
  assert.equal((await client.publish(lonely, 'nobody')).subscribers, 0);
});

test('an acks-0 publish loop ten times the credit window reaches a subscriber in the same process in full and in order', async (t) => {
  // Broker, publisher and subscriber share one event loop here, as a bench or an app that both
  // publishes and subscribes does. If `await publish(acks 0)` resolved on the same tick, the loop
  // would never let the subscriber read or return credit: the whole burst would reach the broker
  // at once and everything past the first window would be dropped.
  const client = await setup(t);
  const topic = topicName('eph-burst');
  await client.admin.createTopic({ name: topic, partitions: 1, kind: 'ephemeral' });
  const window = 1000;
  const n = window * 10;
  const sub = client.subscribe(topic, { maxMessages: window });
  await sub.ready();
  const got: string[] = [];
  const reading = (async () => {
    for await (const m of sub) {
      got.push(m.value!.toString());
      if (got.length >= n) break;
    }
  })();
  let seenWhilePublishing = 0;
  for (let i = 0; i < n; i++) {
    await client.publish(topic, `b${i}`, { acks: 0 });
    seenWhilePublishing = got.length;
  }
  await waitFor('the whole burst delivered', () => got.length >= n, 20_000);
  await reading;
  assert.ok(seenWhilePublishing > 0, 'the subscriber read while the publish loop ran');
  assert.deepEqual(
    got,
    Array.from({ length: n }, (_, i) => `b${i}`),
  );
});

test('admin: create (ifNotExists), describe, list, delete; typed errors', async (t) => {
  const client = await setup(t);
  const topic = topicName('admin');
  const created = await client.admin.createTopic({ name: topic, partitions: 4, retentionMs: 3_600_000 });
  assert.equal(created.config.partitions, 4);
  assert.equal(created.partitions.length, 4);
  const again = await client.admin.createTopic({ name: topic, partitions: 4 }, { ifNotExists: true });
  assert.equal(again.config.retentionMs, 3_600_000);
  await assert.rejects(
    client.admin.createTopic({ name: topic, partitions: 1 }),
    (err: Error & { code?: string; retriable?: boolean }) => {
      assert.equal(err.code, 'TOPIC_EXISTS');
      assert.equal(err.retriable, false);
      return true;
    },
  );
  assert.ok((await client.admin.listTopics()).some((x) => x.name === topic));
  const producer = client.producer();
  await producer.send({ topic, partition: 2, value: 'x' });
  const d = await client.admin.describeTopic(topic);
  assert.equal(d.partitions[2]!.highWatermark, 1);
  assert.equal(await client.admin.listOffsets(topic, 2, 'latest'), 1);
  assert.equal(await client.admin.listOffsets(topic, 2, 'earliest'), 0);
  await assert.rejects(producer.send({ topic, partition: 9, value: 'x' }), { code: 'UNKNOWN_PARTITION' });
  assert.equal(await client.admin.deleteTopic(topic), true);
  assert.equal(await client.admin.deleteTopic(topic, { ifExists: true }), false);
  await assert.rejects(client.admin.describeTopic(topic), { code: 'UNKNOWN_TOPIC' });
  await waitFor(
    'topic gone from list',
    async () => !(await client.admin.listTopics()).some((x) => x.name === topic),
  );
});

test('acks 0 resolves once written (offset -1) and the data arrives', async (t) => {
  const client = await setup(t);
  const topic = topicName('acks0');
  await client.admin.createTopic({ name: topic, partitions: 1 });
  const producer = client.producer({ acks: 0 });
  const meta = await Promise.all(
    Array.from({ length: 100 }, (_, i) => producer.send({ topic, value: `z${i}` })),
  );
  assert.ok(meta.every((m) => m.offset === -1 && m.partition === 0));
  await waitFor(
    '100 messages stored',
    async () => (await client.admin.listOffsets(topic, 0, 'latest')) === 100,
  );
});

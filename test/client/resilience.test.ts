import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Broker, startBroker } from '../../src/broker/broker.js';
import {
  type Client,
  ConnectionError,
  connect,
  GregorError,
  isGregorError,
  type Message,
} from '../../src/index.js';
import { fakeRouter, startTestBroker } from '../helpers/broker.js';
import { TcpProxy, waitFor } from './tcp-proxy.js';

const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };

async function drain(client: Client, topic: string, n: number): Promise<Message[]> {
  const out: Message[] = [];
  for await (const m of client.consumer({ topic, from: 'earliest', mode: 'fetch' })) {
    out.push(m);
    if (out.length >= n) break;
  }
  return out;
}

test('an idempotent retry after a lost answer writes nothing twice', async (t) => {
  const broker = await startTestBroker(t);
  const proxy = await TcpProxy.start(broker.port);
  t.after(() => proxy.close());
  const direct = await connect({ brokers: `127.0.0.1:${broker.port}` });
  t.after(() => direct.close());
  const client = await connect({ brokers: `127.0.0.1:${proxy.port}`, reconnect: FAST_RECONNECT });
  t.after(() => client.close());
  const topic = `idem-${randomUUID().slice(0, 8)}`;
  await client.admin.createTopic({ name: topic, partitions: 1 });
  const producer = client.producer({ lingerMs: 0, retryBackoffMs: 20 });

  const first = await Promise.all(
    Array.from({ length: 100 }, (_, i) => producer.send({ topic, value: `m${i}` })),
  );
  assert.deepEqual(
    first.map((m) => m.offset),
    Array.from({ length: 100 }, (_, i) => i),
  );

  // The broker gets and writes the next sends, but its answers never come back...
  proxy.dropResponses = true;
  const lost = Array.from({ length: 50 }, (_, i) => producer.send({ topic, value: `m${100 + i}` }));
  await waitFor(
    'the broker to store all 150',
    async () => (await direct.admin.listOffsets(topic, 0, 'latest')) === 150,
  );
  // ...then the connection dies: the producer must resend with the same sequence numbers.
  proxy.dropResponses = false;
  proxy.cutAll();
  const retried = await Promise.all(lost);
  assert.deepEqual(
    retried.map((m) => m.offset),
    Array.from({ length: 50 }, (_, i) => 100 + i),
    'the retry is answered with the offsets the first attempt got',
  );
  assert.equal(await direct.admin.listOffsets(topic, 0, 'latest'), 150, 'nothing was written twice');
  const all = await drain(direct, topic, 150);
  assert.deepEqual(
    all.map((m) => m.value!.toString()),
    Array.from({ length: 150 }, (_, i) => `m${i}`),
  );
});

test('producer and subscriber ride through a broker restart on the same data dir', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-client-restart-'));
  let second: Broker | undefined;
  // Registered first so it runs first: stop the restarted broker, then remove the shared dir.
  t.after(async () => {
    await second?.stop(1000);
    await rm(dataDir, { recursive: true, force: true });
  });
  const first = await startTestBroker(t, { dataDir });
  const proxy = await TcpProxy.start(first.port);
  t.after(() => proxy.close());
  const client = await connect({ brokers: `127.0.0.1:${proxy.port}`, reconnect: FAST_RECONNECT });
  t.after(() => client.close());
  const topic = `restart-${randomUUID().slice(0, 8)}`;
  await client.admin.createTopic({ name: topic, partitions: 2 });
  const producer = client.producer({ acks: 'all', retryBackoffMs: 20 });
  const consumer = client.consumer({ topic, from: 'earliest' });
  await consumer.ready();
  const seen: Message[] = [];
  const reading = (async () => {
    for await (const m of consumer) {
      seen.push(m);
      if (seen.length >= 200) break;
    }
  })();

  await Promise.all(
    Array.from({ length: 100 }, (_, i) => producer.send({ topic, key: `k${i % 7}`, value: `a${i}` })),
  );
  await waitFor('the subscriber to see the first 100', () => seen.length >= 100);

  await first.stop(1000);
  proxy.cutAll();
  // Sent while the broker is down: retried until it is back.
  const during = Array.from({ length: 100 }, (_, i) =>
    producer.send({ topic, key: `k${i % 7}`, value: `b${i}` }),
  );
  second = await startBroker({
    host: '127.0.0.1',
    port: 0,
    httpPort: -1,
    nodeName: 'test-node',
    dataDir,
  });
  proxy.targetPort = second.port;

  const meta = await Promise.all(during);
  assert.equal(meta.length, 100);
  await reading;
  assert.equal(seen.length, 200);
  const keys = seen.map((m) => `${m.partition}/${m.offset}`);
  assert.equal(new Set(keys).size, 200, 'no message delivered twice');
  const values = new Set(seen.map((m) => m.value!.toString()));
  for (let i = 0; i < 100; i++)
    assert.ok(values.has(`a${i}`) && values.has(`b${i}`), `a${i} and b${i} arrived`);
  for (const p of [0, 1]) {
    const offsets = seen.filter((m) => m.partition === p).map((m) => m.offset);
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i),
      `partition ${p} offsets are contiguous and in order`,
    );
  }
});

test('connect() to a dead address fails with a retriable ConnectionError naming it', async () => {
  const proxy = await TcpProxy.start(1);
  const port = proxy.port;
  await proxy.close();
  await assert.rejects(connect({ brokers: `127.0.0.1:${port}`, connectTimeoutMs: 2000 }), (err: unknown) => {
    assert.ok(err instanceof ConnectionError);
    assert.ok(err instanceof GregorError && isGregorError(err));
    assert.equal(err.code, 'CONNECTION_CLOSED');
    assert.equal(err.retriable, true);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return true;
  });
});

test('requests waiting on a dead connection fail after maxAttempts, and the client recovers later', async (t) => {
  const broker = await startTestBroker(t);
  const proxy = await TcpProxy.start(broker.port);
  t.after(() => proxy.close());
  const client = await connect({
    brokers: `127.0.0.1:${proxy.port}`,
    reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 },
  });
  t.after(() => client.close());
  const deadPort = proxy.targetPort;
  proxy.targetPort = 1; // nothing listens on port 1: every reconnect is refused
  proxy.cutAll();
  await assert.rejects(client.admin.listTopics(), { code: 'CONNECTION_CLOSED', retriable: true });
  proxy.targetPort = deadPort;
  assert.ok(Array.isArray(await client.admin.listTopics()));
});

test('a send to a partition without a leader fails with TIMEOUT after deliveryTimeoutMs; then works again', async (t) => {
  const broker = await startTestBroker(t);
  await broker.topics.create({ name: 'leaderless', partitions: 1 });
  let owner = '';
  broker.service.setRouter(fakeRouter(broker, () => owner));
  t.after(() => broker.service.setRouter(undefined));
  const client = await connect({ brokers: `127.0.0.1:${broker.port}` });
  t.after(() => client.close());
  const producer = client.producer({ deliveryTimeoutMs: 300, retryBackoffMs: 20 });
  await assert.rejects(
    producer.send({ topic: 'leaderless', value: 'x' }),
    (e: Error & { code?: string }) =>
      e.code === 'TIMEOUT' && /leaderless\/0 had no leader .*deliveryTimeoutMs 300/.test(e.message),
  );
  // A leader appears: later sends go through.
  owner = 'test-node';
  const m = await producer.send({ topic: 'leaderless', value: 'y' });
  assert.equal(m.partition, 0);
  assert.ok(m.offset >= 0);
});

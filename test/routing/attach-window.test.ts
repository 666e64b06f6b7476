/**
 * A topic created while cluster routing is still attaching (between the client port opening and
 * the node joining its cluster) must end up in the cluster's topic catalog and get an owner. It
 * used to exist on the node only, with no owner, and a producer waited for a leader forever.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/index.js';
import { fakeRouter, startTestBroker } from '../helpers/broker.js';
import { BrokerChild, localBrokerArgs } from '../helpers/broker-child.js';

test('topics created before the node joined its cluster get an owner and take writes', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-attach-'));
  // A seed nobody answers on makes the node wait out its join timeout (2 s) before it joins
  // alone: the attach window stays open while the test creates its topics.
  const b = new BrokerChild({ args: [...localBrokerArgs(dataDir), '--no-mdns', '--seeds', '127.0.0.1:9'] });
  t.after(async () => {
    await b.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });
  await b.listening(30_000);
  const client = await connect({ brokers: `127.0.0.1:${b.port}`, requestTimeoutMs: 15_000 });
  t.after(() => client.close());
  const topics = ['early-a', 'early-b'];
  for (const name of topics) await client.admin.createTopic({ name, partitions: 2 });
  // Timing, not behaviour: on a slow machine the join can come first, and the test still checks
  // that every topic ends up owned.
  const joinedFirst = b.lines.some((l) => l.msg === 'joined the cluster');
  t.diagnostic(joinedFirst ? 'the node joined before the creates finished' : 'created before the join');

  const producer = client.producer({ ackTimeoutMs: 5000 });
  const sends = topics.flatMap((topic) =>
    Array.from({ length: 20 }, (_, i) => producer.send({ topic, key: `k${i}`, value: `v${i}` })),
  );
  const deadline = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error('produce did not finish in 20 s')), 20_000);
    t.after(() => clearTimeout(timer));
  });
  const meta = await Promise.race([Promise.all(sends), deadline]);
  assert.equal(meta.length, 40);
  for (const name of topics) {
    const d = await client.admin.describeTopic(name);
    assert.deepEqual(
      d.partitions.map((p) => [p.leader !== '', p.highWatermark >= 0]),
      [
        [true, true],
        [true, true],
      ],
      `${name}: every partition has a leader and is open`,
    );
  }
  await producer.close();
});

test('topic admin waits while routing attaches, then goes through the router it installed', async (t) => {
  const broker = await startTestBroker(t);
  const client = await connect({ brokers: `127.0.0.1:${broker.port}` });
  t.after(() => client.close());
  const release = broker.service.holdTopicAdmin();
  let settled = false;
  const created = client.admin.createTopic({ name: 'held', partitions: 1 }).finally(() => {
    settled = true;
  });
  // The request reached the broker and is parked there (listed topics still lack it).
  for (let i = 0; i < 50 && (await client.admin.listTopics()).length === 0 && !settled; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(settled, false, 'the create waits for the hold');
  assert.equal(broker.topics.has('held'), false);
  // Routing installs itself, then lets go: the parked create must go through it.
  const router = fakeRouter(broker);
  broker.service.setRouter(router);
  t.after(() => broker.service.setRouter(undefined));
  release();
  await created;
  assert.deepEqual(router.created, ['held']);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { GroupMessage } from '../../src/client/group-consumer.js';
import { BrokerChild, envWithoutGregor, localBrokerArgs } from '../helpers/broker-child.js';
import { client, produce, waitFor } from './helpers.js';

/** The broker processes of the test; a failure shows their stderr (why a broker died). */
const brokers: BrokerChild[] = [];

/** Starts the broker binary on `dataDir` (ack wait a minute) and resolves once it logs "listening". */
async function startBrokerProcess(dataDir: string): Promise<BrokerChild> {
  const b = new BrokerChild({
    args: localBrokerArgs(dataDir),
    env: envWithoutGregor({ GREGOR_GROUPS_ACK_WAIT_MS: '60000' }),
    keepLines: false,
  });
  brokers.push(b);
  await b.listening(30_000);
  return b;
}

test('broker kill -9 and restart loses no commit and no ack', async (t) => {
  try {
    await killAndRestart(t);
  } catch (err) {
    const stderr = brokers.map((b) => b.stderr).join('');
    if (stderr) (err as Error).message += `\nbroker stderr:\n${stderr.slice(-2000)}`;
    throw err;
  }
});

async function killAndRestart(t: TestContext): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-groups-restart-'));
  t.after(async () => {
    for (const b of brokers) await b.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });
  const first = await startBrokerProcess(dataDir);
  const c1 = await client(t, first.port);
  await c1.admin.createTopic({ name: 'ledger', partitions: 2 });
  const sent = await produce(c1, 'ledger', 50);

  // Fanout group: process 30, commit (durable once it resolves).
  const fan = c1.groupConsumer({ group: 'fan', topics: ['ledger'], heartbeatIntervalMs: 200 });
  const fanSeen: string[] = [];
  for await (const m of fan) {
    fanSeen.push(m.value!.toString());
    if (fanSeen.length === 30) break; // break closes: commits what was processed, then leaves
  }
  const committed = await c1.groups.fetchCommitted('fan');

  // Queue group: ack 20 of the messages handed out, leave the rest unacked.
  const q = c1.groupConsumer({ group: 'q', topics: ['ledger'], mode: 'queue', heartbeatIntervalMs: 200 });
  const ackedValues: string[] = [];
  const unacked: GroupMessage[] = [];
  for await (const m of q) {
    if (ackedValues.length < 20) {
      await m.ack();
      ackedValues.push(m.value!.toString());
    } else unacked.push(m);
    if (ackedValues.length + unacked.length === 25) break;
  }
  await first.stop('SIGKILL');

  const second = await startBrokerProcess(dataDir);
  const c2 = await client(t, second.port);
  assert.deepEqual(await c2.groups.fetchCommitted('fan'), committed, 'fanout commits survive');
  const fan2 = c2.groupConsumer({ group: 'fan', topics: ['ledger'], heartbeatIntervalMs: 200 });
  t.after(() => fan2.close());
  const rest: string[] = [];
  for await (const m of fan2) {
    rest.push(m.value!.toString());
    if (rest.length === 20) break;
  }
  assert.deepEqual([...fanSeen, ...rest].sort(), [...sent].sort(), 'resumed exactly after the commits');

  const q2 = c2.groupConsumer({ group: 'q', topics: ['ledger'], mode: 'queue', heartbeatIntervalMs: 200 });
  t.after(() => q2.close());
  const after: string[] = [];
  void (async () => {
    for await (const m of q2) {
      after.push(m.value!.toString());
      await m.ack();
    }
  })().catch(() => undefined);
  await waitFor('the 30 unacked messages', () => after.length >= 30, 15_000);
  assert.equal(after.length, 30);
  const acked = new Set(ackedValues);
  assert.ok(
    after.every((v) => !acked.has(v)),
    'nothing acked comes back',
  );
  assert.deepEqual([...after, ...ackedValues].sort(), [...sent].sort(), 'nothing unacked is lost');
}

/**
 * A topic created through one node is usable through every other node as soon as the create
 * returns, including a node that joined a moment ago (still JOINING in the creator's view). The
 * creator used to wait only for members it already saw as NORMAL, so the newcomer answered
 * UNKNOWN_TOPIC until its next gossip exchange.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { connect } from '../../src/index.js';
import { BrokerChild, envWithoutGregor, localBrokerArgs } from '../helpers/broker-child.js';

/** Starts a broker gossiping at the lan preset's 500 ms (a slow round widens the window). */
async function start(t: Pick<TestContext, 'after'>, name: string, seeds: string[]) {
  const dir = await mkdtemp(join(tmpdir(), `gregor-fresh-${name}-`));
  const args = [...localBrokerArgs(dir), '--node-name', name, '--no-mdns', '--cluster-host', '127.0.0.1'];
  if (seeds.length) args.push('--seeds', seeds.join(','));
  const b = new BrokerChild({ args, env: envWithoutGregor({ GREGOR_CLUSTER_GOSSIP_INTERVAL_MS: '500' }) });
  t.after(async () => {
    await b.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  await b.waitUntil(
    'cluster routing attached',
    () => b.lines.some((l) => l.msg === 'cluster routing attached'),
    30_000,
  );
  return b;
}

test('a topic created on node A is known to a node B that has only just joined', async (t) => {
  const a = await start(t, 'fresh-a', []);
  const b = await start(t, 'fresh-b', [`127.0.0.1:${a.clusterPort}`]);
  const viaA = await connect({ brokers: `127.0.0.1:${a.port}` });
  const viaB = await connect({ brokers: `127.0.0.1:${b.port}` });
  t.after(async () => {
    await viaA.close();
    await viaB.close();
  });
  await viaA.admin.createTopic({ name: 'fresh', partitions: 2 });
  const d = await viaB.admin.describeTopic('fresh');
  assert.equal(d.partitions.length, 2, 'node B answers for the topic right after the create returned');
});

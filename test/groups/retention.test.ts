/**
 * groups.offsetsRetentionMs: a group with no members and no commits for that long is forgotten
 * (Kafka's offsets.retention.minutes), a group with a live member never is, and the deletion and
 * the age of a group's last activity both survive a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFileGroupStore } from '../../src/groups/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { client, FAST_GROUPS, produce, waitFor } from './helpers.js';

const exists = async (c: Awaited<ReturnType<typeof client>>, group: string) =>
  c.groups.describe(group).then(
    () => true,
    (err: Error) => {
      if (/does not exist/.test(err.message)) return false;
      throw err;
    },
  );

test('an empty group is forgotten after offsetsRetentionMs; one with a live member is kept', async (t) => {
  const broker = await startTestBroker(t, { groups: { ...FAST_GROUPS, offsetsRetentionMs: 1500 } });
  const c = await client(t, broker.port);
  await c.admin.createTopic({ name: 'ret', partitions: 1 });
  await produce(c, 'ret', 5);

  const live = c.groupConsumer({ group: 'live', topics: ['ret'], heartbeatIntervalMs: 200 });
  t.after(() => live.close());
  const gone = c.groupConsumer({ group: 'gone', topics: ['ret'], heartbeatIntervalMs: 200 });
  // next() keeps 'live' a member; leaving the for-await loop with break commits and leaves.
  for (let i = 0; i < 5; i++) assert.equal((await live.next()).done, false);
  let n = 0;
  for await (const _m of gone) if (++n === 5) break;
  assert.equal((await c.groups.lag('gone'))[0]?.lag, 0, 'the commit is there before retention');
  await waitFor('the empty group to expire', async () => !(await exists(c, 'gone')), 15_000);
  assert.equal(await exists(c, 'live'), true, 'a group with a live member is never expired');
  assert.equal((await c.groups.describe('live')).members, 1);
  // Its offsets went with it: a new member of 'gone' starts from the topic's start again.
  const again = c.groupConsumer({ group: 'gone', topics: ['ret'], heartbeatIntervalMs: 200 });
  t.after(() => again.close());
  const first = await again.next();
  assert.equal(first.done, false);
  assert.equal(first.value.offset, 0, 'the expired commit no longer applies');
});

test('retention counts from the stored time of the last commit, and the deletion is durable', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-retention-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const now = Date.now();
  const seed = await openFileGroupStore(dataDir);
  await seed.append(
    [
      { t: 'group', g: 'stale', mode: 'fanout', at: now - 120_000 },
      { t: 'commit', g: 'stale', topic: 'x', p: 0, offset: 5, meta: '', at: now - 120_000 },
      { t: 'group', g: 'fresh', mode: 'fanout', at: now },
      { t: 'commit', g: 'fresh', topic: 'x', p: 0, offset: 7, meta: '', at: now },
    ],
    true,
  );
  await seed.close();

  {
    const broker = await startTestBroker(t, {
      dataDir,
      groups: { ...FAST_GROUPS, offsetsRetentionMs: 60_000 },
    });
    const c = await client(t, broker.port);
    await waitFor(
      'the group idle for two minutes to expire',
      async () => !(await exists(c, 'stale')),
      10_000,
    );
    assert.equal(await exists(c, 'fresh'), true, 'a group committed just now is kept');
    await c.close();
    await broker.stop(1000);
  }

  const reopened = await openFileGroupStore(dataDir);
  t.after(() => reopened.close());
  assert.deepEqual([...reopened.state.keys()], ['fresh'], 'the deletion was stored');
  assert.equal(reopened.state.get('fresh')!.activeAt, now, 'the last activity time was kept');
});

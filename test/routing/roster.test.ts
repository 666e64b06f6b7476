import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ClusterMember, ClusterNode } from '../../src/cluster/cluster-node.js';
import { firstJoinTime } from '../../src/cluster/join-time.js';
import { isGregorError } from '../../src/errors.js';
import { ROSTER_KEY, Roster } from '../../src/routing/roster.js';

/** Just enough of a ClusterNode for the roster: a member list and the local facts it publishes. */
class FakeNode {
  readonly published = new Map<string, unknown>();
  list: ClusterMember[] = [];
  members(): ClusterMember[] {
    return this.list;
  }
  member(id: string): ClusterMember | undefined {
    return this.list.find((m) => m.id === id);
  }
  setLocalKey(key: string, value: unknown): void {
    this.published.set(key, value);
  }
  get node(): ClusterNode {
    return this as unknown as ClusterNode;
  }
}

function member(id: string, over: Partial<ClusterMember> = {}): ClusterMember {
  return {
    id,
    name: `name-${id}`,
    status: 'NORMAL',
    liveness: 'alive',
    phi: 0,
    addresses: { cluster: [] },
    zone: 'z1',
    generation: 1,
    heartbeat: 1,
    startedAt: 100,
    joinedAt: 10,
    uptimeMs: 0,
    isSelf: false,
    facts: {},
    ...over,
  };
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-roster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('roster: NORMAL members enter, departed ones stay after membership forgets them, and survive a restart', async (t) => {
  const dir = await tempDir(t);
  const fake = new FakeNode();
  fake.list = [
    member('self', { isSelf: true, joinedAt: 5 }),
    member('b', { joinedAt: 20 }),
    member('joining', { status: 'JOINING', joinedAt: 30 }),
  ];
  const r = await Roster.open(fake.node, dir);
  assert.deepEqual(
    r.list().map((e) => [e.id, e.joinedAt]),
    [
      ['self', 5],
      ['b', 20],
    ],
  );
  // Membership forgets b: the roster keeps it and now repeats it in its fact for others.
  fake.list = [fake.list[0]!];
  r.update();
  assert.deepEqual(
    r.departed(new Set(['self'])).map((e) => e.id),
    ['b'],
  );
  const fact = fake.published.get(ROSTER_KEY) as { m: unknown[][] };
  assert.deepEqual(fact.m, [['b', 20, 'z1', 'name-b']]);
  await r.flushed();
  // A restart (new Roster on the same dir) still knows b.
  const again = await Roster.open(new FakeNode().node, dir);
  assert.deepEqual(
    again.list().map((e) => e.id),
    ['self', 'b'],
  );
});

test('roster: learns departed members from other nodes, and a forget spreads and persists', async (t) => {
  const dir = await tempDir(t);
  const fake = new FakeNode();
  fake.list = [
    member('self', { isSelf: true, joinedAt: 5 }),
    member('peer', { joinedAt: 6, facts: { [ROSTER_KEY]: { m: [['old', 1, 'z2', 'old-node']], f: [] } } }),
  ];
  const r = await Roster.open(fake.node, dir);
  assert.deepEqual(
    r.list().map((e) => e.id),
    ['old', 'self', 'peer'],
  );
  const live = new Set(['self', 'peer']);
  await assert.rejects(
    r.forget('self', live),
    (e: unknown) => isGregorError(e) && /live member/.test(e.message),
  );
  await assert.rejects(
    r.forget('nobody', live),
    (e: unknown) => isGregorError(e) && e.code === 'UNKNOWN_NODE' && /"nobody"/.test(e.message),
  );
  const gone = await r.forget('old-node', live);
  assert.equal(gone.id, 'old');
  assert.deepEqual(r.departed(live), []);
  const fact = fake.published.get(ROSTER_KEY) as { f: [string, number][] };
  assert.deepEqual(
    fact.f.map(([id]) => id),
    ['old'],
  );
  // The peer still gossips "old" (it has not merged the forget yet): the forget wins.
  r.update();
  assert.deepEqual(r.departed(live), []);
  // Another node receiving our fact drops it as well.
  const other = new FakeNode();
  other.list = [
    member('other', { isSelf: true, joinedAt: 7 }),
    member('self', { joinedAt: 5, facts: { [ROSTER_KEY]: fake.published.get(ROSTER_KEY) } }),
  ];
  const r2 = await Roster.open(other.node, null);
  r2.update();
  assert.ok(!r2.list().some((e) => e.id === 'old'));
  // Persisted: the forget survives a restart.
  const reopened = await Roster.open(new FakeNode().node, dir);
  assert.ok(!reopened.list().some((e) => e.id === 'old'));
});

test('roster: a forgotten node that starts again later is admitted again', async () => {
  const fake = new FakeNode();
  fake.list = [member('self', { isSelf: true, joinedAt: 5 })];
  const r = await Roster.open(fake.node, null);
  fake.list.push(member('x', { joinedAt: 8, startedAt: 50, liveness: 'dead' }));
  r.update();
  await r.forget('x', new Set(['self']));
  assert.ok(!r.list().some((e) => e.id === 'x'));
  r.update();
  assert.ok(!r.list().some((e) => e.id === 'x'), 'same life: stays forgotten');
  fake.list[1] = member('x', { joinedAt: 8, startedAt: Date.now() + 1000 });
  r.update();
  assert.ok(
    r.list().some((e) => e.id === 'x'),
    'a new life after the forget',
  );
});

test('roster: a damaged roster file is refused with the file named', async (t) => {
  const dir = await tempDir(t);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'meta'), { recursive: true });
  const file = join(dir, 'meta', 'cluster-roster.cbor');
  await writeFile(file, Buffer.from([0xff, 0x00, 0x13]));
  await assert.rejects(
    Roster.open(new FakeNode().node, dir),
    (e: unknown) => isGregorError(e) && e.code === 'CORRUPT_LOG' && e.message.includes(file),
  );
});

test('first-join time: recorded once, kept across restarts, damaged file named', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await firstJoinTime(dir, 1234.7), 1234);
  assert.equal(await firstJoinTime(dir, 9999), 1234);
  assert.equal((await readFile(join(dir, 'joined-at'), 'utf8')).trim(), '1234');
  await writeFile(join(dir, 'joined-at'), 'yesterday\n');
  await assert.rejects(
    firstJoinTime(dir, 1),
    (e: unknown) => isGregorError(e) && e.code === 'CORRUPT_LOG' && /joined-at: "yesterday"/.test(e.message),
  );
});

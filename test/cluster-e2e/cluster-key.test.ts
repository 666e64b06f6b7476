/**
 * Private network: brokers sharing a cluster key (one from `--cluster-key-file`, one given inline
 * as `cluster.key`) form a cluster; a broker with another key dials the same seed and is refused.
 * On 127.0.0.1 with mDNS off.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ctlNodes, Fleet, hasExactly, httpMembers, waitFor } from './broker-process.js';

function swarmKey(hex: string): string {
  return `/key/swarm/psk/1.0.0/\n/base16/\n${hex}\n`;
}

test('cluster key: same key joins, a wrong key is refused', async (t) => {
  const fleet = new Fleet(t);
  const dir = await fleet.tempDir('gregor-keys-');
  const good = randomBytes(32).toString('hex');
  const goodFile = join(dir, 'good.key');
  const badFile = join(dir, 'bad.key');
  await writeFile(goodFile, swarmKey(good), { mode: 0o600 });
  await writeFile(badFile, swarmKey(randomBytes(32).toString('hex')), { mode: 0o600 });

  const a = await fleet.start({ nodeName: 'a', args: ['--cluster-key-file', goodFile] });
  await a.ready();
  const seed = ['--seeds', `127.0.0.1:${a.clusterPort}`];
  const b = await fleet.start({ nodeName: 'b', args: [...seed, '--set', `cluster.key=${good}`] });
  const c = await fleet.start({ nodeName: 'c', args: [...seed, '--cluster-key-file', badFile] });
  await Promise.all([b.ready(), c.ready()]);

  await waitFor(
    'a and b (same key) list each other',
    async () => (await Promise.all([a, b].map(httpMembers))).every((ms) => hasExactly(ms, ['a', 'b'])),
    15_000,
  );
  // c's seed dial must have been tried and failed (pnet refuses during the handshake).
  await waitFor('c to fail dialling its seed', () => c.logged('seed dial failed').length > 0, 20_000);
  const cView = await ctlNodes(c);
  assert.deepEqual(
    cView.map((m) => m.name),
    ['c'],
  );
  for (const n of [a, b]) {
    const ms = await ctlNodes(n);
    assert.deepEqual(ms.map((m) => m.name).sort(), ['a', 'b'], `${n.opts.nodeName} lists c`);
  }
  assert.equal(a.logged('member joined').filter((l) => l.peer === c.peerId).length, 0);
});

/**
 * The broker's cluster glue without processes: configuration -> cluster node options (detector
 * overrides only when set explicitly, advertised addresses, inline key), and the metric status.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  advertisedAddresses,
  clusterNodeOptionsFromConfig,
  detectorFromConfig,
  metricStatus,
  writeInlineClusterKey,
} from '../../src/broker/cluster-membership.js';
import type { ClusterMember } from '../../src/cluster/cluster-node.js';
import { loadConfig } from '../../src/config/index.js';

test('detector: tuned preset unless a value is set explicitly', () => {
  const plain = loadConfig({ argv: ['--preset', 'local'] });
  assert.deepEqual(detectorFromConfig(plain.config, plain.origins), { preset: 'local' });
  const set = loadConfig({
    argv: ['--set', 'cluster.phiThreshold=12', '--set', 'cluster.acceptablePauseMs=3000'],
  });
  const d = detectorFromConfig(set.config, set.origins);
  assert.equal(d.preset, 'lan');
  assert.equal(d.threshold, 12);
  assert.equal(d.acceptableHeartbeatPauseMs, 3000);
  assert.ok(d.suspectThreshold! > 0 && d.suspectThreshold! < 12);
  assert.equal(d.minStdDeviationMs, undefined);
});

test('options: ports, seeds, mDNS, name, zone and advertised addresses come from the config', () => {
  const { config, origins } = loadConfig({
    argv: [
      '--node-name',
      'n7',
      '--zone',
      'az-1',
      '--cluster-name',
      'blue',
      '--cluster-port',
      '0',
      '--seeds',
      '10.0.0.1:9442,10.0.0.2',
      '--no-mdns',
      '--host',
      '127.0.0.1',
      '--advertised-host',
      'broker-7.example',
    ],
    cwd: '/srv',
  });
  const adv = advertisedAddresses(config, { client: 4000, http: 4001 });
  assert.deepEqual(adv, { client: 'broker-7.example:4000', http: 'broker-7.example:4001' });
  const o = clusterNodeOptionsFromConfig(config, adv, origins);
  assert.equal(o.nodeName, 'n7');
  assert.equal(o.zone, 'az-1');
  assert.equal(o.clusterName, 'blue');
  assert.equal(o.clusterPort, 0);
  assert.equal(o.mdns, false);
  assert.deepEqual(o.seeds, ['10.0.0.1:9442', '10.0.0.2']);
  assert.deepEqual(o.advertise, adv);
  assert.equal(o.clusterKeyFile, undefined);
  // Without an advertised host, a bound host is published as is; HTTP disabled publishes none.
  const bound = loadConfig({ argv: ['--host', '127.0.0.1'] }).config;
  assert.deepEqual(advertisedAddresses(bound, { client: 5, http: 0 }), { client: '127.0.0.1:5' });
});

test('inline cluster key: hex or swarm text becomes a 0600 key file; anything else is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-key-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const hex = 'ab'.repeat(32);
  const path = await writeInlineClusterKey(dir, hex);
  assert.equal(await readFile(path, 'utf8'), `/key/swarm/psk/1.0.0/\n/base16/\n${hex}\n`);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  await writeInlineClusterKey(dir, `/key/swarm/psk/1.0.0/\n/base16/\n${hex}`);
  assert.equal(await readFile(path, 'utf8'), `/key/swarm/psk/1.0.0/\n/base16/\n${hex}\n`);
  await assert.rejects(writeInlineClusterKey(dir, 'secret'), /cluster\.key must be/);
});

test('metric status: convicted or suspected NORMAL members are not counted as NORMAL', () => {
  const m = (status: ClusterMember['status'], liveness: ClusterMember['liveness']) =>
    ({ status, liveness }) as ClusterMember;
  assert.equal(metricStatus(m('NORMAL', 'alive')), 'NORMAL');
  assert.equal(metricStatus(m('NORMAL', 'dead')), 'DEAD');
  assert.equal(metricStatus(m('NORMAL', 'suspect')), 'SUSPECT');
  assert.equal(metricStatus(m('LEFT', 'dead')), 'LEFT');
});

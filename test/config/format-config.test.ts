import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { configHelp, envNames, formatConfig, loadConfig, MASK, maskSecrets } from '../../src/config/index.js';

const SECRET = 'psk-do-not-print-0123456789';

test('--print-config YAML: every key with its source, inline secret masked, key file path shown', () => {
  const loaded = loadConfig({
    cwd: '/base',
    argv: ['--port', '0', '--no-mdns'],
    env: { GREGOR_CLUSTER_KEY: SECRET, GREGOR_LOG_LEVEL: 'debug' },
  });
  const text = formatConfig(loaded.config, loaded.sources, { origins: loaded.origins });
  assert.ok(!text.includes(SECRET), 'secret leaked');
  assert.match(text, /^ {2}key: "\*{8}" +# env GREGOR_CLUSTER_KEY$/m);
  assert.match(text, /^ {2}port: 0 +# flag --port$/m);
  assert.match(text, /^ {2}mdns: false +# flag --no-mdns$/m);
  assert.match(text, /^ {2}level: "debug" +# env GREGOR_LOG_LEVEL$/m);
  assert.match(text, /^ {2}gossipIntervalMs: 500 +# preset lan$/m);
  assert.match(text, /^preset: "lan" +# default$/m);
  const bare = formatConfig(loaded.config, loaded.sources);
  assert.match(bare, /^ {2}port: 0 +# flag$/m);
  // The output is YAML that reads back to the masked configuration.
  assert.deepEqual(parse(text), maskSecrets(loaded.config));

  const withFile = loadConfig({ argv: ['--cluster-key-file', '/etc/gregor/psk'] });
  const shown = formatConfig(withFile.config, withFile.sources);
  assert.match(shown, /^ {2}keyFile: "\/etc\/gregor\/psk" +# flag$/m);
  assert.match(shown, /^ {2}key: "" +# default$/m, 'an unset secret is shown as empty, not masked');
});

test('--print-config=json: the masked config object, loadable as a config file', async (t) => {
  const loaded = loadConfig({ env: { GREGOR_CLUSTER_KEY: SECRET }, argv: ['--seeds', 'a:1,b:2'] });
  const text = formatConfig(loaded.config, loaded.sources, { format: 'json' });
  assert.ok(!text.includes(SECRET));
  const parsed = JSON.parse(text);
  assert.equal(parsed.cluster.key, MASK);
  assert.deepEqual(parsed.cluster.seeds, ['a:1', 'b:2']);
  assert.equal(loaded.config.cluster.key, SECRET, 'masking must not touch the live config');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'gregor-print-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  parsed.cluster.key = '';
  await writeFile(path.join(dir, 'printed.json'), JSON.stringify(parsed));
  const again = loadConfig({ cwd: dir, argv: ['--config', 'printed.json'] });
  assert.deepEqual(again.config, { ...loaded.config, cluster: { ...loaded.config.cluster, key: '' } });
});

test('--help lists every key with its env name, flag and doc', () => {
  const help = configHelp();
  const names = envNames();
  for (const [key, env] of Object.entries(names)) {
    assert.ok(help.includes(`  ${key} [`), `help misses ${key}`);
    assert.ok(help.includes(env), `help misses ${env}`);
  }
  for (const flag of ['--data-dir', '--port', '--http-port', '--cluster-port', '--node-name', '--seeds']) {
    assert.ok(help.includes(flag), `help misses ${flag}`);
  }
  for (const flag of [
    '--cluster-name',
    '--cluster-key-file',
    '--config',
    '--no-mdns',
    '--set',
    '--print-config',
  ]) {
    assert.ok(help.includes(flag), `help misses ${flag}`);
  }
});

test('every key has its own GREGOR_* name', () => {
  const byKey = envNames();
  const leaves: string[] = [];
  const walk = (node: object, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v, `${prefix}${k}.`);
      else leaves.push(prefix + k);
    }
  };
  walk(loadConfig({}).config, '');
  assert.deepEqual(Object.keys(byKey).sort(), leaves.sort(), 'every config key has an env name');
  const names = Object.values(byKey);
  assert.equal(new Set(names).size, names.length, 'env names must be unique');
  for (const n of names) assert.match(n, /^GREGOR_[A-Z0-9_]+$/);
  for (const wellKnown of [
    'GREGOR_PORT',
    'GREGOR_DATA_DIR',
    'GREGOR_NODE_NAME',
    'GREGOR_SEEDS',
    'GREGOR_MDNS',
  ]) {
    assert.ok(names.includes(wellKnown), wellKnown);
  }
  for (const wellKnown of ['GREGOR_CLUSTER_NAME', 'GREGOR_LOG_LEVEL', 'GREGOR_FSYNC', 'GREGOR_PRESET']) {
    assert.ok(names.includes(wellKnown), wellKnown);
  }
});

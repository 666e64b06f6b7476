import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, cliActions, isConfigError, loadConfig, PRESETS } from '../../src/config/index.js';
import { isGregorError } from '../../src/errors.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gregor-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs loadConfig expecting a ConfigError and returns its message (checked to be one line). */
function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(isConfigError(err));
    assert.ok(isGregorError(err));
    assert.equal(err.code, 'INVALID_CONFIG');
    assert.ok(!/[\r\n]/.test(err.message), `message must be one line: ${JSON.stringify(err.message)}`);
    assert.match(err.message, /^config error: /);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('no input gives the documented defaults, lan preset', () => {
  const { config, sources, origins, configFile } = loadConfig({ cwd: '/srv/gregor' });
  assert.equal(config.preset, 'lan');
  assert.equal(config.server.port, 9440);
  assert.equal(config.http.port, 9441);
  assert.equal(config.cluster.port, 9442);
  assert.equal(config.server.host, '0.0.0.0');
  assert.equal(config.node.dataDir, '/srv/gregor/data');
  assert.equal(config.storage.fsync, 'interval:1000');
  assert.equal(config.storage.segmentBytes, 128 * 1024 * 1024);
  assert.deepEqual(config.cluster.seeds, []);
  assert.equal(config.cluster.mdns, true);
  assert.equal(config.log.pretty, 'auto');
  assert.ok(config.node.name.length > 0);
  assert.equal(sources['server.port'], 'default');
  assert.equal(sources['cluster.gossipIntervalMs'], 'preset');
  assert.equal(origins['cluster.gossipIntervalMs'], 'preset lan');
  assert.equal(configFile, undefined);
});

test('precedence: defaults < preset < file < env < flags, per key', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    path.join(dir, 'gregor.yaml'),
    [
      'preset: wan',
      'server:',
      '  port: 1001',
      'http:',
      '  port: 2001',
      'cluster:',
      '  port: 3001',
      '  gossipIntervalMs: 750',
      'node:',
      '  zone: file-zone',
      '',
    ].join('\n'),
  );
  const { config, sources, origins } = loadConfig({
    cwd: dir,
    argv: ['--config', 'gregor.yaml', '--cluster-port', '3003'],
    env: { GREGOR_HTTP_PORT: '2002', GREGOR_CLUSTER_PORT: '3002', PATH: '/usr/bin' },
  });
  assert.equal(config.server.port, 1001);
  assert.equal(sources['server.port'], 'file');
  assert.equal(origins['server.port'], 'file gregor.yaml line 3');
  assert.equal(config.http.port, 2002);
  assert.equal(sources['http.port'], 'env');
  assert.equal(origins['http.port'], 'env GREGOR_HTTP_PORT');
  assert.equal(config.cluster.port, 3003);
  assert.equal(sources['cluster.port'], 'flag');
  assert.equal(origins['cluster.port'], 'flag --cluster-port');
  assert.equal(config.node.zone, 'file-zone');
  // The file's preset applies below the file's own values.
  assert.equal(config.preset, 'wan');
  assert.equal(config.cluster.gossipIntervalMs, 750);
  assert.equal(sources['cluster.gossipIntervalMs'], 'file');
  assert.equal(config.cluster.phiThreshold, PRESETS.wan['cluster.phiThreshold']);
  assert.equal(sources['cluster.phiThreshold'], 'preset');
  assert.equal(config.storage.segmentMs, 7 * 86_400_000);
  assert.equal(sources['storage.segmentMs'], 'default');
});

test('the highest source that names a preset chooses it', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'c.json'), JSON.stringify({ preset: 'wan' }));
  const fromEnv = loadConfig({ cwd: dir, argv: ['--config', 'c.json'], env: { GREGOR_PRESET: 'local' } });
  assert.equal(fromEnv.config.preset, 'local');
  assert.equal(fromEnv.sources.preset, 'env');
  assert.equal(fromEnv.config.cluster.mdns, false);
  const fromFlag = loadConfig({
    cwd: dir,
    argv: ['--config', 'c.json', '--preset', 'lan'],
    env: { GREGOR_PRESET: 'local' },
  });
  assert.equal(fromFlag.config.preset, 'lan');
  assert.equal(fromFlag.config.cluster.gossipIntervalMs, 500);
});

test('presets: local shortens timers and turns mDNS off, wan lengthens them', () => {
  const local = loadConfig({ argv: ['--preset', 'local'] }).config;
  const lan = loadConfig({}).config;
  const wan = loadConfig({ env: { GREGOR_PRESET: 'WAN' } }).config;
  assert.equal(local.cluster.mdns, false);
  assert.equal(lan.cluster.mdns, true);
  assert.ok(local.cluster.gossipIntervalMs < lan.cluster.gossipIntervalMs);
  assert.ok(lan.cluster.gossipIntervalMs < wan.cluster.gossipIntervalMs);
  assert.ok(local.groups.sessionTimeoutMs < lan.groups.sessionTimeoutMs);
  assert.ok(lan.groups.sessionTimeoutMs < wan.groups.sessionTimeoutMs);
  assert.ok(local.cluster.acceptablePauseMs < lan.cluster.acceptablePauseMs);
  assert.ok(wan.cluster.phiThreshold > lan.cluster.phiThreshold);
  // An explicit value still beats the preset.
  assert.equal(loadConfig({ argv: ['--preset', 'local', '--mdns'] }).config.cluster.mdns, true);
  for (const [name, values] of Object.entries(PRESETS)) {
    const loaded = loadConfig({ argv: ['--preset', name] });
    for (const [key, value] of Object.entries(values)) {
      const [section, leaf] = key.split('.') as [string, string];
      assert.equal(
        (loaded.config as unknown as Record<string, Record<string, unknown>>)[section]![leaf],
        value,
      );
    }
  }
});

test('env names: short well-known ones, lists, booleans, sizes and durations', () => {
  const { config, sources } = loadConfig({
    cwd: '/base',
    env: {
      GREGOR_PORT: '0',
      GREGOR_DATA_DIR: 'store',
      GREGOR_NODE_NAME: 'node-a',
      GREGOR_SEEDS: 'gregor-0.gregor:9442, 10.1.2.3:9442,gregor-headless',
      GREGOR_MDNS: 'false',
      GREGOR_CLUSTER_NAME: 'prod',
      GREGOR_LOG_LEVEL: 'debug',
      GREGOR_FSYNC: 'always',
      GREGOR_STORAGE_SEGMENT_BYTES: '64MiB',
      GREGOR_GROUPS_ACK_WAIT_MS: '45s',
      GREGOR_TOPICS_DEFAULT_RETENTION_MS: '-1',
      GREGOR_BROKER: '127.0.0.1:9440',
      GREGOR_TEST_SOMETHING: 'x',
    },
  });
  assert.equal(config.server.port, 0);
  assert.equal(config.node.dataDir, '/base/store');
  assert.equal(config.node.name, 'node-a');
  assert.deepEqual(config.cluster.seeds, ['gregor-0.gregor:9442', '10.1.2.3:9442', 'gregor-headless']);
  assert.equal(config.cluster.mdns, false);
  assert.equal(config.cluster.name, 'prod');
  assert.equal(config.log.level, 'debug');
  assert.equal(config.storage.fsync, 'always');
  assert.equal(config.storage.segmentBytes, 64 * 1024 * 1024);
  assert.equal(config.groups.ackWaitMs, 45_000);
  assert.equal(config.topics.defaultRetentionMs, -1);
  assert.equal(sources['cluster.seeds'], 'env');
});

test('flags: named, --key=value, --no-*, repeated lists, --set for any key', () => {
  const { config, sources, origins } = loadConfig({
    cwd: '/base',
    argv: [
      '--data-dir=/var/lib/gregor',
      '--port',
      '0',
      '--http-port',
      '0',
      '--cluster-port=0',
      '--node-name',
      'n1',
      '--seeds',
      'a:9442,b:9442',
      '--seeds',
      '[::1]:9442',
      '--cluster-name',
      'c1',
      '--cluster-key-file',
      'secrets/psk',
      '--no-mdns',
      '--zone',
      'z1',
      '--log-level',
      'warn',
      '--fsync',
      'interval:200',
      '--host',
      '127.0.0.1',
      '--set',
      'storage.maxBatchBytes=1MiB',
      '--set',
      'topics.autoCreate=false',
      '--print-config',
      '--help',
    ],
  });
  assert.equal(config.node.dataDir, '/var/lib/gregor');
  assert.equal(config.server.port, 0);
  assert.equal(config.http.port, 0);
  assert.equal(config.cluster.port, 0);
  assert.equal(config.node.name, 'n1');
  assert.deepEqual(config.cluster.seeds, ['a:9442', 'b:9442', '[::1]:9442']);
  assert.equal(config.cluster.name, 'c1');
  assert.equal(config.cluster.keyFile, '/base/secrets/psk');
  assert.equal(config.cluster.mdns, false);
  assert.equal(origins['cluster.mdns'], 'flag --no-mdns');
  assert.equal(config.node.zone, 'z1');
  assert.equal(config.log.level, 'warn');
  assert.equal(config.storage.fsync, 'interval:200');
  assert.equal(config.server.host, '127.0.0.1');
  assert.equal(config.storage.maxBatchBytes, 1024 * 1024);
  assert.equal(config.topics.autoCreate, false);
  assert.equal(sources['storage.maxBatchBytes'], 'flag');
  assert.equal(origins['storage.maxBatchBytes'], 'flag --set storage.maxBatchBytes');
  assert.equal(loadConfig({ argv: ['--mdns=false'] }).config.cluster.mdns, false);
  assert.equal(loadConfig({ argv: ['--port', '1', '--port', '2'] }).config.server.port, 2);
});

test('cliActions finds help, version and print-config without validating', () => {
  assert.deepEqual(cliActions(['--port', 'nonsense', '--help']), {
    help: true,
    version: false,
    printConfig: false,
  });
  assert.deepEqual(cliActions(['-h']).help, true);
  assert.equal(cliActions(['--print-config']).printConfig, 'yaml');
  assert.equal(cliActions(['--print-config=json']).printConfig, 'json');
  assert.equal(cliActions(['--version']).version, true);
});

test('file: JSON and YAML, nested sections and dotted keys, sizes as text', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    path.join(dir, 'g.json'),
    JSON.stringify({
      server: { port: 7000 },
      'storage.segmentBytes': '1GiB',
      cluster: { seeds: ['x:1', 'y'] },
    }),
  );
  const json = loadConfig({ cwd: dir, argv: ['--config', 'g.json'] }).config;
  assert.equal(json.server.port, 7000);
  assert.equal(json.storage.segmentBytes, 1024 ** 3);
  assert.deepEqual(json.cluster.seeds, ['x:1', 'y']);
  await writeFile(
    path.join(dir, 'g.yml'),
    'log:\n  level: trace\n  pretty: false\nstorage: {segmentMs: 1h}\n',
  );
  const yaml = loadConfig({ cwd: dir, env: { GREGOR_CONFIG: path.join(dir, 'g.yml') } });
  assert.equal(yaml.config.log.level, 'trace');
  assert.equal(yaml.config.log.pretty, false);
  assert.equal(yaml.config.storage.segmentMs, 3_600_000);
  assert.equal(yaml.configFile, path.join(dir, 'g.yml'));
  await writeFile(path.join(dir, 'empty.yaml'), '# nothing here\n');
  assert.equal(loadConfig({ cwd: dir, argv: ['--config', 'empty.yaml'] }).config.server.port, 9440);
});

test('errors: file unknown key, bad value, bad section, bad YAML and JSON with position', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'gregor.yaml'), 'server:\n  host: 0.0.0.0\n  prot: 9440\n');
  assert.equal(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', './gregor.yaml'] })),
    'config error: unknown key "server.prot" in file ./gregor.yaml line 3 (did you mean server.port?)',
  );
  await writeFile(path.join(dir, 'bad-value.yaml'), 'server:\n  port: abc\n');
  assert.equal(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'bad-value.yaml'] })),
    'config error: server.port = "abc" from file bad-value.yaml line 2: must be a port number 0-65535',
  );
  await writeFile(path.join(dir, 'bad-size.yaml'), 'storage:\n  segmentBytes: 12 parsecs\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'bad-size.yaml'] })),
    /^config error: storage\.segmentBytes = "12 parsecs" from file bad-size\.yaml line 2: must be a size in bytes/,
  );
  await writeFile(path.join(dir, 'section.yaml'), 'server: 9440\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'section.yaml'] })),
    /^config error: server = 9440 from file section\.yaml line 1: must be a section with keys host, port/,
  );
  await writeFile(path.join(dir, 'broken.yaml'), 'server:\n  port: 9440\n  host: [a,\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'broken.yaml'] })),
    /^config error: cannot parse file broken\.yaml line \d+, column \d+: /,
  );
  await writeFile(path.join(dir, 'dup.yaml'), 'server:\n  port: 1\n  port: 2\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'dup.yaml'] })),
    /^config error: cannot parse file dup\.yaml line 3, column 3: .*unique/,
  );
  await writeFile(path.join(dir, 'broken.json'), '{\n  "server": {"port": 1,}\n}\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'broken.json'] })),
    /^config error: cannot parse file broken\.json line 2, column \d+: /,
  );
  await writeFile(path.join(dir, 'list.yaml'), '- a\n- b\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'list.yaml'] })),
    /^config error: file list\.yaml must hold a mapping/,
  );
  assert.equal(
    configErrorOf(() => loadConfig({ cwd: dir, argv: ['--config', 'missing.yaml'] })),
    'config error: cannot read config file missing.yaml (from flag --config): no such file',
  );
  await writeFile(path.join(dir, 'gregor.toml'), 'x = 1\n');
  assert.match(
    configErrorOf(() => loadConfig({ cwd: dir, env: { GREGOR_CONFIG: 'gregor.toml' } })),
    /^config error: config file gregor\.toml \(from env GREGOR_CONFIG\) must end in \.yaml, \.yml or \.json$/,
  );
});

test('errors: env bad value, unknown GREGOR_* variable', () => {
  assert.equal(
    configErrorOf(() => loadConfig({ env: { GREGOR_PORT: 'abc' } })),
    'config error: server.port = "abc" from env GREGOR_PORT: must be a port number 0-65535',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ env: { GREGOR_MDNS: 'nope' } })),
    'config error: cluster.mdns = "nope" from env GREGOR_MDNS: must be true or false',
  );
  assert.match(
    configErrorOf(() => loadConfig({ env: { GREGOR_FSYNC: 'sometimes' } })),
    /^config error: storage\.fsync = "sometimes" from env GREGOR_FSYNC: must be always, interval:<ms> \(ms > 0\) or os$/,
  );
  assert.equal(
    configErrorOf(() => loadConfig({ env: { GREGOR_SEEDS: 'a:1,b:99999' } })),
    'config error: cluster.seeds = "a:1,b:99999" from env GREGOR_SEEDS: must be a list of host:port or DNS names, e.g. "10.0.0.5:9442,gregor-headless:9442"; "b:99999" is not',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ env: { GREGOR_LOG_LEVL: 'debug' } })),
    'config error: unknown environment variable GREGOR_LOG_LEVL (did you mean GREGOR_LOG_LEVEL?)',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ env: { GREGOR_SERVER_PORT: '1' } })),
    'config error: unknown environment variable GREGOR_SERVER_PORT (server.port is set with GREGOR_PORT)',
  );
});

test('errors: flag bad value, unknown flag, missing value, --set mistakes, positional', () => {
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--port', '70000'] })),
    'config error: server.port = "70000" from flag --port: must be a port number 0-65535',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--prot', '1'] })),
    'config error: unknown flag --prot (did you mean --port?); see --help',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['-p', '1'] })),
    'config error: unknown flag -p; see --help',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--data-dir'] })),
    'config error: flag --data-dir (node.dataDir) needs a value',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--set', 'storage.segmentByte=1'] })),
    'config error: unknown key "storage.segmentByte" in flag --set (did you mean storage.segmentBytes?)',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--set', 'storage.segmentBytes'] })),
    'config error: flag --set needs key=value, got "storage.segmentBytes"',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--set', 'groups.maxDeliveries=0'] })),
    'config error: groups.maxDeliveries = "0" from flag --set groups.maxDeliveries: must be a whole number >= 1, or -1 / "unlimited" for no limit',
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--no-mdns=1'] })),
    'config error: flag --no-mdns takes no value',
  );
  assert.match(
    configErrorOf(() => loadConfig({ argv: ['start'] })),
    /^config error: unexpected argument "start"/,
  );
});

test('errors: relations between keys name both keys and their sources', () => {
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--set', 'groups.heartbeatIntervalMs=1m'] })),
    'config error: groups.heartbeatIntervalMs = 60000 (flag --set groups.heartbeatIntervalMs) must be less than groups.sessionTimeoutMs = 45000 (preset lan)',
  );
  assert.match(
    configErrorOf(() => loadConfig({ env: { GREGOR_STORAGE_MAX_BATCH_BYTES: '32MiB' } })),
    /^config error: storage\.maxBatchBytes = 33554432 \(env GREGOR_STORAGE_MAX_BATCH_BYTES\) must be less than server\.maxFrameBytes = 17825792 \(default\)/,
  );
  assert.equal(
    configErrorOf(() => loadConfig({ argv: ['--http-port', '9440'] })),
    'config error: http.port = 9440 (flag --http-port) is the same port as server.port = 9440 (default)',
  );
  assert.match(
    configErrorOf(() =>
      loadConfig({ argv: ['--cluster-key-file', '/k'], env: { GREGOR_CLUSTER_KEY: 's3cret' } }),
    ),
    /^config error: cluster\.key \(env GREGOR_CLUSTER_KEY\) and cluster\.keyFile = "\/k" \(flag --cluster-key-file\) are both set; set one$/,
  );
  // Port 0 may repeat: each listener picks its own free port.
  assert.equal(
    loadConfig({ argv: ['--port', '0', '--http-port', '0', '--cluster-port', '0'] }).config.http.port,
    0,
  );
});

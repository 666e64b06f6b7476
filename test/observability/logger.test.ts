import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogLevel } from '../../src/config/index.js';
import { componentLogger, createLogger, getLogLevels, setLogLevel } from '../../src/observability/logger.js';

/** A destination that keeps every line pino writes to it. */
function sink(): { write(chunk: string): void; lines: string[]; json(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  return {
    lines,
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') lines.push(line);
    },
    json() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

function config(level: LogLevel, pretty: 'auto' | boolean = 'auto') {
  return { log: { level, pretty }, node: { name: 'node-a' } };
}

test('JSON lines by default with level, time, node and component', () => {
  const out = sink();
  const root = createLogger(config('info'), { destination: out, isTTY: false });
  const storage = componentLogger(root, 'storage');
  storage.info({ topic: 'orders' }, 'segment rolled');
  root.debug('hidden');
  const [line, ...rest] = out.json();
  assert.equal(rest.length, 0, 'debug is below info');
  assert.equal(line?.msg, 'segment rolled');
  assert.equal(line?.level, 30);
  assert.equal(line?.node, 'node-a');
  assert.equal(line?.component, 'storage');
  assert.equal(line?.topic, 'orders');
  assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/);
});

test('setLogLevel changes the root and every child, including children with their own level', () => {
  const out = sink();
  const root = createLogger(config('info'), { destination: out, isTTY: false });
  const server = root.child({ component: 'server' });
  const request = server.child({ reqId: 7 });
  const pinned = root.child({ component: 'cluster' }, { level: 'error' });
  const lone = root.child({ reqId: 8 }, { level: 'fatal' });
  setLogLevel(root, 'debug');
  server.debug('a');
  request.debug('b');
  pinned.debug('c');
  lone.debug('d');
  assert.deepEqual(
    out.json().map((l) => l.msg),
    ['a', 'b', 'c', 'd'],
  );
  assert.equal(out.json()[1]?.reqId, 7);
  setLogLevel(request, 'warn');
  server.info('dropped');
  pinned.info('dropped');
  root.info('dropped');
  lone.info('dropped');
  assert.equal(out.lines.length, 4);
  assert.deepEqual(getLogLevels(root), { level: 'warn', components: {} });
});

test('setLogLevel for one component leaves the others, applies to later children, resets on a global change', () => {
  const out = sink();
  const root = createLogger(config('info'), { destination: out, isTTY: false });
  const storage = root.child({ component: 'storage' });
  const segment = storage.child({ segment: 0 });
  const server = root.child({ component: 'server' });
  setLogLevel(root, 'debug', 'storage');
  storage.debug('storage-debug');
  segment.debug('segment-debug');
  server.debug('server-debug-dropped');
  const later = root.child({ component: 'storage' });
  later.debug('later-debug');
  assert.deepEqual(
    out.json().map((l) => l.msg),
    ['storage-debug', 'segment-debug', 'later-debug'],
  );
  assert.deepEqual(getLogLevels(root), { level: 'info', components: { storage: 'debug' } });
  setLogLevel(root, 'info');
  storage.debug('dropped');
  later.debug('dropped');
  assert.equal(out.lines.length, 3);
  assert.deepEqual(getLogLevels(server), { level: 'info', components: {} });
  assert.throws(() => setLogLevel(root, 'loud' as LogLevel), /unknown log level "loud"/);
});

test('pretty output when asked, or on a terminal with pretty=auto', () => {
  for (const [pretty, isTTY] of [
    [true, false],
    ['auto', true],
  ] as const) {
    const out = sink();
    const root = createLogger(config('info', pretty), { destination: out, isTTY });
    root.child({ component: 'http' }).info('listening');
    assert.equal(out.lines.length, 1, `pretty=${pretty} tty=${isTTY}`);
    const line = out.lines[0]!;
    assert.throws(() => JSON.parse(line), SyntaxError, 'pretty output is not JSON');
    assert.match(line, /INFO/);
    assert.match(line, /\[http\] listening/);
  }
  const out = sink();
  createLogger(config('info', 'auto'), { destination: out, isTTY: false }).info('plain');
  assert.equal(out.json()[0]?.msg, 'plain', 'auto without a terminal is JSON');
});

test('an inline cluster key in a logged config is redacted', () => {
  const out = sink();
  const root = createLogger(config('info'), { destination: out, isTTY: false });
  root.info({ cluster: { key: 'psk-secret', keyFile: '/etc/psk' } }, 'config');
  assert.ok(!out.lines[0]!.includes('psk-secret'));
  const logged = out.json()[0]!.cluster as Record<string, string>;
  assert.equal(logged.keyFile, '/etc/psk');
  assert.equal(logged.key, '********');
});

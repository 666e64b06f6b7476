/**
 * What an operator sees when something is wrong: /health/ready saying why, /v1 errors with the
 * wire protocol's code table, and a bad setting in each config source refused by the real binary
 * with one line naming the key and where it came from.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ERRORS } from '../../src/errors.js';
import { registerAdminRoutes } from '../../src/http/admin-routes.js';
import { startTestBroker } from '../helpers/broker.js';
import { cleanEnv, GREGORMQ, httpGet, runNode, startBrokerProcess } from './broker-process.js';

async function request(port: number, method: string, urlPath: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('/health/ready answers 503 with the failing check and its reason, then 200', async (t) => {
  const broker = await startTestBroker(t);
  const live = await request(broker.httpPort, 'GET', '/health/live');
  assert.equal(live.status, 200);
  assert.equal(live.body.status, 'live');

  broker.setReadyCheck('cluster', false, 'joining: no seed answered yet');
  const notReady = await request(broker.httpPort, 'GET', '/health/ready');
  assert.equal(notReady.status, 503);
  assert.equal(notReady.body.status, 'not ready');
  assert.deepEqual((notReady.body.checks as Record<string, unknown>).cluster, {
    ok: false,
    detail: 'joining: no seed answered yet',
  });
  assert.deepEqual((notReady.body.checks as Record<string, unknown>).storage, { ok: true });

  broker.setReadyCheck('cluster', true);
  const ready = await request(broker.httpPort, 'GET', '/health/ready');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
});

test('/v1 errors carry code, wire number and retriable from the one error table', async (t) => {
  const broker = await startTestBroker(t);
  registerAdminRoutes(broker);
  const port = broker.httpPort;
  const cases: Array<[string, string, unknown, number, keyof typeof ERRORS, RegExp]> = [
    ['GET', '/v1/topics/no-such-topic', undefined, 404, 'UNKNOWN_TOPIC', /no-such-topic/],
    ['POST', '/v1/topics', { partitions: 2 }, 400, 'INVALID_ARGUMENT', /"name"/],
    ['POST', '/v1/topics', { name: 'x', partitions: 'two' }, 400, 'INVALID_ARGUMENT', /"partitions"/],
    ['PUT', '/v1/log-level', { level: 'loud' }, 400, 'INVALID_ARGUMENT', /"level".*"loud"/],
    [
      'GET',
      '/v1/nothing-here',
      undefined,
      404,
      'INVALID_ARGUMENT',
      /no such endpoint: GET \/v1\/nothing-here/,
    ],
    ['PATCH', '/v1/topics', undefined, 405, 'INVALID_ARGUMENT', /method PATCH/],
    ['GET', '/v1/config', undefined, 400, 'INVALID_ARGUMENT', /without a configuration/],
  ];
  for (const [method, url, body, status, code, message] of cases) {
    const res = await request(port, method, url, body);
    const where = `${method} ${url}`;
    assert.equal(res.status, status, where);
    const err = res.body.error as { code: string; wire: number; retriable: boolean; message: string };
    assert.equal(err.code, code, where);
    assert.equal(err.wire, ERRORS[code].wire, where);
    assert.equal(err.retriable, ERRORS[code].retriable, where);
    assert.match(err.message, message, where);
  }
  const created = await request(port, 'POST', '/v1/topics', { name: 'dup', partitions: 1 });
  assert.equal(created.status, 201);
  const dup = await request(port, 'POST', '/v1/topics', { name: 'dup' });
  assert.equal(dup.status, 409);
  assert.equal((dup.body.error as { wire: number }).wire, ERRORS.TOPIC_EXISTS.wire);
});

test('the real binary: ready after start, readiness JSON lists its checks', async (t) => {
  const b = await startBrokerProcess(t);
  const ready = await httpGet(b, '/health/ready');
  assert.equal(ready.status, 200);
  const body = JSON.parse(ready.text) as { status: string; checks: Record<string, { ok: boolean }> };
  assert.equal(body.status, 'ready');
  assert.equal(body.checks.storage?.ok, true);
  assert.equal(body.checks.cluster?.ok, true, 'the cluster layer reports through the same checks');
});

test('a bad setting in each source stops the real binary: exit 2, one stderr line naming key and source', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gregor-ops-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'gregormq.yaml');
  await writeFile(file, 'server:\n  port: 9440\nnode:\n  nmae: typo\n');
  const base = ['--data-dir', path.join(dir, 'data'), '--cluster-port', '0', '--http-port', '0'];
  const cases: Array<{ what: string; args: string[]; env?: Record<string, string>; line: RegExp }> = [
    {
      what: 'env',
      args: base,
      env: { GREGOR_PORT: 'abc' },
      line: /^gregormq: config error: server\.port = "abc" from env GREGOR_PORT: must be a port number/,
    },
    {
      what: 'flag',
      args: [...base, '--port', '70000'],
      line: /^gregormq: config error: server\.port = "70000" from flag --port: must be a port number/,
    },
    {
      what: 'file',
      args: [...base, '--config', file],
      line: new RegExp(
        `^gregormq: config error: unknown key "node\\.nmae" in file ${file.replace(/[.]/g, '\\.')} line 4`,
      ),
    },
    {
      what: 'unknown env variable',
      args: base,
      env: { GREGOR_PROT: '1' },
      line: /^gregormq: config error: unknown environment variable GREGOR_PROT/,
    },
    {
      what: 'unknown flag',
      args: [...base, '--prot', '1'],
      line: /^gregormq: config error: unknown flag --prot/,
    },
  ];
  for (const c of cases) {
    const run = await runNode(GREGORMQ, c.args, { env: cleanEnv(c.env), timeoutMs: 30_000 });
    assert.equal(run.code, 2, `${c.what}: exit code; stderr ${run.stderr}`);
    const lines = run.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${c.what}: one line, got:\n${run.stderr}`);
    assert.match(lines[0]!, c.line, c.what);
    assert.equal(run.stdout, '', `${c.what}: nothing started, nothing logged`);
  }
});

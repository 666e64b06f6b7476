/**
 * The chart's zone init container script (charts/gregormq/files/zone-from-node.cjs) against a
 * stand-in API server on 127.0.0.1 with a throwaway certificate, as it would run in a pod.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findRepoRoot } from './static-checks.js';

const SCRIPT = join(findRepoRoot(import.meta.url), 'charts', 'gregormq', 'files', 'zone-from-node.cjs');
const TOKEN = 'test-token';
const NODES: Record<string, Record<string, string>> = {
  'node-a': { 'topology.kubernetes.io/zone': 'eu-1b', 'kubernetes.io/hostname': 'node-a' },
  'node-b': { 'kubernetes.io/hostname': 'node-b' },
};

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let dir = '';
let server: Server | undefined;
let port = 0;
const skip = haveOpenssl() ? false : 'openssl is not installed (needed to make a test certificate)';

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'gregor-zone-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'ca.crt'),
    ],
    { stdio: 'ignore' },
  );
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  const srv = createServer(
    { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'ca.crt')) },
    (req, res) => {
      const name = /^\/api\/v1\/nodes\/([^/]+)$/.exec(req.url ?? '')?.[1];
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end('{"reason":"Unauthorized"}');
      } else if (!name || !NODES[name]) {
        res.writeHead(404).end('{"reason":"NotFound"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Node', metadata: { name, labels: NODES[name] } }));
      }
    },
  );
  server = srv;
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  port = (srv.address() as AddressInfo).port;
});

after(async () => {
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the script as the init container would; resolves with its exit code and output. */
function runScript(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SCRIPT],
      {
        timeout: 20_000,
        env: {
          PATH: process.env.PATH ?? '',
          SA_DIR: dir,
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: String(port),
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test('writes the zone label of the pod node', { skip }, async () => {
  const out = join(dir, 'zone-a');
  const r = await runScript({ NODE_NAME: 'node-a', ZONE_FILE: out });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(out, 'utf8'), 'eu-1b');
});

test('honours another label name', { skip }, async () => {
  const out = join(dir, 'zone-host');
  const r = await runScript({ NODE_NAME: 'node-a', ZONE_FILE: out, ZONE_LABEL: 'kubernetes.io/hostname' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(out, 'utf8'), 'node-a');
});

test('a node without the label gives an empty zone, not a failure', { skip }, async () => {
  const out = join(dir, 'zone-b');
  const r = await runScript({ NODE_NAME: 'node-b', ZONE_FILE: out });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(out, 'utf8'), '');
});

test('an API error fails the init container and names the node and status', { skip }, async () => {
  const r = await runScript({ NODE_NAME: 'node-x', ZONE_FILE: join(dir, 'zone-x') });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /node-x: HTTP 404/);
});

test('a missing NODE_NAME is refused with the reason', { skip }, async () => {
  const r = await runScript({ ZONE_FILE: join(dir, 'zone-none') });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /NODE_NAME is not set/);
});

/**
 * mDNS discovery with no seeds, in a network namespace this test creates (mDNS must never
 * multicast off the machine): three nodes of one cluster find each other within 5 s of the last
 * one starting, a node of another cluster in the same namespace stays apart, and SIGTERM makes a
 * node leave (LEFT) rather than be convicted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'cluster-node-child.js');

interface ChildMember {
  id: string;
  name: string;
  status: string;
  liveness: string;
}

interface Child {
  proc: ChildProcess;
  id?: string;
  startedAt?: number;
  members: ChildMember[];
  left: boolean;
  exited: boolean;
}

function spawnChild(netns: string, config: object): Child {
  const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { proc, members: [], left: false, exited: false };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let msg: { type: string; id?: string; members?: ChildMember[] };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.type === 'started') {
      child.id = msg.id;
      child.startedAt = Date.now();
    } else if (msg.type === 'members') child.members = msg.members ?? [];
    else if (msg.type === 'left') child.left = true;
  });
  proc.stderr!.on('data', () => {});
  proc.on('exit', () => {
    child.exited = true;
  });
  return child;
}

async function waitFor(what: string, cond: () => boolean, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('mDNS: three nodes with no seeds find each other in a private network namespace', async (t) => {
  const netns = `gregor-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', netns]);
  const children: Child[] = [];
  const dirs: string[] = [];
  t.after(async () => {
    for (const c of children) if (!c.exited) c.proc.kill('SIGKILL');
    await Promise.all(
      children.map((c) => (c.exited ? undefined : new Promise((r) => c.proc.once('exit', r)))),
    );
    execFileSync('ip', ['netns', 'delete', netns]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  execFileSync('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['netns', 'exec', netns, 'ip', 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);

  const mk = async (name: string, clusterName: string) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gregor-mdns-'));
    dirs.push(dataDir);
    const c = spawnChild(netns, { dataDir, nodeName: name, clusterName, mdns: true, host: '0.0.0.0' });
    children.push(c);
    return c;
  };
  const nodes = [await mk('a', 'blue'), await mk('b', 'blue'), await mk('c', 'blue')];
  const other = await mk('x', 'green');
  await waitFor('all four processes started', () => children.every((c) => c.startedAt !== undefined), 30_000);
  const lastStart = Math.max(...nodes.map((c) => c.startedAt!));
  await waitFor(
    'each blue node lists three members',
    () => nodes.every((c) => c.members.length === 3),
    15_000,
  );
  const tookMs = Date.now() - lastStart;
  assert.ok(tookMs < 5000, `mDNS discovery took ${tookMs} ms after the last start`);
  for (const c of nodes) assert.deepEqual(c.members.map((m) => m.name).sort(), ['a', 'b', 'c']);

  // The green cluster shares the LAN but never appears in blue's list, nor blue in green's.
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(
    other.members.map((m) => m.name),
    ['x'],
  );
  for (const c of nodes) assert.ok(!c.members.some((m) => m.id === other.id));

  // SIGTERM: graceful leave, seen as LEFT by the others.
  const [a, b, c] = nodes as [Child, Child, Child];
  c.proc.kill('SIGTERM');
  await waitFor('c reports it left', () => c.left, 10_000);
  await waitFor(
    'a and b see c LEFT',
    () => [a, b].every((n) => n.members.find((m) => m.id === c.id)?.status === 'LEFT'),
    10_000,
  );
});

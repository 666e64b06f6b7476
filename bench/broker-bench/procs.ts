import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerChild, envWithoutGregor, localBrokerArgs } from '../../test/helpers/broker-child.js';
import type { LoadResult } from './stats.js';

/** A server process the bench started; `stop()` kills it and removes its directory. */
export interface ServerProc {
  name: string;
  proc: ChildProcess;
  port: number;
  dir: string;
  /** ms from spawn until a TCP connect to `port` succeeded. */
  startMs: number;
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Reads VmRSS of a process, bytes (0 when it is gone). */
export function rssOf(pid: number | undefined): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A port that was free a moment ago (for servers that cannot report a port-0 bind). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** True when `cmd` is on PATH. */
export function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

async function waitForPort(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function stopper(proc: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
}

/** Starts `gregormq` on free ports; cold start = spawn until its client port accepts a connection. */
export async function startGregor(extra: string[] = []): Promise<ServerProc> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-bench-'));
  const t0 = performance.now();
  const b = new BrokerChild({
    args: [...localBrokerArgs(dir), '--log-pretty', 'false', ...extra],
    keepLines: false,
    stderr: 'inherit',
  });
  await b.listening(10_000);
  await waitForPort(b.port, b.proc, 10_000);
  const startMs = performance.now() - t0;
  return {
    name: 'gregormq',
    proc: b.proc,
    port: b.port,
    dir,
    startMs,
    rssBytes: () => rssOf(b.proc.pid),
    async stop() {
      await b.stop('SIGTERM', 3000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns a peer server that takes a port and a data dir; cold start = spawn until its port accepts. */
async function startPeer(
  name: string,
  cmd: string,
  args: (port: number, dir: string) => string[],
): Promise<ServerProc> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-bench-`));
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(cmd, args(port, dir), { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitForPort(port, proc, 10_000);
  const startMs = performance.now() - t0;
  return { name, proc, port, dir, startMs, rssBytes: () => rssOf(proc.pid), stop: stopper(proc, dir) };
}

/** Starts `nats-server -js` with its store in a temp dir (JetStream's default: fsync every 2 min). */
export function startNats(): Promise<ServerProc> {
  return startPeer('nats', 'nats-server', (port, dir) => [
    '-js',
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-sd',
    dir,
  ]);
}

/** Starts `redis-server` with AOF on and fsync every second, no RDB snapshots. */
export function startRedis(): Promise<ServerProc> {
  return startPeer('redis', 'redis-server', (port, dir) => [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no'],
  ]);
}

/** The load generator's input. */
export interface LoadSpec {
  system: 'gregormq' | 'nats' | 'redis';
  /** sdk: one send() per message; batch: the SDK's sendBatch() (GregorMQ only); std/raw: peers' clients. */
  client: 'sdk' | 'batch' | 'std' | 'raw';
  scenario: 'produce' | 'consume' | 'latency';
  port: number;
  /** Topic / stream / subject. */
  target: string;
  size: number;
  /** Measured window, ms (produce, latency). */
  durationMs: number;
  /** Paced messages per second (latency). */
  rate?: number;
  /** Messages to read (consume). */
  count?: number;
}

/** Runs one load generator in its own process and returns what it measured. */
export async function runLoad(spec: LoadSpec, timeoutMs = 120_000): Promise<LoadResult> {
  const proc = spawn(
    process.execPath,
    [fileURLToPath(new URL('./load.js', import.meta.url)), JSON.stringify(spec)],
    {
      env: envWithoutGregor(),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  clearTimeout(t);
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`load ${JSON.stringify(spec)} exited with ${code}: ${last}`);
  return JSON.parse(last) as LoadResult;
}

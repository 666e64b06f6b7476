/**
 * Start-up and footprint of the broker binary with the cluster layer (issue 6 targets: the client
 * port accepts a TCP connection within 300 ms of process start; an idle node that has joined the
 * cluster stays under 110 MB RSS), next to a plain `node -e` net server as this machine's floor.
 *
 *   npm run bench:startup                 (GREGOR_BENCH_RUNS=N, default 10)
 *
 * It measures both the tsc output (dist/cli/gregormq.js) and the esbuild bundle that package.json's
 * bin runs (dist/bundle/, rebuilt here by cli/bundle.ts). GREGOR_BENCH_BUNDLE=0 skips the bundle.
 *
 * Each run spawns a fresh process on a fresh data dir and polls the client port with TCP connects
 * every 2 ms; "port open" is spawn -> first accepted connection. "joined" is spawn -> /health/ready
 * 200 (the cluster check passes once the node is NORMAL: alone, after the 2 s join timeout).
 * RSS is read from /proc/<pid>/status 2 s after joining, with mDNS off and no peers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bundleBinaries } from '../cli/bundle.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BROKER = join(HERE, '..', 'cli', 'gregormq.js');
const RUNS = Number(process.env.GREGOR_BENCH_RUNS ?? 10);
const WITH_BUNDLE = process.env.GREGOR_BENCH_BUNDLE !== '0';
interface Sample {
  portOpenMs: number;
  joinedMs?: number;
  rssMB: number;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function waitPort(port: number, child: ChildProcess, t0: number): Promise<number> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    if (await tryConnect(port)) return performance.now() - t0;
    await delay(2);
  }
  throw new Error(`port ${port} did not open within 20 s`);
}

async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function runNetServer(): Promise<Sample> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer(s => s.end()).listen(${port}, '127.0.0.1')`],
    { stdio: 'ignore' },
  );
  try {
    const portOpenMs = await waitPort(port, child, t0);
    await delay(2000);
    return { portOpenMs, rssMB: await rssMB(child.pid!) };
  } finally {
    await stop(child);
  }
}

async function runBroker(script: string): Promise<Sample> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-startup-'));
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      script,
      '--data-dir',
      dataDir,
      '--preset',
      'local',
      '--no-mdns',
      '--host',
      '127.0.0.1',
      '--http-host',
      '127.0.0.1',
      '--cluster-host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      '0',
      '--cluster-port',
      '0',
      '--node-name',
      'bench',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
  );
  let httpPort = 0;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const m = /"httpPort":(\d+)/.exec(l);
    if (m) httpPort = Number(m[1]);
  });
  try {
    const portOpenMs = await waitPort(port, child, t0);
    let joinedMs: number | undefined;
    const end = Date.now() + 20_000;
    while (joinedMs === undefined && Date.now() < end) {
      if (httpPort > 0) {
        const res = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).catch(() => undefined);
        if (res?.status === 200) joinedMs = performance.now() - t0;
        await res?.body?.cancel();
      }
      if (joinedMs === undefined) await delay(10);
    }
    if (joinedMs === undefined) throw new Error('broker did not become ready within 20 s');
    await delay(2000);
    return { portOpenMs, joinedMs, rssMB: await rssMB(child.pid!) };
  } finally {
    await stop(child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function max(xs: number[]): number {
  return Math.max(...xs);
}

async function measure(name: string, run: () => Promise<Sample>): Promise<string[]> {
  await run(); // warm the page cache
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await run());
  const open = samples.map((s) => s.portOpenMs);
  const joined = samples.map((s) => s.joinedMs).filter((x): x is number => x !== undefined);
  const rss = samples.map((s) => s.rssMB);
  return [
    name,
    `${median(open).toFixed(0)} ms`,
    `${max(open).toFixed(0)} ms`,
    joined.length ? `${median(joined).toFixed(0)} ms` : '-',
    `${median(rss).toFixed(1)} MB`,
    `${max(rss).toFixed(1)} MB`,
  ];
}

function table(rows: string[][]): string {
  const headers = [
    'case',
    'port open p50',
    'port open max',
    'ready (joined) p50',
    'idle RSS p50',
    'idle RSS max',
  ];
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...all.slice(1).map(line),
  ].join('\n');
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  rows.push(await measure('node -e net server (baseline)', runNetServer));
  rows.push(await measure('gregormq, cluster layer on (tsc output)', () => runBroker(BROKER)));
  if (WITH_BUNDLE) {
    const bundle = await bundleBinaries();
    rows.push(await measure('gregormq, cluster layer on (esbuild bundle, the bin)', () => runBroker(bundle)));
  }
  process.stdout.write(`runs per case: ${RUNS} (medians; max over runs)\n${table(rows)}\n`);
}

main().catch((err) => {
  process.stderr.write(`startup-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

/**
 * A real Prometheus server for tests (Debian package "prometheus"), scraping targets on loopback
 * every second, with an instant-query helper. Same approach as the harness inside
 * test/observability/metrics.test.ts, shaped as a reusable helper: a fresh temp dir for config
 * and TSDB, a free web port, killed and removed in t.after.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** One series of an instant query's answer. */
export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus and how to ask it things. */
export interface PrometheusServer {
  webPort: number;
  /** Instant query at "now"; throws on a query error so a typo in PromQL fails loudly. */
  query(expr: string): Promise<PromSeries[]>;
  /** Polls `expr` until `accept` holds (at most `timeoutMs`); returns the last answer either way. */
  waitFor(expr: string, accept: (r: PromSeries[]) => boolean, timeoutMs?: number): Promise<PromSeries[]>;
  /** The last few KB of Prometheus' own log, for failure messages. */
  log(): string;
}

/** Whether `tool` is on PATH. */
export function onPath(tool: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${tool}`], (err) => resolve(!err)));
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts Prometheus scraping `targets` (host:port) as job `job` every second. */
export async function startPrometheus(
  t: Pick<TestContext, 'after'>,
  targets: string[],
  job = 'gregormq',
): Promise<PrometheusServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gregor-ops-prom-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      `  - job_name: ${job}`,
      '    static_configs:',
      `      - targets: [${targets.map((x) => `'${x}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const webPort = await freePort();
  const prom = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let promLog = '';
  prom.stderr.on('data', (d) => {
    promLog = (promLog + d).slice(-4000);
  });
  const exited = new Promise((resolve) => prom.on('exit', resolve));
  t.after(async () => {
    prom.kill('SIGTERM');
    const timer = setTimeout(() => prom.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });

  const query = async (expr: string): Promise<PromSeries[]> => {
    const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { status: string; error?: string; data: { result: PromSeries[] } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? res.status}`);
    return body.data.result;
  };
  const waitFor = async (expr: string, accept: (r: PromSeries[]) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: PromSeries[] = [];
    for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
      // Connection refused while Prometheus starts up counts as "not yet".
      last = await query(expr).catch(() => []);
      if (accept(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return last;
  };
  return { webPort, query, waitFor, log: () => promLog };
}

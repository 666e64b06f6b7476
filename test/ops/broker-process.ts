/**
 * The real binaries as an operator runs them: `gregormq` as a child process (port 0, temp data
 * dir, its own cluster name so mDNS never joins it to another test's node) and `gregorctl` runs.
 * Everything is stopped and removed in t.after.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import {
  BrokerChild,
  envWithoutGregor,
  GREGORCTL_BIN,
  GREGORMQ_BIN,
  localBrokerArgs,
} from '../helpers/broker-child.js';

/** Path of the compiled broker binary. */
export const GREGORMQ = GREGORMQ_BIN;
/** Path of the compiled gregorctl binary. */
export const GREGORCTL = GREGORCTL_BIN;
/** The environment without GREGOR_* variables of the calling shell (they would change the broker). */
export const cleanEnv = envWithoutGregor;

/** A broker child process and the ports it logged. */
export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  httpPort: number;
  dataDir: string;
  /** `127.0.0.1:<port>` for --broker. */
  broker: string;
  /** `127.0.0.1:<httpPort>` for --http. */
  http: string;
}

/** Starts `gregormq`, waits for its "listening" log line (60 s deadline), then (by default) for readiness. */
export async function startBrokerProcess(
  t: Pick<TestContext, 'after'>,
  extraArgs: string[] = [],
  opts: { waitReady?: boolean } = {},
): Promise<BrokerProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gregor-ops-'));
  // Its own cluster name, so a node can never join another test's.
  const b = new BrokerChild({
    args: [...localBrokerArgs(dataDir), '--cluster-name', `ops-${randomUUID().slice(0, 8)}`, ...extraArgs],
    keepLines: false,
  });
  t.after(async () => {
    await b.stop('SIGTERM', 10_000);
    await rm(dataDir, { recursive: true, force: true });
  });
  await b.listening(60_000);
  const proc: BrokerProcess = {
    child: b.proc,
    dataDir,
    port: b.port,
    httpPort: b.httpPort,
    broker: `127.0.0.1:${b.port}`,
    http: `127.0.0.1:${b.httpPort}`,
  };
  // As an orchestrator would: the cluster layer (and with it partition placement) joins after the
  // client port opens, and topics created before it settles change owner once more.
  if (opts.waitReady ?? true)
    await pollUntil('/health/ready to answer 200', async () =>
      (await httpGet(proc, '/health/ready').catch(() => ({ status: 0 }))).status === 200 ? true : undefined,
    );
  return proc;
}

/** Result of a finished process. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a node script to completion (SIGKILLed after `timeoutMs` so a hang fails instead of stalling). */
export function runNode(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: opts.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs gregorctl against `b` (both --broker and --http set through the environment). */
export function ctl(b: BrokerProcess, args: string[], timeoutMs?: number): Promise<Run> {
  return runNode(GREGORCTL, args, {
    env: cleanEnv({ GREGOR_BROKER: b.broker, GREGOR_HTTP: b.http }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** GETs a page of the broker's HTTP port as text. */
export async function httpGet(b: BrokerProcess, urlPath: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${b.http}${urlPath}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** Polls `check` every 100 ms until it returns a value other than undefined, or throws at the deadline. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Creates `topic` through gregorctl and waits until every partition has a leader with an open log
 * (`/v1/topics`). Placement settles a moment after the create (on a fresh node the leader can
 * flicker to "" and back for ~2 s), and a producer that reads metadata before then waits for its
 * next refresh, about a minute.
 */
export async function createTopic(b: BrokerProcess, topic: string, partitions = 1): Promise<void> {
  const created = await ctl(b, ['topics', 'create', topic, '--partitions', String(partitions)]);
  if (created.code !== 0) throw new Error(`topics create ${topic}: ${created.stderr}`);
  await pollUntil(`leaders for every partition of ${topic}`, async () => {
    const res = await httpGet(b, `/v1/topics/${encodeURIComponent(topic)}`);
    if (res.status !== 200) return undefined;
    const body = JSON.parse(res.text) as { partitions: Array<{ leader: string; highWatermark: number }> };
    // highWatermark -1: placement named a leader but the partition is not open here yet.
    return body.partitions.length === partitions &&
      body.partitions.every((p) => p.leader !== '' && p.highWatermark >= 0)
      ? true
      : undefined;
  });
}

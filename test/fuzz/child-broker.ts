import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The broker binary as built (dist/cli/gregormq.js), found from this compiled file's place. */
export const BROKER_BIN = fileURLToPath(new URL('../../cli/gregormq.js', import.meta.url));

/** A broker running in its own process, as an operator would run it. */
export interface ChildBroker {
  proc: ChildProcess;
  pid: number;
  port: number;
  httpPort: number;
  dataDir: string;
  /** Resident set size of the child now, bytes (from /proc/<pid>/status VmRSS). */
  rssBytes(): number;
  /** Log lines with level >= 50 (error, fatal) the broker printed so far. */
  errors: string[];
  /** SIGTERM, wait for exit (SIGKILL after `graceMs`), remove the data dir. */
  stop(graceMs?: number): Promise<void>;
}

/** Reads VmRSS of a process from /proc, bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * Starts `gregormq` in a child process on free ports and waits for its "listening" log line.
 * GREGOR_* variables of this process are not passed on: the broker would read them as its config.
 */
export async function startChildBroker(
  extraArgs: string[] = [],
  startTimeoutMs = 20_000,
): Promise<ChildBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gregor-fuzz-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREGOR_')) env[k] = v;
  const args = [
    BROKER_BIN,
    '--data-dir',
    dataDir,
    '--host',
    '127.0.0.1',
    '--http-host',
    '127.0.0.1',
    '--port',
    '0',
    '--http-port',
    '0',
    '--cluster-port',
    '0',
    '--preset',
    'local',
    '--log-pretty',
    'false',
    ...extraArgs,
  ];
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const errors: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 65536) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ports = await new Promise<{ port: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`broker did not log "listening" within ${startTimeoutMs} ms: ${stderr}`)),
      startTimeoutMs,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening: ${stderr}`));
    });
    // Every stdout line is read to its end so a chatty broker never blocks on a full pipe.
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let rec: { msg?: string; level?: number; port?: number; httpPort?: number };
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if ((rec.level ?? 0) >= 50 && errors.length < 100) errors.push(line);
      if (rec.msg === 'listening' && typeof rec.port === 'number') {
        clearTimeout(timer);
        resolve({ port: rec.port, httpPort: rec.httpPort ?? -1 });
      }
    });
  }).catch(async (err) => {
    proc.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  const pid = proc.pid!;
  return {
    proc,
    pid,
    ...ports,
    dataDir,
    errors,
    rssBytes: () => readRssBytes(pid),
    async stop(graceMs = 5000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One `gregormq` child process as the tests and benches run it: spawned from the compiled binary
 * (optionally inside a network namespace), its JSON log lines parsed, its ports read from the
 * "listening" and "cluster listening" lines, and a stop that escalates from a signal to SIGKILL.
 * The harnesses in test/ops, test/fuzz, test/cluster-e2e and bench/ build on this one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The broker binary as package.json's bin ships it (dist/bundle/), seen from dist/test/helpers/. */
export const GREGORMQ_BIN = fileURLToPath(new URL('../../bundle/gregormq.js', import.meta.url));
/** The gregorctl binary as shipped (dist/bundle/gregorctl.js). */
export const GREGORCTL_BIN = fileURLToPath(new URL('../../bundle/gregorctl.js', import.meta.url));

/** This process's environment minus GREGOR_* (the broker would read them as its config), plus `extra`. */
export function envWithoutGregor(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREGOR_')) env[k] = v;
  return { ...env, ...extra };
}

/** Flags every test broker shares: a data dir, loopback only, every port 0, the `local` preset. */
export function localBrokerArgs(dataDir: string): string[] {
  return [
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
  ];
}

/** One JSON log line of the broker (pino), `time` in epoch ms. */
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

/** Reads VmRSS of a process from /proc, bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** How to spawn one broker. */
export interface BrokerChildOptions {
  /** Flags after the binary's path (see localBrokerArgs). */
  args: string[];
  /** Run inside this network namespace with `ip netns exec`. */
  netns?: string;
  /** Environment; default envWithoutGregor(). */
  env?: NodeJS.ProcessEnv;
  /** Keep every parsed log line in `lines` (default true; turn off for chatty long runs). */
  keepLines?: boolean;
  /** Where stderr goes: kept in `stderr` (default) or inherited. */
  stderr?: 'keep' | 'inherit';
}

const STDERR_KEEP = 64 * 1024;

/** A running (or exited) broker child process and what it logged. */
export class BrokerChild {
  readonly proc: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  port = 0;
  httpPort = 0;
  clusterPort = 0;
  peerId = '';
  generation = 0;
  /** Set when the process exits: its code, or null when a signal ended it. */
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  private readonly listeners: Array<(line: LogLine) => void> = [];

  constructor(opts: BrokerChildOptions) {
    const argv = [GREGORMQ_BIN, ...opts.args];
    const [cmd, args] = opts.netns
      ? ['ip', ['netns', 'exec', opts.netns, process.execPath, ...argv]]
      : [process.execPath, argv];
    const proc = spawn(cmd, args, {
      env: opts.env ?? envWithoutGregor(),
      stdio: ['ignore', 'pipe', opts.stderr === 'inherit' ? 'inherit' : 'pipe'],
    });
    this.proc = proc;
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < STDERR_KEEP) this.stderr += d;
    });
    // Every stdout line is read to its end so a chatty broker never blocks on a full pipe.
    const keep = opts.keepLines ?? true;
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      if (typeof line.time === 'string') line.time = Date.parse(line.time);
      if (line.msg === 'listening') {
        this.port = line.port as number;
        this.httpPort = line.httpPort as number;
      } else if (line.msg === 'cluster listening') {
        this.clusterPort = line.clusterPort as number;
        this.peerId = line.peerId as string;
        this.generation = line.generation as number;
      }
      if (keep) this.lines.push(line);
      for (const l of this.listeners) l(line);
    });
  }

  /** Calls `fn` with every log line parsed from now on; returns a function that stops it. */
  onLine(fn: (line: LogLine) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Waits for `cond` (checked on every log line) or rejects at the deadline or on exit. */
  waitUntil(what: string, cond: () => boolean, deadlineMs: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        clearInterval(poll);
        off();
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (cond()) done();
        else if (!this.running)
          done(
            new Error(`broker exited (${this.exitCode ?? this.exitSignal}) before ${what}: ${this.stderr}`),
          );
      };
      const timer = setTimeout(
        () => done(new Error(`broker did not reach "${what}" in ${deadlineMs} ms; stderr:\n${this.stderr}`)),
        deadlineMs,
      );
      // Lines arrive in bursts; a slow poll also notices an exit without a final line.
      const poll = setInterval(check, 20);
      const off = this.onLine(check);
    });
  }

  /** Resolves once the client and HTTP ports are known ("listening"). */
  listening(deadlineMs = 60_000): Promise<void> {
    return this.waitUntil('listening', () => this.port > 0 && this.httpPort > 0, deadlineMs);
  }

  /** Resolves once the cluster port and peer id are known as well. */
  clusterListening(deadlineMs = 20_000): Promise<void> {
    return this.waitUntil('cluster listening', () => this.clusterPort > 0 && this.httpPort > 0, deadlineMs);
  }

  /** Sends `signal` (if still running), SIGKILL after `graceMs`, and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (this.running) {
      this.proc.kill(signal);
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
  }

  /** Resident set size now, bytes. */
  rssBytes(): number {
    return readRssBytes(this.proc.pid!);
  }
}

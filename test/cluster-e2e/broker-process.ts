/**
 * Harness for multi-process cluster tests: real `gregormq` broker processes (optionally inside a
 * network namespace the test creates), their JSON log lines, `gregorctl` runs beside them, and
 * polling with deadlines. Not a test file itself (no `.test.` in the name).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/cli/gregormq.js and dist/cli/gregorctl.js, seen from dist/test/cluster-e2e/. */
export const BROKER_BIN = join(HERE, '..', '..', 'cli', 'gregormq.js');
export const CTL_BIN = join(HERE, '..', '..', 'cli', 'gregorctl.js');

/** One JSON log line of the broker (pino). */
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

/** Polls `cond` every `everyMs` until it returns a truthy value; throws naming `what` at the deadline. */
export async function waitFor<T>(
  what: string,
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  deadlineMs: number,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A network namespace with loopback up and a multicast route (what mDNS needs); deleted in t.after. */
export function createNetns(t: TestContext): string {
  const name = `gregor-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.after(() => {
    try {
      execFileSync('ip', ['netns', 'delete', name]);
    } catch {
      // already gone
    }
  });
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
  return name;
}

/** Options of one broker process. */
export interface BrokerProcessOptions {
  nodeName: string;
  /** Run inside this network namespace (required when mDNS is on). */
  netns?: string;
  /** Extra flags, e.g. ['--seeds', '127.0.0.1:4000']. mDNS is off unless `mdns` is true. */
  args?: string[];
  /** Turn mDNS on (only allowed together with `netns`). */
  mdns?: boolean;
}

/** A gregormq child process and what it logged. */
export class BrokerProcess {
  proc!: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  port = 0;
  httpPort = 0;
  clusterPort = 0;
  peerId = '';
  generation = 0;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  private exited!: Promise<void>;

  constructor(
    readonly dataDir: string,
    readonly opts: BrokerProcessOptions,
  ) {
    if (opts.mdns && !opts.netns) throw new Error('mDNS is only allowed inside a test network namespace');
  }

  /** HTTP address (inside the node's namespace). */
  get http(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  /** Spawns the broker (again, with the same data dir after a stop). */
  start(): void {
    this.lines.length = 0;
    this.stderr = '';
    this.port = this.httpPort = this.clusterPort = 0;
    this.peerId = '';
    this.exitCode = this.exitSignal = undefined;
    const args = [
      BROKER_BIN,
      '--data-dir',
      this.dataDir,
      '--node-name',
      this.opts.nodeName,
      '--preset',
      'local',
      '--log-level',
      'debug',
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
      ...(this.opts.mdns ? ['--mdns'] : ['--no-mdns', '--cluster-host', '127.0.0.1']),
      ...(this.opts.args ?? []),
    ];
    const [cmd, argv] = this.opts.netns
      ? ['ip', ['netns', 'exec', this.opts.netns, process.execPath, ...args]]
      : [process.execPath, args];
    const proc = spawn(cmd as string, argv as string[], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    this.proc = proc;
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      // pino here writes ISO time strings; keep epoch ms so tests can subtract.
      if (typeof line.time === 'string') line.time = Date.parse(line.time);
      this.lines.push(line);
      if (line.msg === 'listening') {
        this.port = line.port as number;
        this.httpPort = line.httpPort as number;
      } else if (line.msg === 'cluster listening') {
        this.clusterPort = line.clusterPort as number;
        this.peerId = line.peerId as string;
        this.generation = line.generation as number;
      }
    });
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  /** Resolves once the cluster layer is listening (port and peer id known). */
  async ready(deadlineMs = 20_000): Promise<void> {
    await waitFor(
      `${this.opts.nodeName} to log its cluster port`,
      () => {
        if (this.exitCode !== undefined)
          throw new Error(`${this.opts.nodeName} exited (${this.exitCode}): ${this.stderr}`);
        return this.clusterPort > 0 && this.httpPort > 0;
      },
      deadlineMs,
    );
  }

  /** Sends a signal and waits for the process to exit. */
  async kill(signal: NodeJS.Signals, deadlineMs = 15_000): Promise<void> {
    if (this.exitCode === undefined) this.proc.kill(signal);
    await waitFor(
      `${this.opts.nodeName} to exit after ${signal}`,
      () => this.exitCode !== undefined,
      deadlineMs,
    );
    await this.exited;
  }

  /** Log lines with message `msg`. */
  logged(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  /** Time (ms) of the line `cluster listening` of the current run. */
  clusterStartTime(): number {
    return this.logged('cluster listening')[0]?.time ?? Number.NaN;
  }
}

/** Runs gregorctl (inside `netns` when given); resolves with exit code and output. */
export function ctl(
  args: string[],
  netns?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = netns
    ? ['ip', ['netns', 'exec', netns, process.execPath, CTL_BIN, ...args]]
    : [process.execPath, [CTL_BIN, ...args]];
  return new Promise((resolve) => {
    execFile(
      cmd,
      argv,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A member as `gregorctl cluster nodes --json` prints it (the fields the tests read). */
export interface CtlMember {
  id: string;
  name: string;
  status: string;
  liveness: string;
  generation: number;
  heartbeat: number;
  phi: number;
  isSelf: boolean;
}

/** `gregorctl cluster nodes --json --http <node>`; throws with gregorctl's message on failure. */
export async function ctlNodes(node: BrokerProcess): Promise<CtlMember[]> {
  const r = await ctl(['cluster', 'nodes', '--json', '--http', node.http], node.opts.netns);
  if (r.code !== 0) throw new Error(`gregorctl cluster nodes on ${node.opts.nodeName}: ${r.stderr}`);
  return JSON.parse(r.stdout) as CtlMember[];
}

/** Members as a node's HTTP API reports them (only reachable outside a namespace). */
export async function httpMembers(node: BrokerProcess): Promise<CtlMember[]> {
  try {
    const res = await fetch(`http://${node.http}/v1/cluster/members`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return [];
    return ((await res.json()) as { members: CtlMember[] }).members;
  } catch {
    return [];
  }
}

/** Starts and tracks broker processes; kills them and removes their data dirs in t.after. */
export class Fleet {
  readonly nodes: BrokerProcess[] = [];
  private readonly dirs: string[] = [];

  constructor(t: TestContext) {
    t.after(async () => {
      for (const n of this.nodes) if (n.exitCode === undefined) n.proc.kill('SIGKILL');
      await Promise.all(this.nodes.map((n) => (n.exitCode === undefined ? n.kill('SIGKILL') : undefined)));
      for (const d of this.dirs) await rm(d, { recursive: true, force: true });
    });
  }

  /** Makes a fresh temp dir (removed afterwards). */
  async tempDir(prefix = 'gregor-e2e-'): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }

  /** Starts a broker with a fresh data dir; does not wait for it. */
  async start(opts: BrokerProcessOptions): Promise<BrokerProcess> {
    const node = new BrokerProcess(await this.tempDir(), opts);
    this.nodes.push(node);
    node.start();
    return node;
  }
}

/** True when `members` are exactly the named nodes, with the given liveness. */
export function hasExactly(members: CtlMember[], names: string[], liveness = 'alive'): boolean {
  const got = members.map((m) => m.name).sort();
  return (
    got.length === names.length &&
    got.every((n, i) => n === [...names].sort()[i]) &&
    members.every((m) => m.liveness === liveness)
  );
}

/**
 * Harness for multi-process cluster tests: real `gregormq` broker processes (optionally inside a
 * network namespace the test creates), their JSON log lines, `gregorctl` runs beside them, and
 * polling with deadlines. Not a test file itself (no `.test.` in the name).
 */
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  BrokerChild,
  GREGORCTL_BIN,
  GREGORMQ_BIN,
  type LogLine,
  localBrokerArgs,
} from '../helpers/broker-child.js';

export type { LogLine };
/** The shipped binaries (dist/bundle/). */
export const BROKER_BIN = GREGORMQ_BIN;
export const CTL_BIN = GREGORCTL_BIN;

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

/** A gregormq child process that can be stopped and started again on the same data dir. */
export class BrokerProcess {
  private child: BrokerChild | undefined;

  constructor(
    readonly dataDir: string,
    readonly opts: BrokerProcessOptions,
  ) {
    if (opts.mdns && !opts.netns) throw new Error('mDNS is only allowed inside a test network namespace');
  }

  private get current(): BrokerChild {
    if (!this.child) throw new Error(`${this.opts.nodeName} was never started`);
    return this.child;
  }

  get proc(): ChildProcess {
    return this.current.proc;
  }
  /** Log lines of the current run. */
  get lines(): LogLine[] {
    return this.current.lines;
  }
  get stderr(): string {
    return this.current.stderr;
  }
  get port(): number {
    return this.current.port;
  }
  get httpPort(): number {
    return this.current.httpPort;
  }
  get clusterPort(): number {
    return this.current.clusterPort;
  }
  get peerId(): string {
    return this.current.peerId;
  }
  get generation(): number {
    return this.current.generation;
  }
  /** Undefined while running (or never started). */
  get exitCode(): number | null | undefined {
    return this.child?.exitCode;
  }
  get exitSignal(): NodeJS.Signals | null | undefined {
    return this.child?.exitSignal;
  }

  /** HTTP address (inside the node's namespace). */
  get http(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  /** Spawns the broker (again, with the same data dir after a stop). */
  start(): void {
    const args = [
      ...localBrokerArgs(this.dataDir),
      '--node-name',
      this.opts.nodeName,
      '--log-level',
      'debug',
      ...(this.opts.mdns ? ['--mdns'] : ['--no-mdns', '--cluster-host', '127.0.0.1']),
      ...(this.opts.args ?? []),
    ];
    this.child = new BrokerChild({
      args,
      ...(this.opts.netns ? { netns: this.opts.netns } : {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
  }

  /** Resolves once the cluster layer is listening (port and peer id known). */
  async ready(deadlineMs = 20_000): Promise<void> {
    await this.current.clusterListening(deadlineMs);
  }

  /** Sends a signal and waits for the process to exit (no escalation: the test chose the signal). */
  async kill(signal: NodeJS.Signals, deadlineMs = 15_000): Promise<void> {
    const c = this.current;
    if (c.running) c.proc.kill(signal);
    await waitFor(`${this.opts.nodeName} to exit after ${signal}`, () => !c.running, deadlineMs);
    await c.exited;
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

  /**
   * Starts the first named node alone, then the others with it as their seed (mDNS off), and
   * waits until each one's cluster layer listens. `seed` is the flag pair for later joiners.
   */
  async startSeeded<const N extends readonly string[]>(
    names: N,
  ): Promise<{ nodes: { [K in keyof N]: BrokerProcess }; seed: string[] }> {
    const first = await this.start({ nodeName: names[0]! });
    await first.ready();
    const seed = ['--seeds', `127.0.0.1:${first.clusterPort}`];
    const rest = await Promise.all(names.slice(1).map((nodeName) => this.start({ nodeName, args: seed })));
    await Promise.all(rest.map((n) => n.ready()));
    return { nodes: [first, ...rest] as { [K in keyof N]: BrokerProcess }, seed };
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

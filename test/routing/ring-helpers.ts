/**
 * Helpers for the routing multi-process tests: read a node's ring over HTTP, run gregorctl with
 * stdin. Not a test file itself.
 */
import { spawn } from 'node:child_process';
import type { RingBody } from '../../src/routing/attach.js';
import { type BrokerProcess, CTL_BIN } from '../cluster-e2e/broker-process.js';

/** The node's `/v1/cluster/ring`, or undefined while it cannot answer. */
export async function ringOf(node: BrokerProcess): Promise<RingBody | undefined> {
  try {
    const res = await fetch(`http://${node.http}/v1/cluster/ring`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return undefined;
    return (await res.json()) as RingBody;
  } catch {
    return undefined;
  }
}

/** `topic/partition` -> owner for one topic in a ring answer. */
export function ownersOf(ring: RingBody, topic: string): Map<number, string | null> {
  const m = new Map<number, string | null>();
  for (const p of ring.partitions) if (p.topic === topic) m.set(p.partition, p.owner);
  return m;
}

/** Same owner map on every ring, with `partitions` entries, each owned. */
export function agree(
  rings: (RingBody | undefined)[],
  topic: string,
  partitions: number,
  nodes: number,
): boolean {
  if (rings.some((r) => !r || r.nodes.length !== nodes)) return false;
  const maps = rings.map((r) => ownersOf(r!, topic));
  const first = maps[0]!;
  if (first.size !== partitions || [...first.values()].some((o) => !o)) return false;
  return maps.every((m) => m.size === first.size && [...m].every(([p, o]) => first.get(p) === o));
}

/** Runs gregorctl with `input` on stdin; resolves with exit code and output. */
export function ctlWithInput(
  args: string[],
  input: string,
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CTL_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

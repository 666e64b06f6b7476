/**
 * Rebalance settle time: how long a consumer group takes, with the DEFAULT group timeouts
 * (session 45 s, heartbeat 3 s, rebalance delay 3 s), from a member joining or leaving until
 * every partition is owned by its final member again, and how many partitions moved.
 *
 *   npm run bench:rebalance          (GREGOR_BENCH_PARTITIONS=12 GREGOR_BENCH_MEMBERS=3 by default)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/broker/broker.js';
import { connect, type GroupConsumer } from '../src/client/index.js';

const partitions = Number(process.env.GREGOR_BENCH_PARTITIONS ?? 12);
const startMembers = Number(process.env.GREGOR_BENCH_MEMBERS ?? 3);
const rounds = Number(process.env.GREGOR_BENCH_ROUNDS ?? 5);

const dir = await mkdtemp(join(tmpdir(), 'gregor-rebalance-'));
const broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, httpPort: -1 });
const client = await connect({ brokers: `127.0.0.1:${broker.port}` });
await client.admin.createTopic({ name: 'bench', partitions });
const group = 'rebalance-bench';
const members: GroupConsumer[] = [];

function settled(): boolean {
  const g = broker.groups.peek(group);
  if (!g?.settled || g.members.size !== members.length) return false;
  let owned = 0;
  for (const m of members) {
    const mine = m.assignment().reduce((n, tp) => n + tp.partitions.length, 0);
    const server = g.members.get(m.id ?? '')?.assigned.size;
    if (server !== mine) return false;
    owned += mine;
  }
  return owned === partitions;
}

async function waitSettled(): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < 60_000; i++) {
    if (settled()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error('group did not settle within a minute');
}

function snapshot(): Map<number, string> {
  const owner = new Map<number, string>();
  for (const m of members)
    for (const tp of m.assignment()) for (const p of tp.partitions) owner.set(p, m.id ?? '');
  return owner;
}

function movedSince(before: Map<number, string>): number {
  const after = snapshot();
  let n = 0;
  for (const [p, id] of after) if (before.has(p) && before.get(p) !== id) n++;
  return n;
}

function add(): GroupConsumer {
  const c = client.groupConsumer({ group, topics: ['bench'] });
  void (async () => {
    for await (const _ of c) {
      // Nothing is produced; the members only hold partitions.
    }
  })().catch(() => undefined);
  members.push(c);
  return c;
}

const formStart = performance.now();
for (let i = 0; i < startMembers; i++) add();
await waitSettled();
const formMs = performance.now() - formStart;
const joins: { ms: number; moved: number }[] = [];
const leaves: { ms: number; moved: number }[] = [];
for (let r = 0; r < rounds; r++) {
  let before = snapshot();
  const t0 = performance.now();
  add();
  await waitSettled();
  joins.push({ ms: performance.now() - t0, moved: movedSince(before) });
  before = snapshot();
  const gone = members.pop()!;
  const t1 = performance.now();
  void gone.close();
  await waitSettled();
  leaves.push({ ms: performance.now() - t1, moved: movedSince(before) });
}
const fmt = (xs: { ms: number; moved: number }[]) => {
  const ms = xs.map((x) => x.ms).sort((a, b) => a - b);
  return `median ${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms, max ${ms[ms.length - 1]!.toFixed(1)} ms, partitions moved ${xs.map((x) => x.moved).join('/')}`;
};
process.stdout.write(
  `rebalance partitions=${partitions} members=${startMembers}<->${startMembers + 1} timeouts=default (session 45 s, heartbeat 3 s, delay 3 s)\n` +
    `  first assignment of the empty group: ${formMs.toFixed(0)} ms (includes the 3 s initial rebalance delay)\n` +
    `  join  (${rounds} runs): ${fmt(joins)}\n` +
    `  leave (${rounds} runs): ${fmt(leaves)}\n`,
);
for (const m of members) await m.close();
await client.close();
await broker.stop();
await rm(dir, { recursive: true, force: true });

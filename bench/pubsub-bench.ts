/**
 * Cross-node ephemeral pub/sub: two gregormq processes (127.0.0.1, mDNS off, one seed), a
 * publisher connected to node A and a subscriber connected to node B (this process), so every
 * message crosses the interbroker channel.
 *
 *   node dist/bench/pubsub-bench.js            (GREGOR_BENCH_MESSAGES, default 500000)
 *
 * Case 1 "throughput size=100B": a batching producer sends as fast as it can; msgs/s counted at
 * the subscriber. Case 2 "paced rate=10000/s size=100B": one PUBLISH per message (acks 0) paced
 * at 10k msgs/s, one message every 100 us, by a publisher in a worker thread; latency from each
 * message's scheduled send time to its delivery (one monotonic clock, one process) at
 * p50/p99/p99.9, after a 1 s warm-up. GREGOR_BENCH_PACER=timer paces with ~1 ms bursts off a
 * timer instead, as this bench did before (docs/benchmarks.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { connect } from '../src/index.js';
import { BrokerChild, envWithoutGregor, localBrokerArgs } from '../test/helpers/broker-child.js';
import { monotonicMs } from './broker-bench/precise-pacer.js';
import type { PublisherJob } from './pubsub-publisher.js';

const MESSAGES = Number(process.env.GREGOR_BENCH_MESSAGES ?? 500_000);
const PACER = pacerFromEnv(process.env.GREGOR_BENCH_PACER);

function pacerFromEnv(v: string | undefined): 'precise' | 'timer' {
  if (v === undefined || v === 'precise' || v === 'timer') return v ?? 'precise';
  throw new Error(`GREGOR_BENCH_PACER must be "precise" or "timer", got ${JSON.stringify(v)}`);
}

interface Proc {
  child: BrokerChild;
  port: number;
  clusterPort: number;
  dir: string;
}

/** Starts a broker (mDNS off, loopback only) and waits until its cluster routing is attached. */
async function startBroker(name: string, seeds: string[]): Promise<Proc> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-pubsub-bench-'));
  const args = [...localBrokerArgs(dir), '--node-name', name, '--no-mdns', '--cluster-host', '127.0.0.1'];
  if (seeds.length) args.push('--seeds', seeds.join(','));
  // Gossip at the default (lan) preset's 500 ms, as a deployment runs it; `local` gossips every
  // 100 ms so that tests converge fast.
  const env = envWithoutGregor({
    GREGOR_CLUSTER_GOSSIP_INTERVAL_MS: process.env.GREGOR_BENCH_GOSSIP_MS ?? '500',
  });
  const child = new BrokerChild({ args, env, keepLines: false, stderr: 'inherit' });
  let attached = false;
  child.onLine((l) => {
    if (l.msg === 'cluster routing attached') attached = true;
  });
  await child.waitUntil('cluster routing attached', () => attached, 30_000);
  return { child, port: child.port, clusterPort: child.clusterPort, dir };
}

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const a = await startBroker('bench-a', []);
  const b = await startBroker('bench-b', [`127.0.0.1:${a.clusterPort}`]);
  // GREGOR_BENCH_SAME_NODE=1: publisher on B too, the no-forwarding baseline under the same load.
  const same = process.env.GREGOR_BENCH_SAME_NODE === '1';
  const pub = await connect({ brokers: [`127.0.0.1:${same ? b.port : a.port}`] });
  const sub = await connect({ brokers: [`127.0.0.1:${b.port}`] });
  try {
    await pub.admin.createTopic({ name: 'bench', partitions: 1, kind: 'ephemeral' });
    // A create returns once every member A knows has the topic; B, which joined a moment ago,
    // may not be one of them yet and learns it at its next gossip exchange.
    for (let i = 0; ; i++) {
      const known = await sub.admin.describeTopic('bench').then(
        () => true,
        () => false,
      );
      if (known) break;
      if (i >= 200) throw new Error('node B did not learn topic "bench" in 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const consumer = sub.subscribe('bench', { maxMessages: 1_000_000, maxBytes: 256 * 1024 * 1024 });
    await consumer.ready();
    let received = 0;
    const lat: number[] = [];
    let measuring = false;
    let warmupUntil = Number.POSITIVE_INFINITY;
    let lastReceivedAt = 0;
    void (async () => {
      for await (const m of consumer) {
        received++;
        lastReceivedAt = performance.now();
        if (measuring) {
          const slot = m.value!.readDoubleLE(0);
          if (slot >= warmupUntil) lat.push(monotonicMs() - slot);
        }
      }
    })();
    // Interest spreads by gossip: publish probes until one arrives.
    const probeEnd = Date.now() + 20_000;
    while (received === 0 && Date.now() < probeEnd) {
      await pub.publish('bench', Buffer.alloc(100));
      await new Promise((r) => setTimeout(r, 50));
    }
    if (received === 0) throw new Error('no probe crossed to node B in 20 s');

    // Case 1: throughput.
    const producer = pub.producer({ acks: 0, lingerMs: 2 });
    const value = Buffer.alloc(100, 0x61);
    const base = received;
    const t0 = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      sends.push(producer.send({ topic: 'bench', value }));
      if (sends.length >= 5000) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    await producer.flush();
    // Ephemeral delivery is at-most-once: when some messages were dropped the count never reaches
    // MESSAGES, so stop once nothing has arrived for 2 s and time the run to the last delivery
    // (waiting out the 30 s deadline made such a run read as ~14k msgs/s).
    const deadline = Date.now() + 30_000;
    while (
      received - base < MESSAGES &&
      Date.now() < deadline &&
      performance.now() - Math.max(lastReceivedAt, t0) < 2000
    )
      await new Promise((r) => setTimeout(r, 5));
    const secs = (Math.max(lastReceivedAt, t0 + 1) - t0) / 1000;
    const got = received - base;
    process.stdout.write(
      `nodes=2 ${same ? 'same-node ' : ''}case=throughput size=100B: ${Math.round(got / secs).toLocaleString('en-US')} msgs/s received ` +
        `(${got}/${MESSAGES} delivered, ${MESSAGES - got} dropped, ${((got * 100) / 1e6 / secs).toFixed(1)} MB/s)\n`,
    );
    await producer.close();

    // Case 2: paced 10k msgs/s latency. It starts once the throughput case's backlog and garbage
    // have settled. The publisher runs in a worker thread (pubsub-publisher.ts) with a pacer that
    // sleeps to each slot (Atomics.wait) instead of sending ~1 ms bursts off a timer; each message
    // is stamped with its scheduled time (a late sender is charged for the wait) and the first
    // second is left out as warm-up. See docs/benchmarks.md for why the publisher moved.
    await new Promise((r) => setTimeout(r, 2000));
    const rate = 10_000;
    const seconds = 5;
    const warmupMs = 1000;
    const startMs = monotonicMs() + 500;
    warmupUntil = startMs + warmupMs;
    measuring = true;
    const job: PublisherJob = {
      broker: `127.0.0.1:${same ? b.port : a.port}`,
      topic: 'bench',
      rate,
      startMs,
      durationMs: seconds * 1000 + warmupMs,
      size: 100,
      pacer: PACER,
    };
    const worker = new Worker(new URL('./pubsub-publisher.js', import.meta.url), { workerData: job });
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`publisher worker exited with code ${code}`)),
      );
    });
    const end = Date.now() + 10_000;
    while (lat.length < rate * seconds && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    lat.sort((x, y) => x - y);
    process.stdout.write(
      `nodes=2 ${same ? 'same-node ' : ''}case=paced rate=${rate}/s pacer=${PACER} size=100B: delivered ${lat.length}/${rate * seconds}, ` +
        `p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms, p99.9 ${pct(lat, 0.999).toFixed(2)} ms\n`,
    );
    await consumer.close();
  } finally {
    await pub.close();
    await sub.close();
    await Promise.all([a, b].map((p) => p.child.stop('SIGTERM', 1000)));
    for (const p of [a, b]) await rm(p.dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`pubsub-bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);

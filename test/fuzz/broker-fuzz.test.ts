import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import { type Client, connect, type Message } from '../../src/index.js';
import {
  concatFrame,
  encodeRequest,
  type Frame,
  FrameDecoder,
  FrameError,
  Op,
} from '../../src/protocol/index.js';
import { type ChildBroker, startChildBroker } from './child-broker.js';
import {
  FrameCorpus,
  MUTATION_KINDS,
  type MutationKind,
  mutate,
  pick,
  prng,
  STREAM_BREAKING,
} from './frame-mutator.js';

/*
 * Throws random and mutated frames at a broker running in its own process, over several
 * connections that are re-opened whenever the broker (rightly) hangs up, then checks that the
 * broker is still alive and correct for a well-behaved client and that its memory came back down.
 * GREGOR_SOAK=1 throws ten times as many frames; GREGOR_TEST_FUZZ_SEED replays one run.
 */

const SOAK = process.env.GREGOR_SOAK === '1';
const TOTAL_FRAMES = SOAK ? 1_000_000 : 100_000;
const CONNECTIONS = 4;
const SEED = Number(process.env.GREGOR_TEST_FUZZ_SEED ?? Date.now() % 1_000_000);
/** RSS may end this much above the pre-fuzz baseline: V8 and malloc keep grown pages for reuse. */
const RSS_MARGIN_BYTES = 192 * 1024 * 1024;
/** The V8 heap in use may end this much above its baseline (caches, JIT feedback, garbage not yet collected). */
const HEAP_MARGIN_BYTES = 64 * 1024 * 1024;

interface Stats {
  frames: number;
  connections: number;
  closedByServer: number;
  /** Clean sessions whose closing PING was answered / was not. */
  probesAnswered: number;
  probesLost: number;
  /** Answers the protocol decoder rejects as malformed but skippable. */
  oddAnswers: number;
  bytesOut: number;
  bytesIn: number;
  byKind: Map<MutationKind, number>;
}

/** A kind the broker can skip over and answer (the stream stays framed). */
function chooseInnerKind(rand: () => number): MutationKind {
  // A third valid frames keeps the handlers busy with real work between the damaged ones.
  if (rand() < 0.33) return 'valid';
  const inner = MUTATION_KINDS.filter((k) => k !== 'valid' && !STREAM_BREAKING.has(k));
  return inner[pick(rand, inner.length)]!;
}

const BREAKING = MUTATION_KINDS.filter((k) => STREAM_BREAKING.has(k));
/** Correlation id of the PING that closes a clean session (the corpus counts up from 1). */
const PROBE_ID = 0x7fff_fff0;

async function openSocket(port: number): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    const sock = netConnect(port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      return sock;
    } catch (err) {
      sock.destroy();
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * One connection's worth of abuse at a time, reconnecting until the shared budget is spent. A
 * session is a run of frames the broker can skip and answer, ended either by one stream-breaking
 * frame (the broker must hang up) or by a PING that must still be answered.
 */
async function worker(port: number, seed: number, topics: string[], budget: { left: number }, stats: Stats) {
  const rand = prng(seed);
  const corpus = new FrameCorpus(rand, topics);
  const count = (kind: MutationKind, n = 1) => stats.byKind.set(kind, (stats.byKind.get(kind) ?? 0) + n);
  while (budget.left > 0) {
    const sock = await openSocket(port);
    stats.connections++;
    let ended = false;
    let probeAnswered = false;
    const decoder = new FrameDecoder();
    sock.on('data', (d: Buffer) => {
      stats.bytesIn += d.length;
      if (probeAnswered) return;
      decoder.push(d);
      for (let i = 0; i < 100_000; i++) {
        let f: Frame | undefined;
        try {
          f = decoder.next();
        } catch (err) {
          // Answers our decoder cannot read are counted and skipped whole. None are expected: even
          // a request with the reserved op 0 gets a readable error response (op 0, its correlation).
          if (err instanceof FrameError && !err.fatal) {
            stats.oddAnswers++;
            continue;
          }
          throw err;
        }
        if (!f) break;
        if (f.correlationId === PROBE_ID && f.op === Op.PING) probeAnswered = true;
      }
    });
    sock.on('error', () => undefined);
    sock.once('end', () => {
      ended = true;
    });
    const closedP = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    const write = async (chunk: Buffer) => {
      stats.bytesOut += chunk.length;
      if (!sock.write(chunk)) {
        await new Promise<void>((resolve) => {
          sock.once('drain', resolve);
          sock.once('close', resolve);
        });
      }
    };
    const sessionFrames = Math.min(5 + pick(rand, 200), budget.left);
    for (let i = 0; i < sessionFrames - 1 && !ended; ) {
      // Several frames per write so the decoder also meets frames split and joined across chunks.
      const n = Math.min(1 + pick(rand, 16), sessionFrames - 1 - i);
      const parts: Buffer[] = [];
      for (let j = 0; j < n; j++) {
        const kind = chooseInnerKind(rand);
        parts.push(mutate(kind, kind === 'bad-crc-batch' ? corpus.produce() : corpus.any(), rand, corpus));
        count(kind);
      }
      i += n;
      await write(Buffer.concat(parts));
    }
    budget.left -= sessionFrames;
    stats.frames += sessionFrames;
    if (rand() < 0.5) {
      const kind = BREAKING[pick(rand, BREAKING.length)]!;
      count(kind);
      await write(mutate(kind, corpus.any(), rand, corpus));
      // The broker either hangs up at once or waits for the rest of a frame that never comes.
      await Promise.race([closedP, new Promise((r) => setTimeout(r, 200))]);
      if (ended) stats.closedByServer++;
    } else {
      count('valid');
      await write(concatFrame(encodeRequest('PING', PROBE_ID, { nonce: 7 })));
      const deadline = Date.now() + 10_000;
      while (!probeAnswered && !ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (probeAnswered) stats.probesAnswered++;
      else stats.probesLost++;
    }
    sock.end();
    const t = setTimeout(() => sock.destroy(), 2000);
    await closedP;
    clearTimeout(t);
  }
}

async function metric(broker: ChildBroker, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  assert.ok(line, `/metrics has no ${name}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function pollUntil(
  what: string,
  timeoutMs: number,
  cond: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until every partition of `topic` has a leader (a fresh node owns partitions once it joined its cluster). */
async function leadersKnown(client: Client, topic: string): Promise<void> {
  await pollUntil(`leaders for ${topic}`, 20_000, async () =>
    (await client.admin.describeTopic(topic)).partitions.every((p) => p.leader),
  );
}

/** Rejects naming `what` if `p` has not settled within `ms` (so a stuck step fails, not hangs). */
async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Produces `n` messages with a fresh client and reads them back from the start (30 s each, bounded). */
async function roundTrip(port: number, topic: string, n: number): Promise<Message[]> {
  const client = await connect({ brokers: `127.0.0.1:${port}` });
  try {
    await client.admin.createTopic({ name: topic, partitions: 2 });
    await leadersKnown(client, topic);
    const producer = client.producer({ deliveryTimeoutMs: 20_000 });
    const meta = await within(
      `producing ${n} messages to ${topic}`,
      30_000,
      Promise.all(
        Array.from({ length: n }, (_, i) => producer.send({ topic, key: `k${i % 5}`, value: `v${i}` })),
      ),
    );
    assert.equal(
      new Set(meta.map((m) => `${m.partition}/${m.offset}`)).size,
      n,
      'every send got its own offset',
    );
    const out: Message[] = [];
    await within(
      `reading ${n} messages of ${topic} back`,
      30_000,
      (async () => {
        for await (const m of client.consumer({ topic, from: 'earliest' })) {
          out.push(m);
          if (out.length >= n) break;
        }
      })(),
    );
    return out;
  } finally {
    await client.close();
  }
}

test(`the broker survives ${TOTAL_FRAMES} random and mutated frames (seed ${SEED})`, {
  timeout: SOAK ? 1_800_000 : 180_000,
}, async (t) => {
  const broker = await startChildBroker(['--no-auto-create-topics']);
  t.after(() => broker.stop());
  const topics = [`fuzz-a-${randomUUID().slice(0, 6)}`, `fuzz-b-${randomUUID().slice(0, 6)}`];
  const admin = await connect({ brokers: `127.0.0.1:${broker.port}` });
  for (const name of topics) {
    await admin.admin.createTopic({ name, partitions: 2 });
    await leadersKnown(admin, name);
  }
  await admin.close();

  // Warm up with the same work before taking the baseline, so lazily loaded code and JIT output
  // are already in it.
  const warm = await roundTrip(broker.port, `warm-${randomUUID().slice(0, 6)}`, 2000);
  assert.equal(warm.length, 2000);
  await pollUntil(
    'the warm-up connection to close',
    10_000,
    async () => (await metric(broker, 'gregormq_connections')) === 0,
  );
  const baselineRss = broker.rssBytes();
  const baselineHeap = await metric(broker, 'gregormq_nodejs_heap_size_used_bytes');

  const stats: Stats = {
    frames: 0,
    connections: 0,
    closedByServer: 0,
    probesAnswered: 0,
    probesLost: 0,
    oddAnswers: 0,
    bytesOut: 0,
    bytesIn: 0,
    byKind: new Map(),
  };
  const budget = { left: TOTAL_FRAMES };
  let peakRss = baselineRss;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, broker.rssBytes());
    } catch {
      // the process is gone; the liveness assertion below says so
    }
  }, 200);
  try {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) =>
        worker(broker.port, SEED * 31 + i, topics, budget, stats),
      ),
    );
  } finally {
    clearInterval(sampler);
  }
  t.diagnostic(
    `frames ${stats.frames}, connections ${stats.connections} (${stats.closedByServer} closed by the broker, ` +
      `${stats.probesAnswered} PING probes answered, ${stats.oddAnswers} answers with op 0), ` +
      `${(stats.bytesOut / 1e6).toFixed(1)} MB out, ${(stats.bytesIn / 1e6).toFixed(1)} MB back, ` +
      `kinds ${JSON.stringify(Object.fromEntries(stats.byKind))}`,
  );
  assert.ok(stats.frames >= TOTAL_FRAMES, `only ${stats.frames} frames were sent`);
  for (const kind of MUTATION_KINDS)
    assert.ok((stats.byKind.get(kind) ?? 0) > 0, `no ${kind} frame was sent`);
  assert.ok(
    stats.closedByServer > 0,
    'stream-breaking frames (bad magic, oversize length) make the broker hang up',
  );
  assert.ok(stats.probesAnswered > 0, 'some sessions ended with a PING');
  assert.equal(
    stats.probesLost,
    0,
    'after skippable damage only, the broker still answers PING on the same connection',
  );
  assert.equal(broker.proc.exitCode, null, 'the broker process is still running');
  assert.equal(broker.proc.signalCode, null, 'the broker process was not killed by a signal');

  // Every abused connection is gone on the broker's side too (no leaked connection state).
  await pollUntil(
    'the broker to drop every fuzz connection',
    15_000,
    async () => (await metric(broker, 'gregormq_connections')) === 0,
  );

  // A well-behaved client still gets correct service.
  const topic = `after-${randomUUID().slice(0, 6)}`;
  const got = await roundTrip(broker.port, topic, 1000);
  assert.equal(got.length, 1000);
  const byPartition = new Map<number, Message[]>();
  for (const m of got) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
  for (const [p, msgs] of byPartition) {
    assert.deepEqual(
      msgs.map((m) => m.offset),
      msgs.map((_, i) => i),
      `partition ${p}: offsets are dense from 0`,
    );
  }
  assert.deepEqual(
    got.map((m) => m.value!.toString()).sort(),
    Array.from({ length: 1000 }, (_, i) => `v${i}`).sort(),
    'every message came back once',
  );

  // Memory comes back down. The V8 heap in use is the leak signal (RSS keeps pages V8 and malloc
  // grew into and returns them lazily, so it only gets a generous bound); both are polled, bounded,
  // while the broker's GC catches up.
  let rss = broker.rssBytes();
  let heap = await metric(broker, 'gregormq_nodejs_heap_size_used_bytes');
  await pollUntil(
    `broker heap within ${HEAP_MARGIN_BYTES >> 20} MiB of its ${baselineHeap >> 20} MiB baseline and RSS ` +
      `within ${RSS_MARGIN_BYTES >> 20} MiB of its ${baselineRss >> 20} MiB baseline`,
    30_000,
    async () => {
      rss = broker.rssBytes();
      heap = await metric(broker, 'gregormq_nodejs_heap_size_used_bytes');
      return heap <= baselineHeap + HEAP_MARGIN_BYTES && rss <= baselineRss + RSS_MARGIN_BYTES;
    },
  ).catch((err) => {
    throw new Error(
      `${(err as Error).message}; now heap ${heap >> 20} MiB, RSS ${rss >> 20} MiB (peak ${peakRss >> 20} MiB)`,
    );
  });
  t.diagnostic(
    `RSS baseline ${baselineRss >> 20} MiB, peak ${peakRss >> 20} MiB, after ${rss >> 20} MiB; ` +
      `heap used ${baselineHeap >> 20} -> ${heap >> 20} MiB`,
  );
  assert.deepEqual(broker.errors, [], 'the broker logged no error or fatal lines');
});

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect, type RecordMetadata } from '../../src/index.js';
import type { LoadSpec } from './procs.js';
import { LatencyRecorder, type LoadResult, paced, stampedPayload, throughput } from './stats.js';

/** Sends in chunks this big; the chunk's promises are awaited only when too many chunks are open. */
const CHUNK = 2000;
const OPEN_CHUNKS = 64;

/**
 * Load against GregorMQ through its own SDK: what a user of `connect()` gets, one producer with
 * default batching (linger 5 ms, 64 KiB batches, idempotent, acks 1).
 */
export async function gregorLoad(spec: LoadSpec): Promise<LoadResult> {
  const client = await connect({ brokers: `127.0.0.1:${spec.port}` });
  try {
    if (spec.scenario === 'produce') return await produce(client, spec);
    if (spec.scenario === 'consume') return await consume(client, spec);
    return await latency(client, spec);
  } finally {
    await client.close();
  }
}

type Client = Awaited<ReturnType<typeof connect>>;

/**
 * Creates the topic (if new) and waits until every partition has a leader: a fresh node owns
 * partitions only once it has joined its (one-node) cluster, about two seconds after listening.
 */
export async function topicReady(client: Client, name: string): Promise<void> {
  await client.admin.createTopic({ name, partitions: 1 }, { ifNotExists: true });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const d = await client.admin.describeTopic(name);
    if (d.partitions.every((p) => p.leader)) return;
    if (Date.now() > deadline) throw new Error(`topic ${name} has no leader after 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function produceFor(
  client: Client,
  spec: LoadSpec,
  durationMs: number,
): Promise<{ acked: number; seconds: number }> {
  const producer = client.producer({ acks: 1 });
  const value = Buffer.alloc(spec.size, 0x62);
  const open: Promise<RecordMetadata[]>[] = [];
  let acked = 0;
  const t0 = performance.now();
  // client 'batch': sendBatch() of CHUNK records, one promise per chunk instead of one per message.
  const batch = spec.client === 'batch' ? new Array(CHUNK).fill({ topic: spec.target, value }) : [];
  while (performance.now() - t0 < durationMs) {
    if (spec.client === 'batch') open.push(producer.sendBatch(batch));
    else {
      const chunk: Promise<RecordMetadata>[] = new Array(CHUNK);
      for (let i = 0; i < CHUNK; i++) chunk[i] = producer.send({ topic: spec.target, value });
      open.push(Promise.all(chunk));
    }
    if (open.length >= OPEN_CHUNKS) acked += (await open.shift()!).length;
    else await new Promise<void>((r) => setImmediate(r));
  }
  for (const c of open) acked += (await c).length;
  const seconds = (performance.now() - t0) / 1000;
  await producer.close();
  return { acked, seconds };
}

async function produce(client: Client, spec: LoadSpec): Promise<LoadResult> {
  await topicReady(client, spec.target);
  await produceFor(client, spec, 1000); // warm-up: JIT, connection, producer id
  const { acked, seconds } = await produceFor(client, spec, spec.durationMs);
  return throughput(acked, spec.size, seconds);
}

async function consume(client: Client, spec: LoadSpec): Promise<LoadResult> {
  const want = spec.count ?? 0;
  // Warm-up: a short read of the same topic.
  let n = 0;
  for await (const _ of client.consumer({ topic: spec.target, from: 'earliest' })) if (++n >= 50_000) break;
  n = 0;
  const t0 = performance.now();
  for await (const _ of client.consumer({ topic: spec.target, from: 'earliest' })) if (++n >= want) break;
  return throughput(n, spec.size, (performance.now() - t0) / 1000);
}

async function latency(client: Client, spec: LoadSpec): Promise<LoadResult> {
  const rate = spec.rate ?? 1000;
  await topicReady(client, spec.target);
  // linger 0: a latency-minded producer sends at once (the broker's batching still applies).
  const producer = client.producer({ acks: 1, lingerMs: 0 });
  const consumer = client.consumer({ topic: spec.target, from: 'latest' });
  await consumer.ready();
  const warmupMs = 1000;
  const rec = new LatencyRecorder(performance.now() + warmupMs);
  let sent = 0;
  let sendingDone = false;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const reading = (async () => {
    for await (const m of consumer) {
      rec.record(m.value!);
      if (rec.received >= sent && sendingDone) break;
    }
  })();
  const t0 = performance.now();
  sent = await paced(rate, spec.durationMs + warmupMs, (slot) => {
    producer.send({ topic: spec.target, value: stampedPayload(spec.size, slot) }).catch(() => undefined);
  });
  const seconds = (performance.now() - t0 - warmupMs) / 1000;
  sendingDone = true;
  await producer.flush();
  const deadline = Date.now() + 5000;
  while (rec.received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await consumer.close();
  await reading.catch(() => undefined);
  loopDelay.disable();
  // The generator's own event-loop stalls, so a tail can be told apart from the broker's.
  const note = `load-generator loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`;
  return { ...rec.result(sent, seconds, spec.size), note };
}

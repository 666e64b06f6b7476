import { Redis } from 'ioredis';
import type { LoadSpec } from './procs.js';
import { encodeCommand, RawRedis, type RespValue } from './resp.js';
import {
  LatencyRecorder,
  type LoadResult,
  paced,
  stampedPayload,
  throughput,
  windowedProduce,
} from './stats.js';

/*
 * Redis Streams load (AOF on, fsync every second), through `ioredis` ('std', many commands in
 * flight, which ioredis pipelines on its one connection) and through hand-encoded RESP on a plain
 * socket ('raw': XADD pipelined in 500-command writes, XRANGE pages of 10,000, XREAD BLOCK).
 */

const WINDOW = 20_000;
const PAGE = 10_000;

/** Load against Redis Streams. */
export async function redisLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.client === 'std') {
    const r = new Redis({ port: spec.port, host: '127.0.0.1', lazyConnect: true });
    await r.connect();
    try {
      if (spec.scenario === 'produce') return await stdProduce(r, spec);
      if (spec.scenario === 'consume') return await stdConsume(r, spec);
      return await stdLatency(r, spec);
    } finally {
      r.disconnect();
    }
  }
  if (spec.scenario === 'produce') return rawProduce(spec);
  if (spec.scenario === 'consume') return rawConsume(spec);
  return rawLatency(spec);
}

async function stdProduceFor(r: Redis, spec: LoadSpec, ms: number) {
  const value = Buffer.alloc(spec.size, 0x62);
  return windowedProduce(ms, WINDOW, 1000, () =>
    Promise.all(Array.from({ length: 1000 }, () => r.xadd(spec.target, '*', 'v', value))),
  );
}

async function stdProduce(r: Redis, spec: LoadSpec): Promise<LoadResult> {
  await stdProduceFor(r, spec, 1000);
  const { acked, seconds } = await stdProduceFor(r, spec, spec.durationMs);
  return throughput(acked, spec.size, seconds);
}

async function stdConsume(r: Redis, spec: LoadSpec): Promise<LoadResult> {
  const want = spec.count ?? 0;
  let n = 0;
  let start = '-';
  const t0 = performance.now();
  while (n < want) {
    const page = await r.xrangeBuffer(spec.target, start, '+', 'COUNT', PAGE);
    if (page.length === 0) break;
    n += page.length;
    start = `(${page[page.length - 1]![0].toString()}`;
  }
  return throughput(n, spec.size, (performance.now() - t0) / 1000);
}

async function stdLatency(r: Redis, spec: LoadSpec): Promise<LoadResult> {
  const reader = r.duplicate();
  const warmupMs = 1000;
  const rec = new LatencyRecorder(performance.now() + warmupMs);
  let stop = false;
  const reading = (async () => {
    let last = '$';
    while (!stop) {
      const res = await reader.xreadBuffer('BLOCK', 200, 'STREAMS', spec.target, last);
      if (!res) continue;
      const now = performance.now();
      for (const [, entries] of res) {
        for (const [id, fields] of entries) {
          rec.record(fields[1]!, now);
          last = id.toString();
        }
      }
    }
  })();
  // XREAD with '$' only sees entries added after it is parked: give it a moment.
  await new Promise((res) => setTimeout(res, 100));
  const t0 = performance.now();
  const sent = await paced(spec.rate ?? 1000, spec.durationMs + warmupMs, (slot) => {
    r.xadd(spec.target, '*', 'v', stampedPayload(spec.size, slot)).catch(() => undefined);
  });
  const seconds = (performance.now() - t0 - warmupMs) / 1000;
  const deadline = Date.now() + 5000;
  while (rec.received < sent && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  stop = true;
  await reading.catch(() => undefined);
  reader.disconnect();
  return rec.result(sent, seconds, spec.size);
}

async function rawProduceFor(raw: RawRedis, spec: LoadSpec, ms: number) {
  const cmd = encodeCommand(['XADD', spec.target, '*', 'v', Buffer.alloc(spec.size, 0x62)]);
  const burst = Buffer.concat(Array.from({ length: 500 }, () => cmd));
  const start = raw.replies;
  let sent = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (raw.pending < WINDOW) {
      raw.sendRaw(burst, 500);
      sent += 500;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  const deadline = Date.now() + 30_000;
  while (raw.replies - start < sent && Date.now() < deadline) await new Promise<void>((r) => setImmediate(r));
  return { acked: raw.replies - start, seconds: (performance.now() - t0) / 1000 };
}

async function rawProduce(spec: LoadSpec): Promise<LoadResult> {
  const raw = await RawRedis.open(spec.port);
  await rawProduceFor(raw, spec, 1000);
  const { acked, seconds } = await rawProduceFor(raw, spec, spec.durationMs);
  raw.close();
  return throughput(acked, spec.size, seconds);
}

function entries(v: RespValue): [Buffer, Buffer][] {
  if (!Array.isArray(v)) throw new Error(`XRANGE: unexpected reply ${String(v)}`);
  return v.map((e) => {
    const [id, fields] = e as [Buffer, Buffer[]];
    return [id, fields[1]!];
  });
}

async function rawConsume(spec: LoadSpec): Promise<LoadResult> {
  const raw = await RawRedis.open(spec.port);
  const want = spec.count ?? 0;
  let n = 0;
  let start = '-';
  const t0 = performance.now();
  while (n < want) {
    const page = entries(await raw.call(['XRANGE', spec.target, start, '+', 'COUNT', String(PAGE)]));
    if (page.length === 0) break;
    n += page.length;
    start = `(${page[page.length - 1]![0].toString()}`;
  }
  raw.close();
  return throughput(n, spec.size, (performance.now() - t0) / 1000);
}

async function rawLatency(spec: LoadSpec): Promise<LoadResult> {
  const reader = await RawRedis.open(spec.port);
  const writer = await RawRedis.open(spec.port);
  const warmupMs = 1000;
  const rec = new LatencyRecorder(performance.now() + warmupMs);
  let stop = false;
  const reading = (async () => {
    let last = '$';
    while (!stop) {
      const res = await reader.call(['XREAD', 'BLOCK', '200', 'STREAMS', spec.target, last]);
      if (!Array.isArray(res)) continue;
      const now = performance.now();
      for (const stream of res) {
        for (const [id, value] of entries((stream as RespValue[])[1]!)) {
          rec.record(value, now);
          last = id.toString();
        }
      }
    }
  })();
  await new Promise((res) => setTimeout(res, 100));
  const t0 = performance.now();
  const sent = await paced(spec.rate ?? 1000, spec.durationMs + warmupMs, (slot) => {
    writer.sendRaw(encodeCommand(['XADD', spec.target, '*', 'v', stampedPayload(spec.size, slot)]), 1);
  });
  const seconds = (performance.now() - t0 - warmupMs) / 1000;
  const deadline = Date.now() + 5000;
  while (rec.received < sent && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  stop = true;
  await reading.catch(() => undefined);
  reader.close();
  writer.close();
  return rec.result(sent, seconds, spec.size);
}

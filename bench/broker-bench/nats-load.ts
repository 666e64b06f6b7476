import { connect as netConnect, type Socket } from 'node:net';
import { AckPolicy, DeliverPolicy, type NatsConnection, connect as natsConnect } from 'nats';
import type { LoadSpec } from './procs.js';
import {
  LatencyRecorder,
  type LoadResult,
  paced,
  stampedPayload,
  throughput,
  windowedProduce,
} from './stats.js';

/*
 * NATS JetStream load, through the standard `nats` client ('std') and through hand-written NATS
 * protocol lines on a plain socket ('raw': pipelined PUBs with one reply subject for the acks, and
 * an ack-none push consumer read as MSG lines). Stream setup uses the std client in both cases;
 * only the measured data path differs.
 */

const WINDOW = 20_000;

async function ensureStream(nc: NatsConnection, spec: LoadSpec): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(spec.target);
  } catch {
    await jsm.streams.add({ name: spec.target, subjects: [`${spec.target}.data`] });
  }
}

/** A minimal NATS protocol reader: calls `onMsg` with each MSG payload, answers PING. */
class RawNats {
  private buf: Buffer = Buffer.alloc(0);
  constructor(
    readonly sock: Socket,
    private readonly onMsg: (subject: string, payload: Buffer) => void,
  ) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => undefined);
  }

  static async open(port: number, onMsg: (subject: string, payload: Buffer) => void): Promise<RawNats> {
    const sock = netConnect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const raw = new RawNats(sock, onMsg);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write('CONNECT {"verbose":false,"pedantic":false,"headers":false,"protocol":1}\r\n');
    await raw.flush();
    return raw;
  }

  private pongs: (() => void)[] = [];
  /** Round trip: resolves when everything written before it was processed by the server. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.sock.write('PING\r\n');
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let pos = 0;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', pos);
      if (eol < 0) break;
      const c0 = this.buf[pos];
      if (c0 === 0x4d /* M */) {
        const line = this.buf.toString('latin1', pos, eol);
        const parts = line.split(' ');
        const size = Number(parts[parts.length - 1]);
        if (eol + 2 + size + 2 > this.buf.length) break;
        this.onMsg(parts[1]!, this.buf.subarray(eol + 2, eol + 2 + size));
        pos = eol + 2 + size + 2;
        continue;
      }
      const line = this.buf.toString('latin1', pos, eol);
      if (line === 'PING') this.sock.write('PONG\r\n');
      else if (line === 'PONG') this.pongs.shift()?.();
      else if (line.startsWith('-ERR')) process.stderr.write(`nats raw: ${line}\n`);
      pos = eol + 2;
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }
}

/** Load against NATS JetStream. */
export async function natsLoad(spec: LoadSpec): Promise<LoadResult> {
  const nc = await natsConnect({ servers: `127.0.0.1:${spec.port}` });
  try {
    await ensureStream(nc, spec);
    if (spec.client === 'std') {
      if (spec.scenario === 'produce') return await stdProduce(nc, spec);
      if (spec.scenario === 'consume') return await stdConsume(nc, spec);
      return await stdLatency(nc, spec);
    }
    if (spec.scenario === 'produce') return await rawProduce(spec);
    if (spec.scenario === 'consume') return await rawConsume(nc, spec);
    return await rawLatency(nc, spec);
  } finally {
    await nc.close();
  }
}

async function stdProduceFor(nc: NatsConnection, spec: LoadSpec, ms: number) {
  const js = nc.jetstream();
  const subject = `${spec.target}.data`;
  const value = Buffer.alloc(spec.size, 0x62);
  return windowedProduce(ms, WINDOW, 1000, () =>
    Promise.all(Array.from({ length: 1000 }, () => js.publish(subject, value))),
  );
}

async function stdProduce(nc: NatsConnection, spec: LoadSpec): Promise<LoadResult> {
  await stdProduceFor(nc, spec, 1000);
  const { acked, seconds } = await stdProduceFor(nc, spec, spec.durationMs);
  return throughput(acked, spec.size, seconds);
}

async function stdConsume(nc: NatsConnection, spec: LoadSpec): Promise<LoadResult> {
  const js = nc.jetstream();
  const want = spec.count ?? 0;
  const t0 = performance.now();
  const c = await js.consumers.get(spec.target);
  const iter = await c.consume({ max_messages: 10_000 });
  let n = 0;
  for await (const _ of iter) if (++n >= want) break;
  return throughput(n, spec.size, (performance.now() - t0) / 1000);
}

async function stdLatency(nc: NatsConnection, spec: LoadSpec): Promise<LoadResult> {
  const js = nc.jetstream();
  const subject = `${spec.target}.data`;
  const c = await js.consumers.get(spec.target, { deliver_policy: DeliverPolicy.New });
  const iter = await c.consume({ max_messages: 10_000 });
  const warmupMs = 1000;
  const rec = new LatencyRecorder(performance.now() + warmupMs);
  const reading = (async () => {
    for await (const m of iter) rec.record(m.data);
  })();
  const t0 = performance.now();
  const sent = await paced(spec.rate ?? 1000, spec.durationMs + warmupMs, (slot) => {
    js.publish(subject, stampedPayload(spec.size, slot)).catch(() => undefined);
  });
  const seconds = (performance.now() - t0 - warmupMs) / 1000;
  const deadline = Date.now() + 5000;
  while (rec.received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  iter.stop();
  await reading.catch(() => undefined);
  return rec.result(sent, seconds, spec.size);
}

async function rawProduceFor(raw: RawNats, spec: LoadSpec, ms: number, counter: { acks: number }) {
  const subject = `${spec.target}.data`;
  const frame = Buffer.concat([
    Buffer.from(`PUB ${subject} _INBOX.benchacks ${spec.size}\r\n`),
    Buffer.alloc(spec.size, 0x62),
    Buffer.from('\r\n'),
  ]);
  const start = counter.acks;
  let sent = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (sent - (counter.acks - start) < WINDOW) {
      const n = 500;
      raw.sock.write(Buffer.concat(Array.from({ length: n }, () => frame)));
      sent += n;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  const deadline = Date.now() + 30_000;
  while (counter.acks - start < sent && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  return { acked: counter.acks - start, seconds: (performance.now() - t0) / 1000 };
}

async function rawProduce(spec: LoadSpec): Promise<LoadResult> {
  const counter = { acks: 0 };
  const raw = await RawNats.open(spec.port, () => {
    counter.acks++;
  });
  raw.sock.write('SUB _INBOX.benchacks 1\r\n');
  await raw.flush();
  await rawProduceFor(raw, spec, 1000, counter);
  const { acked, seconds } = await rawProduceFor(raw, spec, spec.durationMs, counter);
  raw.sock.destroy();
  return throughput(acked, spec.size, seconds);
}

/** An ack-none push consumer delivering to `deliver`, created after the raw socket subscribed. */
async function pushConsumer(nc: NatsConnection, spec: LoadSpec, deliver: string, policy: DeliverPolicy) {
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(spec.target, {
    deliver_subject: deliver,
    ack_policy: AckPolicy.None,
    deliver_policy: policy,
  });
}

async function rawConsume(nc: NatsConnection, spec: LoadSpec): Promise<LoadResult> {
  const want = spec.count ?? 0;
  let n = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const raw = await RawNats.open(spec.port, () => {
    if (++n === want) done();
  });
  const deliver = `deliver.${spec.target}.${Date.now()}`;
  raw.sock.write(`SUB ${deliver} 1\r\n`);
  await raw.flush();
  const t0 = performance.now();
  await pushConsumer(nc, spec, deliver, DeliverPolicy.All);
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
  const seconds = (performance.now() - t0) / 1000;
  raw.sock.destroy();
  return throughput(n, spec.size, seconds);
}

async function rawLatency(nc: NatsConnection, spec: LoadSpec): Promise<LoadResult> {
  const warmupMs = 1000;
  const rec = new LatencyRecorder(performance.now() + warmupMs);
  const sub = await RawNats.open(spec.port, (_s, payload) => rec.record(payload));
  const deliver = `deliver.${spec.target}.${Date.now()}`;
  sub.sock.write(`SUB ${deliver} 1\r\n`);
  await sub.flush();
  await pushConsumer(nc, spec, deliver, DeliverPolicy.New);
  const pub = await RawNats.open(spec.port, () => undefined);
  const subject = `${spec.target}.data`;
  const head = Buffer.from(`PUB ${subject} ${spec.size}\r\n`);
  const crlf = Buffer.from('\r\n');
  const t0 = performance.now();
  const sent = await paced(spec.rate ?? 1000, spec.durationMs + warmupMs, (slot) => {
    pub.sock.write(Buffer.concat([head, stampedPayload(spec.size, slot), crlf]));
  });
  const seconds = (performance.now() - t0 - warmupMs) / 1000;
  const deadline = Date.now() + 5000;
  while (rec.received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  sub.sock.destroy();
  pub.sock.destroy();
  return rec.result(sent, seconds, spec.size);
}

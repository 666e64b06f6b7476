import { codeForWire, GregorError, isGregorError } from '../errors.js';
import type { Acks, ProducePartition } from '../protocol/index.js';
import {
  type Compression,
  encodeBatch,
  type RecordHeader,
  type RecordInput,
} from '../storage/record-batch.js';
import { retryIdempotent } from './admin.js';
import { ClientClosedError, checkInt, InvalidOptionError } from './client-errors.js';
import type { Cluster } from './cluster.js';
import type { Connection } from './connection.js';
import {
  type OutgoingBatch,
  PartitionQueue,
  type PendingRecord,
  type ProducerIdentity,
  type RecordMetadata,
  type RecordSink,
} from './partition-queue.js';
import { partitionForKey } from './partitioner.js';

export type { RecordMetadata } from './partition-queue.js';

type Queue = PartitionQueue;

/** Chooses a partition for a message without an explicit one. */
export type Partitioner = (key: Buffer | null, partitions: number, topic: string) => number;

/** Options of `client.producer()`. */
export interface ProducerOptions {
  /** 0: fire and forget (offset -1), 1: leader wrote it, 'all': every in-sync replica has it. Default 1. */
  acks?: 0 | 1 | 'all';
  /** How long a batch waits for more messages before it is sent, ms. Default 5. */
  lingerMs?: number;
  /** A batch is sent once its records reach this many bytes. Default 65536. */
  batchBytes?: number;
  /** Batch compression. Default 'none'. */
  compression?: Compression;
  /** Producer id + per-partition sequences so a retry never duplicates. Default true (false with acks 0). */
  idempotent?: boolean;
  /** Batches per partition awaiting an answer at once (at most 5 when idempotent). Default 5. */
  maxInFlight?: number;
  /** Attempts after the first for a batch that failed with a retriable error. Default 20. */
  retries?: number;
  /** First retry backoff, ms; doubles per attempt up to 1000. Default 100. */
  retryBackoffMs?: number;
  /** Most bytes of unsent messages held; `send()` waits for room beyond that. Default 32 MiB. */
  bufferBytes?: number;
  /** How long the broker may take to replicate before answering TIMEOUT, ms. Default 30000. */
  ackTimeoutMs?: number;
  /**
   * How long a batch may wait for its partition to have a leader before its sends fail with
   * TIMEOUT, ms (Kafka's delivery.timeout.ms). Default 120000.
   */
  deliveryTimeoutMs?: number;
  /** Default: murmur2 of the key (Kafka-compatible); keyless messages stick to one partition per batch. */
  partitioner?: Partitioner;
}

/** One message to produce. */
export interface ProducerRecord {
  topic: string;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer> | RecordHeader[];
  /** Explicit partition; otherwise the partitioner picks one. */
  partition?: number;
  /** ms since epoch or a Date; default the time of `send()`. */
  timestamp?: number | Date;
}

/** A record after `prepare`: checked, sized, and its destination topic and partition (if explicit). */
interface PreparedRecord {
  topic: string;
  partition: number | undefined;
  record: RecordInput;
  size: number;
}

/** Idempotent producers keep at most this many batches in flight per partition (the broker's dedup window). */
const MAX_IDEMPOTENT_IN_FLIGHT = 5;
/** Per-record overhead added to the byte estimate (lengths, deltas, attributes). */
const RECORD_OVERHEAD_BYTES = 24;

/**
 * Batches messages per partition (by linger time and batch bytes), sends each partition's batches
 * in order to its leader, and resolves every `send()` with the message's own offset. With
 * idempotence (the default) every batch carries the producer id and a sequence number, and a
 * batch whose answer was lost (connection cut, timeout) is re-sent with the same sequence: the
 * broker answers with the offsets it already gave instead of writing it twice.
 */
export class Producer {
  private readonly acks: Acks;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly compression: Compression;
  private readonly idempotent: boolean;
  private readonly maxInFlight: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  private readonly bufferBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly partitioner: Partitioner | undefined;

  private readonly queues = new Map<string, Queue>();
  private readonly sticky = new Map<string, number>();
  private identity: ProducerIdentity | null = null;
  private identityPromise: Promise<ProducerIdentity> | null = null;
  private buffered = 0;
  private unsettled = 0;
  private slowPath: Promise<unknown> = Promise.resolve();
  private slowPending = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  /** Queues whose linger ran out while all their in-flight slots were taken (sealed on the next answer). */
  private readonly lingerDue = new Set<Queue>();
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    opts: ProducerOptions = {},
  ) {
    const acks = opts.acks ?? 1;
    if (acks !== 0 && acks !== 1 && acks !== 'all')
      throw new InvalidOptionError('producer.acks', `must be 0, 1 or 'all', got ${JSON.stringify(acks)}`);
    this.acks = acks === 'all' ? -1 : acks;
    if (opts.idempotent === true && acks === 0)
      throw new InvalidOptionError(
        'producer.idempotent',
        'needs acks 1 or all (acks 0 gets no answer to deduplicate)',
      );
    this.idempotent = opts.idempotent ?? acks !== 0;
    this.lingerMs = checkInt('producer.lingerMs', opts.lingerMs ?? 5, 0);
    this.batchBytes = checkInt('producer.batchBytes', opts.batchBytes ?? 64 * 1024, 1);
    const compression = opts.compression ?? 'none';
    if (!['none', 'snappy', 'lz4'].includes(compression))
      throw new InvalidOptionError(
        'producer.compression',
        `must be 'none', 'snappy' or 'lz4', got ${JSON.stringify(compression)}`,
      );
    this.compression = compression;
    const maxInFlight = checkInt('producer.maxInFlight', opts.maxInFlight ?? MAX_IDEMPOTENT_IN_FLIGHT, 1);
    if (this.idempotent && maxInFlight > MAX_IDEMPOTENT_IN_FLIGHT)
      throw new InvalidOptionError(
        'producer.maxInFlight',
        `must be at most ${MAX_IDEMPOTENT_IN_FLIGHT} when idempotent, got ${maxInFlight}`,
      );
    this.maxInFlight = maxInFlight;
    this.retries = checkInt('producer.retries', opts.retries ?? 20, 0);
    this.retryBackoffMs = checkInt('producer.retryBackoffMs', opts.retryBackoffMs ?? 100, 0);
    this.bufferBytes = checkInt('producer.bufferBytes', opts.bufferBytes ?? 32 * 1024 * 1024, 1);
    this.ackTimeoutMs = checkInt('producer.ackTimeoutMs', opts.ackTimeoutMs ?? 30_000, 0, 0xffff_ffff);
    this.deliveryTimeoutMs = checkInt('producer.deliveryTimeoutMs', opts.deliveryTimeoutMs ?? 120_000, 1);
    if (opts.partitioner !== undefined && typeof opts.partitioner !== 'function')
      throw new InvalidOptionError(
        'producer.partitioner',
        'must be a function (key, partitions, topic) => partition',
      );
    this.partitioner = opts.partitioner;
  }

  /**
   * Queues one message; resolves with its partition and offset once the broker acknowledged its
   * batch (acks 0: once written to the socket, offset -1). Messages to one partition keep the
   * order of their `send()` calls.
   */
  send(rec: ProducerRecord): Promise<RecordMetadata> {
    if (this.closed) return Promise.reject(new ClientClosedError('producer'));
    let input: PreparedRecord;
    try {
      input = this.prepare(rec, 'send()');
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<RecordMetadata>((resolve, reject) => {
      const sink: RecordSink = { ok: (_slot, m) => resolve(m), fail: reject };
      this.enqueue(input, { record: input.record, size: input.size, sink, slot: 0 });
    });
  }

  /**
   * Queues many messages at once, as if each were `send()`, in array order; resolves with their
   * metadata in the same order once every one is acknowledged. One promise for the whole array
   * rather than one per message, which is what a producer sending at hundreds of thousands of
   * messages a second spends most of its time on. Every record is checked before any is queued,
   * so a bad one (named by index) queues nothing; a failure after that rejects with the first
   * error, and the other messages may still have been written, as with separate sends.
   */
  sendBatch(recs: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClientClosedError('producer'));
    if (!Array.isArray(recs))
      return Promise.reject(new InvalidOptionError('sendBatch()', 'needs an array of records'));
    const inputs: PreparedRecord[] = new Array(recs.length);
    try {
      for (let i = 0; i < recs.length; i++) inputs[i] = this.prepare(recs[i]!, `sendBatch()[${i}]`);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      if (inputs.length === 0) {
        resolve([]);
        return;
      }
      const sink = new BatchSink(inputs.length, resolve, reject);
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i]!;
        this.enqueue(input, { record: input.record, size: input.size, sink, slot: i });
      }
    });
  }

  /** Places one checked record now when route, identity and buffer room allow; else in order behind the slow path. */
  private enqueue(input: PreparedRecord, pending: PendingRecord): void {
    this.unsettled++;
    const route = this.cluster.cachedRoute(input.topic);
    const fast =
      this.slowPending === 0 &&
      route !== undefined &&
      (!this.idempotent || this.identity !== null) &&
      this.buffered + input.size <= this.bufferBytes;
    if (fast) {
      this.place(input.topic, input.partition, route.leaders.length, pending);
      return;
    }
    // Slow path (metadata, producer id or buffer room pending): chained so order is kept.
    this.slowPending++;
    this.slowPath = this.slowPath
      .then(async () => {
        if (this.idempotent) await this.ensureIdentity();
        const r = await this.cluster.route(input.topic);
        await this.waitForRoom(input.size);
        this.place(input.topic, input.partition, r.leaders.length, pending);
      })
      .catch((err: unknown) => this.settleRecord(pending, err as Error))
      .finally(() => {
        this.slowPending--;
      });
  }

  /** Sends everything queued now and resolves once every message sent so far is settled. */
  async flush(): Promise<void> {
    await this.slowPath;
    for (const q of this.queues.values()) this.seal(q);
    this.drain();
    if (this.unsettled === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      for (const q of this.queues.values()) this.clearLinger(q);
    }
  }

  /** Checks one record (errors name `where`, e.g. `send()` or `sendBatch()[3]`) and sizes it. */
  private prepare(rec: ProducerRecord, where: string): PreparedRecord {
    if (!rec || typeof rec !== 'object') throw new InvalidOptionError(where, 'needs a record object');
    if (typeof rec.topic !== 'string' || rec.topic === '')
      throw new InvalidOptionError(
        `${where}.topic`,
        `must be a topic name, got ${JSON.stringify(rec.topic)}`,
      );
    const value = rec.value;
    if (value !== null && typeof value !== 'string' && !Buffer.isBuffer(value))
      throw new InvalidOptionError(`${where}.value`, 'must be a Buffer, a string or null');
    const key = rec.key ?? null;
    if (key !== null && typeof key !== 'string' && !Buffer.isBuffer(key))
      throw new InvalidOptionError(`${where}.key`, 'must be a Buffer, a string or null');
    const partition =
      rec.partition === undefined ? undefined : checkInt(`${where}.partition`, rec.partition, 0, 0x7fff_ffff);
    const ts = rec.timestamp instanceof Date ? rec.timestamp.getTime() : (rec.timestamp ?? Date.now());
    const timestamp = checkInt(`${where}.timestamp`, ts, 0);
    let size = RECORD_OVERHEAD_BYTES + byteLen(key) + byteLen(value);
    if (rec.headers) {
      const list = Array.isArray(rec.headers)
        ? rec.headers
        : Object.entries(rec.headers).map(([k, v]) => ({ key: k, value: v }));
      for (const h of list) size += byteLen(h.key) + byteLen(h.value) + 4;
    }
    const record: RecordInput = { key, value, timestamp };
    if (rec.headers) record.headers = rec.headers;
    return { topic: rec.topic, partition, record, size };
  }

  private choosePartition(topic: string, key: Buffer | string | null, count: number): number {
    if (this.partitioner) {
      const k = key === null ? null : typeof key === 'string' ? Buffer.from(key) : key;
      const p = this.partitioner(k, count, topic);
      if (!Number.isInteger(p) || p < 0 || p >= count)
        throw new InvalidOptionError(
          'producer.partitioner',
          `returned ${p} for a topic with ${count} partitions`,
        );
      return p;
    }
    if (key !== null) return partitionForKey(key, count);
    let p = this.sticky.get(topic);
    if (p === undefined || p >= count) {
      p = Math.floor(Math.random() * count);
      this.sticky.set(topic, p);
    }
    return p;
  }

  private place(topic: string, explicit: number | undefined, count: number, pending: PendingRecord): void {
    let partition: number;
    try {
      if (count === 0) throw new GregorError('UNKNOWN_TOPIC', `topic "${topic}" has no partitions`);
      if (explicit !== undefined && explicit >= count)
        throw new GregorError(
          'UNKNOWN_PARTITION',
          `topic "${topic}" has partitions 0-${count - 1}; send().partition is ${explicit}`,
        );
      partition =
        explicit ??
        this.choosePartition(topic, (pending.record.key as Buffer | string | null) ?? null, count);
    } catch (err) {
      this.settleRecord(pending, err as Error);
      return;
    }
    const id = `${topic}\u0000${partition}`;
    let q = this.queues.get(id);
    if (!q) {
      q = new PartitionQueue(topic, partition, this.idempotent ? this.identity : null);
      this.queues.set(id, q);
    }
    pending.placed = true;
    q.open.push(pending);
    q.openBytes += pending.size;
    this.buffered += pending.size;
    if (q.openBytes >= this.batchBytes) {
      this.seal(q);
      this.drain();
    } else if (q.open.length === 1) {
      q.lingerTimer =
        this.lingerMs === 0
          ? setImmediate(() => this.lingerExpired(q!))
          : setTimeout(() => this.lingerExpired(q!), this.lingerMs);
    }
  }

  private lingerExpired(q: Queue): void {
    q.lingerTimer = null;
    // With every in-flight slot taken a sealed batch could only wait; keeping the records open lets
    // later sends join them, so one larger batch goes out when a slot frees (afterSettle) instead
    // of a queue of tiny ones. This is what keeps latency flat when linger is short and load is high.
    if (q.inFlight >= this.maxInFlight && !q.holding && !q.resetting) {
      this.lingerDue.add(q);
      return;
    }
    this.seal(q);
    this.drain();
  }

  private clearLinger(q: Queue): void {
    if (!q.lingerTimer) return;
    if (this.lingerMs === 0) clearImmediate(q.lingerTimer as NodeJS.Immediate);
    else clearTimeout(q.lingerTimer as NodeJS.Timeout);
    q.lingerTimer = null;
  }

  private seal(q: Queue): void {
    this.clearLinger(q);
    this.lingerDue.delete(q);
    if (q.open.length === 0) return;
    if (this.sticky.get(q.topic) === q.partition) this.sticky.delete(q.topic);
    const { records, baseSequence } = q.takeOpen();
    let bytes: Buffer;
    try {
      bytes = encodeBatch(
        records.map((r) => r.record),
        q.identity
          ? {
              compression: this.compression,
              producerId: q.identity.producerId,
              producerEpoch: q.identity.producerEpoch,
              baseSequence,
            }
          : { compression: this.compression },
      );
    } catch (err) {
      for (const r of records) this.settleRecord(r, err as Error);
      return;
    }
    q.sealed.push({ records, bytes, baseSequence, attempts: 0, state: 'ready', sealedAt: Date.now() });
  }

  /** Sends every batch that may go now: one request per leader node, one batch per partition each. */
  private drain(): void {
    for (let round = 0; round < 10_000; round++) {
      const byNode = new Map<Connection, { q: Queue; batch: OutgoingBatch }[]>();
      for (const q of this.queues.values()) {
        const batch = q.nextToSend(this.maxInFlight);
        if (!batch) continue;
        const route = this.cluster.cachedRoute(q.topic);
        const leader = route?.leaders[q.partition];
        if (!route || !leader) {
          this.holdAndRefresh(q);
          continue;
        }
        let conn: Connection;
        try {
          conn = this.cluster.connectionTo(leader);
        } catch (err) {
          this.fail(q, batch, err as Error);
          continue;
        }
        const list = byNode.get(conn);
        if (list) list.push({ q, batch });
        else byNode.set(conn, [{ q, batch }]);
      }
      if (byNode.size === 0) return;
      for (const [conn, list] of byNode) this.sendTo(conn, list);
    }
  }

  private sendTo(conn: Connection, list: { q: Queue; batch: OutgoingBatch }[]): void {
    const partitions: ProducePartition[] = [];
    for (const { q, batch } of list) {
      batch.state = 'inflight';
      batch.attempts++;
      q.inFlight++;
      partitions.push({ topic: q.topic, partition: q.partition, records: batch.bytes });
    }
    const body = { acks: this.acks, timeoutMs: this.ackTimeoutMs, partitions };
    if (this.acks === 0) {
      conn.sendOneWay('PRODUCE', body).then(
        () => {
          for (const { q, batch } of list) this.succeed(q, batch, -1);
        },
        // At-most-once: a failed fire-and-forget write is reported, never retried.
        (err: Error) => {
          for (const { q, batch } of list) this.giveUp(q, batch, err);
        },
      );
      return;
    }
    conn.request('PRODUCE', body).then(
      (res) => {
        for (const { q, batch } of list) {
          const r = res.partitions.find((p) => p.topic === q.topic && p.partition === q.partition);
          if (!r)
            this.fail(q, batch, new GregorError('UNKNOWN', `PRODUCE answer lacks ${q.topic}/${q.partition}`));
          else if (r.errorCode !== 0) {
            const code = codeForWire(r.errorCode);
            this.fail(
              q,
              batch,
              new GregorError(code, `${q.topic}/${q.partition}: ${r.errorMessage ?? code}`),
            );
          } else this.succeed(q, batch, r.baseOffset);
        }
      },
      (err: Error) => {
        for (const { q, batch } of list) this.fail(q, batch, err);
      },
    );
  }

  private succeed(q: Queue, batch: OutgoingBatch, baseOffset: number): void {
    q.inFlight--;
    q.remove(batch);
    for (let i = 0; i < batch.records.length; i++) {
      this.finish(batch.records[i]!, null, {
        topic: q.topic,
        partition: q.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
      });
    }
    this.afterSettle(q);
  }

  private fail(q: Queue, batch: OutgoingBatch, error: Error): void {
    if (batch.state === 'inflight') {
      q.inFlight--;
      batch.state = 'ready';
    }
    const err = isGregorError(error) ? error : new GregorError('UNKNOWN', error.message, { cause: error });
    const atHead = q.sealed[0] === batch;
    // Out of order behind a failed batch is expected (its predecessor is being retried); at the
    // head it means the broker never got or lost the earlier sequences: re-stamp and resend.
    const outOfOrder = err.code === 'OUT_OF_ORDER_SEQUENCE';
    const retriable = err.retriable || outOfOrder;
    if (!retriable || batch.attempts > this.retries || this.closedForGood(err)) {
      this.giveUp(q, batch, batch.lastError && outOfOrder ? batch.lastError : err);
      return;
    }
    if (!outOfOrder) batch.lastError = err;
    if (err.code === 'NOT_OWNER' || err.code === 'UNKNOWN_PARTITION') this.cluster.invalidate(q.topic);
    if (outOfOrder && atHead && this.idempotent) q.resetting = true;
    q.holding = true;
    this.afterSettle(q);
  }

  private closedForGood(err: GregorError): boolean {
    return err.code === 'CLIENT_CLOSED';
  }

  private giveUp(q: Queue, batch: OutgoingBatch, err: Error): void {
    if (batch.state === 'inflight') {
      q.inFlight--;
      batch.state = 'ready';
    }
    q.remove(batch);
    for (const r of batch.records) this.settleRecord(r, err);
    this.afterSettle(q);
  }

  /** After an answer: resume a held queue once its in-flight batches are all back, then send more. */
  private afterSettle(q: Queue): void {
    if ((q.holding || q.resetting) && q.inFlight === 0 && !q.retryScheduled) {
      q.retryScheduled = true;
      const attempts = q.sealed[0]?.attempts ?? 1;
      const delay = Math.min(1000, this.retryBackoffMs * 2 ** Math.max(0, attempts - 1));
      setTimeout(() => void this.resume(q), delay);
    }
    if (this.lingerDue.has(q)) this.seal(q);
    this.drain();
  }

  private async resume(q: Queue): Promise<void> {
    try {
      if (q.resetting) {
        const fresh = await retryIdempotent(() =>
          this.cluster.any().request('INIT_PRODUCER_ID', { producerId: -1, producerEpoch: -1 }),
        );
        q.restamp(fresh);
      }
      if (!this.cluster.cachedRoute(q.topic)) await this.cluster.route(q.topic).catch(() => undefined);
    } catch (err) {
      for (const b of [...q.sealed]) this.giveUp(q, b, err as Error);
    } finally {
      q.resetting = false;
      q.holding = false;
      q.retryScheduled = false;
      this.drain();
    }
  }

  private holdAndRefresh(q: Queue): void {
    if (q.holding) return;
    q.holding = true;
    // The cached route has no leader for this partition: drop it so the refresh asks the broker
    // again (leaders appear within seconds while a node joins), instead of waiting out its age.
    this.cluster.invalidate(q.topic);
    this.cluster
      .route(q.topic)
      .catch((err: unknown) => {
        const e = err as GregorError;
        if (!e.retriable) for (const b of [...q.sealed]) this.giveUp(q, b, e);
      })
      .finally(() => {
        this.expireLeaderless(q);
        this.afterSettle(q);
      });
  }

  /** Fails the batches that have waited longer than deliveryTimeoutMs for a leader. */
  private expireLeaderless(q: Queue): void {
    const now = Date.now();
    for (const b of [...q.sealed]) {
      if (b.state !== 'ready' || now - b.sealedAt < this.deliveryTimeoutMs) continue;
      this.giveUp(
        q,
        b,
        new GregorError(
          'TIMEOUT',
          `${q.topic}/${q.partition} had no leader for ${now - b.sealedAt} ms (producer.deliveryTimeoutMs ${this.deliveryTimeoutMs})`,
        ),
      );
    }
  }

  private async ensureIdentity(): Promise<ProducerIdentity> {
    if (this.identity) return this.identity;
    this.identityPromise ??= retryIdempotent(() =>
      this.cluster.any().request('INIT_PRODUCER_ID', { producerId: -1, producerEpoch: -1 }),
    ).then(
      (id) => (this.identity = id),
      (err) => {
        this.identityPromise = null;
        throw err;
      },
    );
    return this.identityPromise;
  }

  private waitForRoom(size: number): Promise<void> | undefined {
    if (this.buffered + size <= this.bufferBytes || this.buffered === 0) return undefined;
    for (const q of this.queues.values()) this.seal(q);
    this.drain();
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve)).then(() => this.waitForRoom(size));
  }

  private settleRecord(r: PendingRecord, err: Error): void {
    this.finish(r, err);
  }

  /** Settles one send(): frees its buffer share and wakes senders waiting for room or flush(). */
  private finish(r: PendingRecord, err: Error | null, meta?: RecordMetadata): void {
    if (r.placed) this.buffered -= r.size;
    this.unsettled--;
    if (err) r.sink.fail(err);
    else r.sink.ok(r.slot, meta!);
    if (this.roomWaiters.length > 0 && this.buffered < this.bufferBytes)
      for (const w of this.roomWaiters.splice(0)) w();
    if (this.unsettled === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}

/** Collects a sendBatch()'s metadata in call order; settles its promise once (first error wins). */
class BatchSink implements RecordSink {
  private readonly out: RecordMetadata[];
  private left: number;
  private done = false;

  constructor(
    count: number,
    private readonly resolve: (m: RecordMetadata[]) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.out = new Array(count);
    this.left = count;
  }

  ok(slot: number, m: RecordMetadata): void {
    this.out[slot] = m;
    if (--this.left === 0 && !this.done) {
      this.done = true;
      this.resolve(this.out);
    }
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.reject(err);
  }
}

function byteLen(v: Buffer | string | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

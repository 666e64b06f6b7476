import type { StartPosition } from '../protocol/index.js';
import type { Admin } from './admin.js';
import { checkInt, InvalidOptionError } from './client-errors.js';
import type { Cluster } from './cluster.js';
import { FetchSource } from './fetch-source.js';
import type { Message } from './message.js';
import { MessageBuffer } from './message-buffer.js';
import { type ConsumerSource, SubscribeSource } from './subscribe-source.js';

/** Where a consumer starts: log start, log end, an offset, or the first message at/after a time. */
export type StartFrom = 'earliest' | 'latest' | number | Date;

/** Options of `client.consumer()`. */
export interface ConsumerOptions {
  topic: string;
  /** Partitions to read; default all. */
  partitions?: number[];
  /** Default 'latest' (only messages produced from now on). */
  from?: StartFrom;
  /** 'subscribe' (server push with credit, the default) or 'fetch' (long-poll pull loop). */
  mode?: 'subscribe' | 'fetch';
  /** Byte window per partition: credit in subscribe mode, fetch size in fetch mode. Default 4 MiB. */
  maxBytes?: number;
  /** Message window per partition in subscribe mode (credit). Default 10000. */
  maxMessages?: number;
  /** Fetch mode: how long one fetch waits for data, ms. Default 500. */
  maxWaitMs?: number;
}

/** Options of `client.subscribe()` on an ephemeral topic. */
export interface SubscribeOptions {
  partitions?: number[];
  /** Credit window; the broker drops messages for a subscriber out of credit (at-most-once). Default 8 MiB. */
  maxBytes?: number;
  /** Default 50000. */
  maxMessages?: number;
}

/** Turns a StartFrom into the wire start position, naming the option when it is malformed. */
export function toStartPosition(from: StartFrom, option = 'consumer.from'): StartPosition {
  if (from === 'earliest' || from === 'latest') return { kind: from };
  if (from instanceof Date) {
    const ms = from.getTime();
    if (Number.isNaN(ms)) throw new InvalidOptionError(option, 'is an invalid Date');
    return { kind: 'timestamp', timestampMs: ms };
  }
  if (typeof from === 'number') return { kind: 'offset', offset: checkInt(option, from, 0) };
  throw new InvalidOptionError(
    option,
    `must be 'earliest', 'latest', an offset or a Date, got ${JSON.stringify(from)}`,
  );
}

/**
 * Reads a topic from any start position as an async iterator of messages:
 *
 *   for await (const m of client.consumer({ topic: 't', from: 'earliest' })) { ... }
 *
 * Breaking out of the loop closes the consumer. Messages of one partition come in offset order;
 * partitions interleave. `ready()` resolves once the start position is fixed (so messages
 * produced after it are certainly seen with from 'latest').
 */
export class Consumer implements AsyncIterableIterator<Message> {
  private readonly buffer = new MessageBuffer();
  private readonly source: ConsumerSource;
  private readonly started: Promise<void>;
  private readonly consumed = new Map<number, number>();
  private closed = false;

  /** @internal use `client.consumer()` / `client.subscribe()` */
  constructor(
    cluster: Cluster,
    admin: Admin,
    opts: ConsumerOptions & { requestTimeoutMs: number; ephemeralDefaults?: boolean },
    private readonly onClose: (c: Consumer) => void,
  ) {
    if (!opts || typeof opts.topic !== 'string' || opts.topic === '')
      throw new InvalidOptionError(
        'consumer.topic',
        `must be a topic name, got ${JSON.stringify(opts?.topic)}`,
      );
    const partitions = opts.partitions?.map((p, i) =>
      checkInt(`consumer.partitions[${i}]`, p, 0, 0x7fff_ffff),
    );
    const start = toStartPosition(opts.from ?? 'latest');
    const mode = opts.mode ?? 'subscribe';
    if (mode !== 'subscribe' && mode !== 'fetch')
      throw new InvalidOptionError(
        'consumer.mode',
        `must be 'subscribe' or 'fetch', got ${JSON.stringify(mode)}`,
      );
    const eph = opts.ephemeralDefaults === true;
    const maxBytes = checkInt(
      'consumer.maxBytes',
      opts.maxBytes ?? (eph ? 8 : 4) * 1024 * 1024,
      1,
      0xffff_ffff,
    );
    const maxMessages = checkInt(
      'consumer.maxMessages',
      opts.maxMessages ?? (eph ? 50_000 : 10_000),
      1,
      0xffff_ffff,
    );
    const ctx = { cluster, topic: opts.topic, partitions, buffer: this.buffer };
    this.source =
      mode === 'fetch'
        ? new FetchSource(ctx, admin, {
            start,
            maxBytesPerPartition: maxBytes,
            maxWaitMs: checkInt('consumer.maxWaitMs', opts.maxWaitMs ?? 500, 0, 0xffff_ffff),
            highWaterMessages: maxMessages,
            requestTimeoutMs: opts.requestTimeoutMs,
          })
        : new SubscribeSource(ctx, start, { messages: maxMessages, bytes: maxBytes });
    this.started = this.source.start();
    this.started.catch((err: Error) => this.buffer.fail(err));
  }

  /** Resolves once subscriptions are open (subscribe) or start offsets are resolved (fetch). */
  ready(): Promise<void> {
    return this.started;
  }

  /** The next message (waits for one). Rejects with the error that ended the consumer. */
  async next(): Promise<IteratorResult<Message>> {
    if (this.closed) return { value: undefined, done: true };
    const r = await this.buffer.next();
    if (!r.done) this.consumed.set(r.value.partition, r.value.offset + 1);
    return r;
  }

  /** Called by `for await` on break/return/throw: closes the consumer. */
  async return(): Promise<IteratorResult<Message>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }

  /** Next offset per partition after the messages handed out so far (the position to resume from). */
  positions(): Map<number, number> {
    return new Map(this.consumed);
  }

  /** Stops consuming and closes this consumer's connections; a pending `next()` resolves done. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.source.close();
    this.buffer.end();
    this.onClose(this);
  }

  /** @internal for the client's close */
  get isClosed(): boolean {
    return this.closed;
  }
}

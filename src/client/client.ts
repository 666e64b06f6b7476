import type { RecordHeader } from '../storage/record-batch.js';
import { encodeBatch } from '../storage/record-batch.js';
import { Admin } from './admin.js';
import { ClientClosedError, checkInt, InvalidOptionError } from './client-errors.js';
import { type ConnectOptions, type ResolvedConnectOptions, resolveConnectOptions } from './client-options.js';
import { Cluster } from './cluster.js';
import { Consumer, type ConsumerOptions, type SubscribeOptions } from './consumer.js';
import { GroupAdmin } from './group-admin.js';
import { GroupConsumer, type GroupConsumerOptions } from './group-consumer.js';
import { partitionForKey } from './partitioner.js';
import { Producer, type ProducerOptions } from './producer.js';

/** Options of `client.publish()`. */
export interface PublishOptions {
  key?: Buffer | string | null;
  /** Default: from the key (murmur2), or round robin without one. */
  partition?: number;
  headers?: Record<string, string | Buffer> | RecordHeader[];
  /** 1 (default): resolve with the subscriber count; 0: resolve once written. */
  acks?: 0 | 1;
}

/**
 * A connection to a GregorMQ cluster: topic admin, producers, consumers and ephemeral pub/sub.
 * Create one with `connect()` and share it; `close()` flushes producers and closes everything.
 */
export class Client {
  /** Topic administration. */
  readonly admin: Admin;
  /** Consumer-group administration (list, describe with lag, reset offsets). */
  readonly groups: GroupAdmin;
  private readonly groupConsumers = new Set<GroupConsumer>();
  private readonly producers = new Set<Producer>();
  private readonly consumers = new Set<Consumer>();
  private roundRobin = 0;
  private closed = false;

  /** @internal use `connect()` */
  constructor(private readonly cluster: Cluster) {
    this.admin = new Admin(cluster);
    this.groups = new GroupAdmin(cluster, this.admin);
  }

  /** The resolved options this client runs with. */
  get options(): ResolvedConnectOptions {
    return this.cluster.options;
  }

  /** A batching, (by default idempotent) producer. */
  producer(opts: ProducerOptions = {}): Producer {
    this.assertOpen();
    const p = new Producer(this.cluster, opts);
    this.producers.add(p);
    return p;
  }

  /** An async iterator over a topic from any start position (see ConsumerOptions). */
  consumer(opts: ConsumerOptions): Consumer {
    this.assertOpen();
    const c = new Consumer(
      this.cluster,
      this.admin,
      { ...opts, requestTimeoutMs: this.cluster.options.requestTimeoutMs },
      (x) => this.consumers.delete(x),
    );
    this.consumers.add(c);
    return c;
  }

  /** A member of a consumer group (fanout: partitions shared, offsets committed; queue: per-message ack). */
  groupConsumer(opts: GroupConsumerOptions): GroupConsumer {
    this.assertOpen();
    const c = new GroupConsumer(this.cluster, opts, (x) => this.groupConsumers.delete(x));
    this.groupConsumers.add(c);
    return c;
  }

  /**
   * A live subscription (at-most-once, from now on) to an ephemeral topic; works on durable topics
   * too, from their end. Await `ready()` before publishing if the first messages matter.
   */
  subscribe(topic: string, opts: SubscribeOptions = {}): Consumer {
    this.assertOpen();
    const c = new Consumer(
      this.cluster,
      this.admin,
      {
        topic,
        from: 'latest',
        mode: 'subscribe',
        requestTimeoutMs: this.cluster.options.requestTimeoutMs,
        ephemeralDefaults: true,
        ...(opts.partitions ? { partitions: opts.partitions } : {}),
        ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }),
        ...(opts.maxMessages === undefined ? {} : { maxMessages: opts.maxMessages }),
      },
      (x) => this.consumers.delete(x),
    );
    this.consumers.add(c);
    return c;
  }

  /**
   * Publishes one message to an ephemeral topic: handed to the subscribers connected now, never
   * stored. Resolves with how many subscriptions got it (0 with acks 0).
   */
  async publish(
    topic: string,
    value: Buffer | string | null,
    opts: PublishOptions = {},
  ): Promise<{ subscribers: number }> {
    this.assertOpen();
    const route = await this.cluster.route(topic);
    const count = route.leaders.length;
    const key = opts.key ?? null;
    let partition: number;
    if (opts.partition !== undefined) partition = checkInt('publish.partition', opts.partition, 0, count - 1);
    else if (key !== null) partition = partitionForKey(key, count);
    else partition = this.roundRobin++ % count;
    const acks = opts.acks ?? 1;
    if (acks !== 0 && acks !== 1)
      throw new InvalidOptionError('publish.acks', `must be 0 or 1, got ${JSON.stringify(acks)}`);
    const records = encodeBatch([{ key, value, ...(opts.headers ? { headers: opts.headers } : {}) }]);
    const conn = await this.cluster.leaderConnection(topic, partition);
    if (acks === 0) {
      await conn.sendOneWay('PUBLISH', { topic, partition, acks: 0, records });
      return { subscribers: 0 };
    }
    return conn.request('PUBLISH', { topic, partition, acks: 1, records });
  }

  /** Round trip to a broker; resolves with the broker's clock and the measured latency. */
  async ping(): Promise<{ serverTimeMs: number; roundTripMs: number }> {
    this.assertOpen();
    const t0 = performance.now();
    const r = await this.cluster.any().request('PING', { nonce: 1 });
    return { serverTimeMs: r.serverTimeMs, roundTripMs: performance.now() - t0 };
  }

  /** Flushes every producer, closes every consumer and connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const flushes = [...this.producers].map((p) => p.close().catch(() => undefined));
    await Promise.all(flushes);
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.groupConsumers].map((c) => c.close()));
    this.cluster.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClientClosedError('client');
  }
}

/**
 * Connects to a GregorMQ cluster through the first reachable bootstrap broker. Rejects with a
 * ConnectionError (code CONNECTION_CLOSED) naming every broker tried when none answers, and with
 * InvalidOptionError naming the option when the options are wrong.
 */
export async function connect(opts: ConnectOptions): Promise<Client> {
  const cluster = new Cluster(resolveConnectOptions(opts));
  try {
    await cluster.bootstrap();
  } catch (err) {
    cluster.close();
    throw err;
  }
  return new Client(cluster);
}

import type { Logger } from 'pino';
import { GregorError, isGregorError } from '../errors.js';
import { countRecords, readBatchHeader, validateBatch } from '../storage/record-batch.js';
import type { ProducerIdAllocator } from './producer-ids.js';
import type { TopicDefinition, TopicSpec } from './topic-definition.js';
import type { TopicDescription, TopicManager } from './topic-manager.js';

/** -1 = all in-sync replicas (today: the local log, fsynced), 0 = no answer, 1 = leader wrote it. */
export type Acks = -1 | 0 | 1;

export interface ProduceResult {
  baseOffset: number;
  lastOffset: number;
  duplicate: boolean;
  /** For ephemeral topics: how many subscribers got the batch. */
  delivered?: number;
}

export interface FetchPartitionRequest {
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
}

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  error?: GregorError;
  highWatermark: number;
  logStartOffset: number;
  /** Whole batches back to back (possibly empty). */
  bytes: Buffer;
}

export interface FetchOptions {
  /** Long poll: wait up to this long (ms) for at least `minBytes`. */
  maxWaitMs: number;
  minBytes: number;
  signal?: AbortSignal;
}

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

export interface NodeInfo {
  name: string;
  host: string;
  port: number;
}

export interface MetadataResult {
  nodes: NodeInfo[];
  topics: {
    definition: TopicDefinition;
    partitions: { partition: number; owner: string; replicas: string[] }[];
  }[];
}

/** A partition's serving node and replicas, by node name. */
export interface PartitionOwnerInfo {
  owner: string | null;
  replicas: string[];
}

/**
 * What cluster routing (src/routing) gives the service; absent on a single node, which then owns
 * every partition. Topic admin goes through it so a change reaches every node.
 */
export interface ServiceRouter {
  /** Throws NOT_OWNER (retriable) when this node does not serve the partition right now. */
  assertOwner(topic: string, partition: number): void;
  /** Every eligible node with its advertised client address. */
  nodes(): NodeInfo[];
  /** Owner per partition of a durable topic (index = partition). */
  owners(def: TopicDefinition): PartitionOwnerInfo[];
  createTopic(spec: TopicSpec): Promise<TopicDefinition>;
  deleteTopic(name: string): Promise<void>;
  addPartitions(name: string, count: number): Promise<TopicDefinition>;
  /** Forwards an ephemeral batch to the other nodes with subscribers; returns how many nodes. */
  forwardPublish?(topic: string, partition: number, batch: Buffer): number;
}

export interface BrokerServiceOptions {
  topics: TopicManager;
  producerIds: ProducerIdAllocator;
  node: NodeInfo;
  autoCreateTopics: boolean;
  maxBatchBytes: number;
  logger?: Logger;
  /** Called for every produced batch (metrics). */
  onProduced?: (topic: string, messages: number, bytes: number) => void;
  onFetched?: (topic: string, bytes: number, messages: number) => void;
}

/**
 * What the broker does, independent of how a request arrived (TCP frame or HTTP admin call).
 * Handlers receive plain values and return plain values or throw GregorError.
 */
export class BrokerService {
  private router?: ServiceRouter;
  /** Set while cluster routing attaches: topic admin waits for it (see holdTopicAdmin). */
  private adminHold?: Promise<void>;

  constructor(private readonly o: BrokerServiceOptions) {}

  /** Switches to cluster routing (or back to single-node with undefined). */
  setRouter(router: ServiceRouter | undefined): void {
    this.router = router;
  }

  /**
   * Holds topic create, delete and partition changes until the returned function is called.
   * Cluster routing takes this before it snapshots the local topics into its catalog and releases
   * it once it is the router: a topic created in between would otherwise exist on this node only,
   * unknown to the catalog and so never given an owner.
   */
  holdTopicAdmin(): () => void {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.adminHold = hold;
    return () => {
      if (this.adminHold === hold) this.adminHold = undefined;
      release();
    };
  }

  private async admin(): Promise<ServiceRouter | undefined> {
    for (let i = 0; i < 10 && this.adminHold; i++) await this.adminHold;
    return this.router;
  }

  /** Throws NOT_OWNER when cluster routing says another node serves the partition. */
  assertOwner(topic: string, partition: number): void {
    this.router?.assertOwner(topic, partition);
  }

  /** This node's name and client address. */
  get node(): NodeInfo {
    return this.o.node;
  }

  get topics(): TopicManager {
    return this.o.topics;
  }

  async createTopic(spec: TopicSpec): Promise<TopicDefinition> {
    const router = await this.admin();
    return router ? router.createTopic(spec) : this.o.topics.create(spec);
  }

  async deleteTopic(name: string): Promise<void> {
    const router = await this.admin();
    return router ? router.deleteTopic(name) : this.o.topics.delete(name);
  }

  listTopics(): TopicDefinition[] {
    return this.o.topics.list();
  }

  describeTopic(name: string): TopicDescription {
    return this.o.topics.describe(name);
  }

  async addPartitions(name: string, count: number): Promise<TopicDefinition> {
    const router = await this.admin();
    return router ? router.addPartitions(name, count) : this.o.topics.addPartitions(name, count);
  }

  /**
   * Partition owners for the asked topics (all when none are named). Single node: this node owns
   * all. In a cluster durable partitions are owned as routing says, while ephemeral topics are
   * served by every node, so they name the answering node (clients publish and subscribe where
   * they are connected, and routing forwards between nodes).
   */
  metadata(topics?: string[]): MetadataResult {
    const defs = topics?.length ? topics.map((t) => this.o.topics.definition(t)) : this.o.topics.list();
    const me = this.o.node.name;
    const router = this.router;
    const nodes = router ? router.nodes() : [this.o.node];
    if (!nodes.some((n) => n.name === me)) nodes.push(this.o.node);
    return {
      nodes,
      topics: defs.map((definition) => {
        const owners = router && definition.durable ? router.owners(definition) : undefined;
        return {
          definition,
          partitions: Array.from({ length: definition.partitions }, (_, partition) => {
            const o = owners?.[partition];
            return o
              ? { partition, owner: o.owner ?? '', replicas: o.replicas }
              : { partition, owner: me, replicas: [me] };
          }),
        };
      }),
    };
  }

  async initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    return { producerId: await this.o.producerIds.next(), producerEpoch: 0 };
  }

  private async ensureTopic(topic: string): Promise<void> {
    if (this.o.topics.has(topic) || !this.o.autoCreateTopics) return;
    try {
      await this.createTopic({ name: topic });
    } catch (err) {
      if (!(isGregorError(err) && err.code === 'TOPIC_EXISTS')) throw err;
    }
  }

  /**
   * Publishes one batch to an ephemeral topic that exists, on this tick: hands it to the local
   * subscribers and to the other nodes that have some. Returns how many local subscriptions got
   * it, or undefined when `topic` is not an existing ephemeral topic (produce() handles that:
   * auto-create, durable topics). Throws UNKNOWN_PARTITION or CORRUPT_MESSAGE for bad input.
   */
  publishEphemeral(topic: string, partition: number, batch: Buffer): number | undefined {
    const eph = this.o.topics.has(topic) ? this.o.topics.ephemeral(topic) : undefined;
    if (!eph) return undefined;
    if (!Number.isInteger(partition) || partition < 0 || partition >= eph.partitions) {
      throw new GregorError(
        'UNKNOWN_PARTITION',
        `topic "${topic}" has partitions 0-${eph.partitions - 1}; got ${partition}`,
      );
    }
    const h = validateBatch(batch, this.o.maxBatchBytes);
    const delivered = eph.publish(partition, batch);
    this.router?.forwardPublish?.(topic, partition, batch);
    this.o.onProduced?.(topic, h.recordCount, batch.length);
    return delivered;
  }

  /** Appends one batch (or publishes it, for an ephemeral topic). */
  async produce(topic: string, partition: number, batch: Buffer, acks: Acks): Promise<ProduceResult> {
    await this.ensureTopic(topic);
    if (this.o.topics.ephemeral(topic)) {
      const delivered = this.publishEphemeral(topic, partition, batch) ?? 0;
      return { baseOffset: -1, lastOffset: -1, duplicate: false, delivered };
    }
    this.router?.assertOwner(topic, partition);
    const p = this.o.topics.partition(topic, partition);
    const r = await p.append(batch);
    if (acks === -1) await p.log.flush();
    if (!r.duplicate) this.o.onProduced?.(topic, readBatchHeader(batch).recordCount, batch.length);
    return r;
  }

  /**
   * Reads from several partitions at once. Waits (long poll) until `minBytes` are available or
   * `maxWaitMs` passes. Errors are per partition so one bad partition does not fail the rest.
   */
  async fetch(requests: FetchPartitionRequest[], opts: FetchOptions): Promise<FetchPartitionResult[]> {
    const deadline = Date.now() + Math.max(0, opts.maxWaitMs);
    for (let round = 0; ; round++) {
      const results = await Promise.all(requests.map((r) => this.fetchOne(r)));
      const total = results.reduce((n, r) => n + r.bytes.length, 0);
      const remaining = deadline - Date.now();
      if (total >= Math.max(1, opts.minBytes) || remaining <= 0 || opts.signal?.aborted || round > 1000) {
        for (const r of results)
          if (r.bytes.length) this.o.onFetched?.(r.topic, r.bytes.length, countRecords(r.bytes));
        return results;
      }
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const waits = requests.flatMap((r, i) => {
        if (results[i]?.error) return [];
        try {
          return [this.o.topics.partition(r.topic, r.partition).waitForData(r.offset, remaining, ac.signal)];
        } catch {
          return [];
        }
      });
      if (waits.length === 0) {
        opts.signal?.removeEventListener('abort', onAbort);
        return results;
      }
      await Promise.race(waits);
      ac.abort();
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async fetchOne(r: FetchPartitionRequest): Promise<FetchPartitionResult> {
    try {
      this.router?.assertOwner(r.topic, r.partition);
      const p = this.o.topics.partition(r.topic, r.partition);
      const base = {
        topic: r.topic,
        partition: r.partition,
        highWatermark: p.endOffset,
        logStartOffset: p.startOffset,
      };
      if (r.offset === p.endOffset) return { ...base, bytes: Buffer.alloc(0) };
      const read = await p.read(r.offset, r.maxBytes);
      return { ...base, bytes: read.bytes };
    } catch (err) {
      const e = isGregorError(err) ? err : new GregorError('UNKNOWN', String(err), { cause: err });
      return {
        topic: r.topic,
        partition: r.partition,
        error: e,
        highWatermark: -1,
        logStartOffset: -1,
        bytes: Buffer.alloc(0),
      };
    }
  }

  /** Resolves earliest / latest / first offset at or after a timestamp (latest when none is). */
  async listOffset(topic: string, partition: number, spec: OffsetSpec): Promise<number> {
    this.router?.assertOwner(topic, partition);
    const p = this.o.topics.partition(topic, partition);
    if (spec === 'earliest') return p.startOffset;
    if (spec === 'latest') return p.endOffset;
    const found = await p.log.offsetForTimestamp(spec.timestamp);
    return found ?? p.endOffset;
  }
}

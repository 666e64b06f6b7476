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
  constructor(private readonly o: BrokerServiceOptions) {}

  get topics(): TopicManager {
    return this.o.topics;
  }

  createTopic(spec: TopicSpec): Promise<TopicDefinition> {
    return this.o.topics.create(spec);
  }

  deleteTopic(name: string): Promise<void> {
    return this.o.topics.delete(name);
  }

  listTopics(): TopicDefinition[] {
    return this.o.topics.list();
  }

  describeTopic(name: string): TopicDescription {
    return this.o.topics.describe(name);
  }

  addPartitions(name: string, count: number): Promise<TopicDefinition> {
    return this.o.topics.addPartitions(name, count);
  }

  /** Partition owners for the asked topics (all when none are named). Single node: this node owns all. */
  metadata(topics?: string[]): MetadataResult {
    const defs = topics?.length ? topics.map((t) => this.o.topics.definition(t)) : this.o.topics.list();
    const me = this.o.node.name;
    return {
      nodes: [this.o.node],
      topics: defs.map((definition) => ({
        definition,
        partitions: Array.from({ length: definition.partitions }, (_, partition) => ({
          partition,
          owner: me,
          replicas: [me],
        })),
      })),
    };
  }

  async initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    return { producerId: await this.o.producerIds.next(), producerEpoch: 0 };
  }

  private async ensureTopic(topic: string): Promise<void> {
    if (this.o.topics.has(topic) || !this.o.autoCreateTopics) return;
    try {
      await this.o.topics.create({ name: topic });
    } catch (err) {
      if (!(isGregorError(err) && err.code === 'TOPIC_EXISTS')) throw err;
    }
  }

  /** Appends one batch (or publishes it, for an ephemeral topic). */
  async produce(topic: string, partition: number, batch: Buffer, acks: Acks): Promise<ProduceResult> {
    await this.ensureTopic(topic);
    const eph = this.o.topics.ephemeral(topic);
    if (eph) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= eph.partitions) {
        throw new GregorError(
          'UNKNOWN_PARTITION',
          `topic "${topic}" has partitions 0-${eph.partitions - 1}; got ${partition}`,
        );
      }
      const h = validateBatch(batch, this.o.maxBatchBytes);
      const delivered = eph.publish(partition, batch);
      this.o.onProduced?.(topic, h.recordCount, batch.length);
      return { baseOffset: -1, lastOffset: -1, duplicate: false, delivered };
    }
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
    const p = this.o.topics.partition(topic, partition);
    if (spec === 'earliest') return p.startOffset;
    if (spec === 'latest') return p.endOffset;
    const found = await p.log.offsetForTimestamp(spec.timestamp);
    return found ?? p.endOffset;
  }
}

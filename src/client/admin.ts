import { codeForWire, GregorError, isGregorError } from '../errors.js';
import type {
  MetadataResponse,
  NewTopicConfig,
  OffsetSpec,
  TopicConfig,
  TopicDescription,
  TopicKind,
} from '../protocol/index.js';
import { checkInt, InvalidOptionError } from './client-errors.js';
import type { Cluster } from './cluster.js';

/** A topic to create. Omitted settings: 1 partition, replication 1, keep forever, durable. */
export interface CreateTopicSpec {
  name: string;
  partitions?: number;
  /** Delete segments older than this, ms; -1 keeps forever. */
  retentionMs?: number;
  /** Keep at most this many bytes per partition; -1 = no limit. */
  retentionBytes?: number;
  /** `durable` (a replayable log) or `ephemeral` (live fan-out, nothing stored). */
  kind?: TopicKind;
  replicationFactor?: number;
}

/** Where to look an offset up. */
export type OffsetQuery = 'earliest' | 'latest' | { timestamp: number | Date };

/** Turns an OffsetQuery into its wire form, naming `option` when it is malformed. */
export function toOffsetSpec(q: OffsetQuery, option = 'offset spec'): OffsetSpec {
  if (q === 'earliest' || q === 'latest') return { kind: q };
  if (q && typeof q === 'object' && 'timestamp' in q) {
    const ms = q.timestamp instanceof Date ? q.timestamp.getTime() : q.timestamp;
    return { kind: 'timestamp', timestampMs: checkInt(`${option}.timestamp`, ms, 0) };
  }
  throw new InvalidOptionError(
    option,
    `must be 'earliest', 'latest' or { timestamp }, got ${JSON.stringify(q)}`,
  );
}

/** Runs an idempotent request again (up to 3 times) when it fails with a retriable error. */
export async function retryIdempotent<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isGregorError(err) || !err.retriable || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 50 * i));
    }
  }
}

/**
 * Topic administration. Reads (list, describe, offsets, metadata) are retried on retriable errors;
 * create and delete are not, because their first attempt may have taken effect.
 */
export class Admin {
  constructor(private readonly cluster: Cluster) {}

  /** Creates a topic; with `ifNotExists` an existing topic is described instead of TOPIC_EXISTS. */
  async createTopic(spec: CreateTopicSpec, opts: { ifNotExists?: boolean } = {}): Promise<TopicDescription> {
    if (!spec || typeof spec.name !== 'string')
      throw new InvalidOptionError('createTopic.name', 'must be a string');
    const kind = spec.kind ?? 'durable';
    if (kind !== 'durable' && kind !== 'ephemeral')
      throw new InvalidOptionError(
        'createTopic.kind',
        `must be 'durable' or 'ephemeral', got ${JSON.stringify(kind)}`,
      );
    // Omitted settings travel as null and take the broker's defaults.
    const opt = (option: string, v: number | undefined, min: number) =>
      v === undefined ? null : checkInt(option, v, min);
    const topic: NewTopicConfig = {
      name: spec.name,
      partitions: opt('createTopic.partitions', spec.partitions, 1),
      replicationFactor: opt('createTopic.replicationFactor', spec.replicationFactor, 1),
      retentionMs: opt('createTopic.retentionMs', spec.retentionMs, -1),
      retentionBytes: opt('createTopic.retentionBytes', spec.retentionBytes, -1),
      kind,
    };
    try {
      return await this.cluster
        .any()
        .request('CREATE_TOPIC', { topic, ifNotExists: opts.ifNotExists ?? false });
    } finally {
      this.cluster.invalidate(spec.name);
    }
  }

  /** Deletes a topic; resolves false when `ifExists` is set and it was already gone. */
  async deleteTopic(name: string, opts: { ifExists?: boolean } = {}): Promise<boolean> {
    try {
      const r = await this.cluster.any().request('DELETE_TOPIC', { name, ifExists: opts.ifExists ?? false });
      return r.deleted;
    } finally {
      this.cluster.invalidate(name);
    }
  }

  /** Every topic's settings. */
  async listTopics(): Promise<TopicConfig[]> {
    const r = await retryIdempotent(() => this.cluster.any().request('LIST_TOPICS', {}));
    return r.topics;
  }

  /** One topic's settings and live partition state (start offset, high watermark, leader). */
  describeTopic(name: string): Promise<TopicDescription> {
    return retryIdempotent(() => this.cluster.any().request('DESCRIBE_TOPIC', { name }));
  }

  /** Where topics live: nodes and partition leaders (all topics when none are named). */
  metadata(topics?: string[]): Promise<MetadataResponse> {
    return retryIdempotent(() => this.cluster.refresh(topics ?? null));
  }

  /**
   * Resolves one offset: the log start, the log end (next offset to be written), or the first
   * offset whose timestamp is at or after the given time (the log end when there is none).
   */
  async listOffsets(topic: string, partition: number, query: OffsetQuery): Promise<number> {
    const spec = toOffsetSpec(query, 'listOffsets');
    return retryIdempotent(async () => {
      const conn = await this.cluster.leaderConnection(topic, partition);
      const r = await conn.request('LIST_OFFSETS', { partitions: [{ topic, partition, spec }] });
      const p = r.partitions[0];
      if (!p)
        throw new GregorError('UNKNOWN', `LIST_OFFSETS answered no partition for ${topic}/${partition}`);
      if (p.errorCode !== 0) {
        const code = codeForWire(p.errorCode);
        if (code === 'NOT_OWNER') this.cluster.invalidate(topic);
        throw new GregorError(code, `${topic}/${partition}: ${p.errorMessage ?? code}`);
      }
      return p.offset;
    });
  }
}

import type { Logger } from 'pino';
import { GregorError } from '../errors.js';
import type { LogOptions, LogStats } from '../storage/partition-log.js';
import { EphemeralTopic } from './ephemeral-topic.js';
import type { LogFactory } from './log-factory.js';
import type { MetadataStore } from './metadata-store.js';
import { Partition, unknownPartition } from './partition.js';
import { ProducerState } from './producer-state.js';
import {
  buildTopicDefinition,
  type TopicDefaults,
  type TopicDefinition,
  type TopicSpec,
} from './topic-definition.js';

export interface TopicManagerOptions {
  logs: LogFactory;
  metadata: MetadataStore;
  defaults: TopicDefaults;
  /** Storage settings shared by every partition (segment size, fsync, ...); retention comes per topic. */
  logOptions: LogOptions;
  logger?: Logger;
}

export interface PartitionDescription extends LogStats {
  partition: number;
}

export interface TopicDescription {
  definition: TopicDefinition;
  partitions: PartitionDescription[];
  /** Live subscribers (ephemeral topics only). */
  subscribers?: number;
}

interface OpenTopic {
  definition: TopicDefinition;
  /** Sparse in a cluster: only the partitions this node serves are open. */
  partitions: (Partition | undefined)[];
  ephemeral?: EphemeralTopic;
}

/** Decides which partitions of durable topics this node opens (cluster routing sets it). */
export type PartitionFilter = (topic: string, partition: number) => boolean;

/**
 * The topics this node serves: their definitions (persisted through a MetadataStore) and their
 * open partitions. Creating, deleting and changing topics goes through here so metadata and logs
 * never disagree.
 */
export class TopicManager {
  private readonly topics = new Map<string, OpenTopic>();
  /** Serialises metadata changes so two creates of one name cannot race. */
  private change: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Undefined = single node: every partition is open here. */
  private filter?: PartitionFilter;

  private constructor(private readonly opts: TopicManagerOptions) {}

  static async open(opts: TopicManagerOptions): Promise<TopicManager> {
    const tm = new TopicManager(opts);
    for (const def of await opts.metadata.load()) {
      tm.topics.set(def.name, await tm.openTopic(def));
    }
    return tm;
  }

  private async openTopic(definition: TopicDefinition): Promise<OpenTopic> {
    if (!definition.durable) {
      return {
        definition,
        partitions: [],
        ephemeral: new EphemeralTopic(definition.name, definition.partitions),
      };
    }
    const partitions: (Partition | undefined)[] = [];
    for (let p = 0; p < definition.partitions; p++)
      partitions.push(this.wants(definition.name, p) ? await this.openPartition(definition, p) : undefined);
    return { definition, partitions };
  }

  private async openPartition(def: TopicDefinition, p: number): Promise<Partition> {
    const log = await this.opts.logs.open(def.name, p, {
      ...this.opts.logOptions,
      retentionMs: def.retentionMs,
      retentionBytes: def.retentionBytes,
    });
    const snap = await this.opts.logs.loadProducerSnapshot(def.name, p);
    const usable = snap && snap.endOffset <= log.endOffset && snap.endOffset >= log.startOffset;
    const state = usable ? ProducerState.fromSnapshot(snap) : undefined;
    return Partition.open(def.name, p, log, usable ? snap.endOffset : undefined, state);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.change.then(fn, fn);
    this.change = p.catch(() => undefined);
    return p;
  }

  private async persist(): Promise<void> {
    await this.opts.metadata.save([...this.topics.values()].map((t) => t.definition));
  }

  /** Creates a topic; TOPIC_EXISTS if the name is taken, INVALID_TOPIC naming the bad field. */
  create(spec: TopicSpec, internal = false): Promise<TopicDefinition> {
    return this.serial(async () => {
      this.assertOpen();
      const def = buildTopicDefinition(spec, this.opts.defaults, Date.now(), internal);
      if (this.topics.has(def.name))
        throw new GregorError('TOPIC_EXISTS', `topic "${def.name}" already exists`);
      const open = await this.openTopic(def);
      this.topics.set(def.name, open);
      await this.persist();
      this.opts.logger?.info(
        { topic: def.name, partitions: def.partitions, durable: def.durable },
        'topic created',
      );
      return def;
    });
  }

  /** Deletes a topic and its data. */
  delete(name: string): Promise<void> {
    return this.serial(async () => {
      this.assertOpen();
      const t = this.get(name);
      this.topics.delete(name);
      await this.persist();
      t.ephemeral?.close();
      await Promise.all(t.partitions.map((p) => p?.close()));
      await this.opts.logs.remove(name);
      this.opts.logger?.info({ topic: name }, 'topic deleted');
    });
  }

  /** Adds partitions (never removes: keys would move and offsets would be lost). */
  addPartitions(name: string, count: number): Promise<TopicDefinition> {
    return this.serial(async () => {
      const t = this.get(name);
      if (!Number.isInteger(count) || count <= t.definition.partitions) {
        throw new GregorError(
          'INVALID_TOPIC',
          `topic "${name}": partitions can only grow, from ${t.definition.partitions} to a larger integer, not ${count}`,
        );
      }
      const def = buildTopicDefinition(
        { ...t.definition, partitions: count },
        this.opts.defaults,
        t.definition.createdAt,
        true,
      );
      if (t.ephemeral) t.ephemeral = new EphemeralTopic(name, count);
      else
        for (let p = t.definition.partitions; p < count; p++)
          t.partitions.push(this.wants(name, p) ? await this.openPartition(def, p) : undefined);
      t.definition = def;
      await this.persist();
      return def;
    });
  }

  has(name: string): boolean {
    return this.topics.has(name);
  }

  list(): TopicDefinition[] {
    return [...this.topics.values()].map((t) => t.definition).sort((a, b) => a.name.localeCompare(b.name));
  }

  definition(name: string): TopicDefinition {
    return this.get(name).definition;
  }

  describe(name: string): TopicDescription {
    const t = this.get(name);
    const out: TopicDescription = {
      definition: t.definition,
      partitions: t.partitions.flatMap((p) => (p ? [{ partition: p.index, ...p.log.stats() }] : [])),
    };
    if (t.ephemeral) out.subscribers = t.ephemeral.subscriberCount;
    return out;
  }

  /** The open partition; UNKNOWN_TOPIC / UNKNOWN_PARTITION / INVALID_ARGUMENT for ephemeral topics. */
  partition(topic: string, partition: number): Partition {
    const t = this.get(topic);
    if (t.ephemeral) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `topic "${topic}" is ephemeral: it has no log to read or append to`,
      );
    }
    const p = t.partitions[partition];
    if (!p) {
      if (Number.isInteger(partition) && partition >= 0 && partition < t.definition.partitions)
        throw new GregorError('NOT_OWNER', `${topic}/${partition} is not served by this node`);
      throw unknownPartition(topic, partition, t.definition.partitions);
    }
    return p;
  }

  ephemeral(topic: string): EphemeralTopic | undefined {
    return this.get(topic).ephemeral;
  }

  /** Every open partition (metrics, retention). */
  *allPartitions(): Iterable<Partition> {
    for (const t of this.topics.values()) for (const p of t.partitions) if (p) yield p;
  }

  /** True when `topic/partition` is open on this node. */
  isOpen(topic: string, partition: number): boolean {
    return this.topics.get(topic)?.partitions[partition] !== undefined;
  }

  private wants(topic: string, partition: number): boolean {
    return this.filter ? this.filter(topic, partition) : true;
  }

  /**
   * Sets which partitions this node serves and opens/closes logs to match. Closing keeps the data
   * on disk (a partition that comes back reopens it). Returns the partitions opened and closed.
   */
  reconcile(filter: PartitionFilter): Promise<{ opened: string[]; closed: string[] }> {
    this.filter = filter;
    return this.serial(async () => {
      const opened: string[] = [];
      const closed: string[] = [];
      if (this.closed) return { opened, closed };
      for (const t of this.topics.values()) {
        if (t.ephemeral) continue;
        for (let p = 0; p < t.definition.partitions; p++) {
          const want = filter(t.definition.name, p);
          const cur = t.partitions[p];
          if (want && !cur) {
            t.partitions[p] = await this.openPartition(t.definition, p);
            opened.push(`${t.definition.name}/${p}`);
          } else if (!want && cur) {
            t.partitions[p] = undefined;
            cur.wakeAll();
            await this.opts.logs
              .saveProducerSnapshot(cur.topic, cur.index, cur.producers.snapshot(cur.endOffset))
              .catch(() => undefined);
            await cur.close();
            closed.push(`${t.definition.name}/${p}`);
          }
        }
      }
      return { opened, closed };
    });
  }

  /**
   * Installs a definition decided elsewhere (cluster topic gossip): creates the topic, grows its
   * partitions, or replaces a losing concurrent definition. Skips name validation (the creator did it).
   */
  applyDefinition(def: TopicDefinition): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      const cur = this.topics.get(def.name);
      if (cur && JSON.stringify(cur.definition) === JSON.stringify(def)) return;
      if (cur && cur.definition.durable === def.durable && cur.definition.partitions <= def.partitions) {
        if (cur.ephemeral) cur.ephemeral = new EphemeralTopic(def.name, def.partitions);
        else
          for (let p = cur.definition.partitions; p < def.partitions; p++)
            cur.partitions.push(this.wants(def.name, p) ? await this.openPartition(def, p) : undefined);
        cur.definition = def;
      } else {
        if (cur) {
          // Another node's definition won a concurrent create: close ours, keep its files.
          cur.ephemeral?.close();
          await Promise.all(cur.partitions.map((p) => p?.close()));
        }
        this.topics.set(def.name, await this.openTopic(def));
      }
      await this.persist();
      this.opts.logger?.info({ topic: def.name, partitions: def.partitions }, 'topic definition applied');
    });
  }

  /** Removes a topic deleted elsewhere in the cluster, with its local data. */
  applyDeletion(name: string): Promise<void> {
    return this.serial(async () => {
      const t = this.topics.get(name);
      if (!t || this.closed) return;
      this.topics.delete(name);
      await this.persist();
      t.ephemeral?.close();
      await Promise.all(t.partitions.map((p) => p?.close()));
      await this.opts.logs.remove(name);
      this.opts.logger?.info({ topic: name }, 'topic deletion applied');
    });
  }

  /** Runs retention on every partition; returns the bytes freed. */
  async applyRetention(): Promise<number> {
    let freed = 0;
    for (const p of this.allPartitions()) {
      try {
        freed += (await p.log.applyRetention()).deletedBytes;
      } catch (err) {
        this.opts.logger?.warn({ err, topic: p.topic, partition: p.index }, 'retention failed');
      }
    }
    return freed;
  }

  /** Writes producer-state snapshots so the next start need not rescan whole logs. */
  async snapshotProducers(): Promise<void> {
    for (const p of this.allPartitions()) {
      await this.opts.logs.saveProducerSnapshot(p.topic, p.index, p.producers.snapshot(p.endOffset));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.change;
    this.closed = true;
    for (const p of this.allPartitions()) p.wakeAll();
    await this.snapshotProducers().catch((err) =>
      this.opts.logger?.warn({ err }, 'producer snapshot failed'),
    );
    for (const t of this.topics.values()) {
      t.ephemeral?.close();
      await Promise.all(t.partitions.map((p) => p?.close()));
    }
  }

  private get(name: string): OpenTopic {
    const t = this.topics.get(name);
    if (!t) throw new GregorError('UNKNOWN_TOPIC', `topic "${name}" does not exist`);
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new GregorError('BROKER_SHUTTING_DOWN');
  }
}

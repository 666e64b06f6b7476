import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../broker/atomic-file.js';
import type { TopicDefinition, TopicSpec } from '../broker/topic-definition.js';
import type { TopicManager } from '../broker/topic-manager.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { GregorError } from '../errors.js';
import { maxRecord, parseRecord, sameRecord, TOPIC_KEY_PREFIX, type TopicRecord } from './topic-records.js';

/** Options of TopicCatalog. */
export interface TopicCatalogOptions {
  node: ClusterNode;
  topics: TopicManager;
  /** Where the merged records (tombstones included) are kept; null keeps them in memory only. */
  dataDir: string | null;
  /** How long an admin change waits for every live member to gossip it back, ms. Default 5000. */
  agreementTimeoutMs?: number;
  logger?: Logger;
}

const FILE_VERSION = 1;

/**
 * The cluster-wide topic list: merges every member's `topic/<name>` facts (see topic-records.ts),
 * republishes the winners as this node's own facts, persists them, and makes the local
 * TopicManager match (create, grow, replace a losing concurrent create, delete). Admin changes
 * made on this node go through here and return once every live member has gossiped the change
 * back, so a client that creates a topic on one node can use it through any other right after.
 */
export class TopicCatalog {
  private readonly records = new Map<string, TopicRecord>();
  private readonly published = new Map<string, TopicRecord>();
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private mergeTimer?: NodeJS.Timeout;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(private readonly o: TopicCatalogOptions) {}

  /** Loads persisted records, adopts local topics the catalog lacks, and starts following gossip. */
  static async start(o: TopicCatalogOptions): Promise<TopicCatalog> {
    const c = new TopicCatalog(o);
    for (const r of await c.load()) c.records.set(r.def.name, r);
    for (const def of o.topics.list()) {
      const r = c.records.get(def.name);
      // A topic created while this node ran alone (or before clustering) becomes a record here.
      if (!r || r.deleted)
        c.records.set(def.name, {
          def,
          epoch: r ? r.epoch + 1 : 0,
          creator: o.node.id,
          version: 0,
          deleted: false,
        });
    }
    c.unsubscribe.push(
      o.node.on('key-changed', (_id, key) => {
        if (key.startsWith(TOPIC_KEY_PREFIX)) c.scheduleMerge();
      }),
      o.node.on('member-joined', () => c.scheduleMerge()),
    );
    c.mergeFromGossip();
    await c.sync();
    return c;
  }

  private get file(): string | null {
    return this.o.dataDir ? join(this.o.dataDir, 'meta', 'cluster-topics.cbor') : null;
  }

  private async load(): Promise<TopicRecord[]> {
    const file = this.file;
    if (!file) return [];
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new GregorError('STORAGE_ERROR', `cannot read ${file}: ${(err as Error).message}`);
    }
    const doc = decode(bytes) as { version?: unknown; records?: unknown };
    if (doc?.version !== FILE_VERSION || !Array.isArray(doc.records))
      throw new GregorError('CORRUPT_LOG', `${file} has an unknown layout (version ${String(doc?.version)})`);
    const out: TopicRecord[] = [];
    doc.records.forEach((v, i) => {
      const r = parseRecord((v as TopicRecord)?.def?.name, v);
      if (!r) throw new GregorError('CORRUPT_LOG', `${file}: record ${i} is malformed`);
      out.push(r);
    });
    return out;
  }

  private async persist(): Promise<void> {
    const file = this.file;
    if (!file) return;
    await mkdir(join(this.o.dataDir!, 'meta'), { recursive: true });
    await writeFileAtomic(file, encode({ version: FILE_VERSION, records: [...this.records.values()] }));
  }

  private scheduleMerge(): void {
    if (this.mergeTimer || this.stopped) return;
    // Gossip applies a delta as many key events at once; merging once per burst is enough.
    this.mergeTimer = setTimeout(() => {
      this.mergeTimer = undefined;
      if (this.mergeFromGossip()) void this.sync();
    }, 10);
  }

  /** Folds every member's facts into the records; true when something changed. */
  private mergeFromGossip(): boolean {
    let changed = false;
    for (const m of this.o.node.members()) {
      if (m.isSelf) continue;
      for (const [key, v] of Object.entries(m.facts)) {
        if (!key.startsWith(TOPIC_KEY_PREFIX)) continue;
        const name = key.slice(TOPIC_KEY_PREFIX.length);
        const r = parseRecord(name, v);
        if (!r) continue;
        const cur = this.records.get(name);
        const win = maxRecord(cur, r);
        if (!sameRecord(win, cur)) {
          this.records.set(name, win!);
          changed = true;
        }
      }
    }
    return changed;
  }

  /** Persists, republishes and applies the records to the local TopicManager (serialised). */
  private sync(): Promise<void> {
    const run = async () => {
      if (this.stopped) return;
      await this.persist();
      for (const [name, r] of this.records) {
        if (!sameRecord(this.published.get(name), r)) {
          this.o.node.setLocalKey(`${TOPIC_KEY_PREFIX}${name}`, r);
          this.published.set(name, r);
        }
      }
      const tm = this.o.topics;
      for (const [name, r] of this.records) {
        try {
          if (r.deleted) {
            if (tm.has(name)) await tm.applyDeletion(name);
          } else if (!tm.has(name) || JSON.stringify(tm.definition(name)) !== JSON.stringify(r.def)) {
            await tm.applyDefinition(r.def);
          }
        } catch (err) {
          this.o.logger?.warn({ err, topic: name }, 'cannot apply topic record');
        }
      }
      for (const fn of this.listeners) fn();
    };
    this.applying = this.applying.then(run, run);
    return this.applying;
  }

  /** Called after every applied change (placement recomputes on it). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Live (not deleted) definitions. */
  definitions(): TopicDefinition[] {
    return [...this.records.values()].filter((r) => !r.deleted).map((r) => r.def);
  }

  /** The winning record for a name, tombstones included. */
  record(name: string): TopicRecord | undefined {
    return this.records.get(name);
  }

  private live(name: string): TopicRecord {
    const r = this.records.get(name);
    if (!r || r.deleted) throw new GregorError('UNKNOWN_TOPIC', `topic "${name}" does not exist`);
    return r;
  }

  /** Creates a topic cluster-wide; TOPIC_EXISTS when any node already defined it. */
  async create(spec: TopicSpec, internal = false): Promise<TopicDefinition> {
    await this.applying;
    const prev = this.records.get(spec.name);
    if (prev && !prev.deleted) throw new GregorError('TOPIC_EXISTS', `topic "${spec.name}" already exists`);
    const def = await this.o.topics.create(spec, internal);
    const r: TopicRecord = {
      def,
      epoch: prev ? prev.epoch + 1 : 0,
      creator: this.o.node.id,
      version: 0,
      deleted: false,
    };
    await this.commit(r);
    // A concurrent create elsewhere may have won: answer with the definition the cluster keeps.
    return this.records.get(spec.name)?.def ?? def;
  }

  /** Deletes a topic cluster-wide. */
  async delete(name: string): Promise<void> {
    await this.applying;
    const r = this.live(name);
    if (this.o.topics.has(name)) await this.o.topics.applyDeletion(name);
    await this.commit({ ...r, version: r.version + 1, deleted: true });
  }

  /** Grows a topic's partitions cluster-wide. */
  async addPartitions(name: string, count: number): Promise<TopicDefinition> {
    await this.applying;
    const r = this.live(name);
    const def = await this.o.topics.addPartitions(name, count);
    await this.commit({ ...r, def, version: r.version + 1 });
    return def;
  }

  private async commit(r: TopicRecord): Promise<void> {
    const cur = this.records.get(r.def.name);
    this.records.set(r.def.name, maxRecord(cur, r)!);
    await this.sync();
    await this.waitForAgreement(r.def.name);
  }

  /**
   * Waits until every live member publishes the same record for `name` (bounded). JOINING members
   * count too: a node that joined a moment ago already serves clients, and a topic it has not
   * heard of would be UNKNOWN_TOPIC there right after the create returned.
   */
  async waitForAgreement(name: string, timeoutMs = this.o.agreementTimeoutMs ?? 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const want = this.records.get(name);
      const agreed = this.o.node
        .members()
        .filter(
          (m) => !m.isSelf && (m.status === 'NORMAL' || m.status === 'JOINING') && m.liveness !== 'dead',
        )
        .every((m) => sameRecord(parseRecord(name, m.facts[`${TOPIC_KEY_PREFIX}${name}`]), want));
      if (agreed) return true;
      if (Date.now() >= deadline || this.stopped) return false;
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /** Stops following gossip. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.mergeTimer);
    for (const u of this.unsubscribe) u();
  }
}

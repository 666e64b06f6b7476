import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import { writeFileAtomic } from '../broker/atomic-file.js';
import type { ClusterMember, ClusterNode } from '../cluster/cluster-node.js';
import { GregorError } from '../errors.js';

/**
 * The cluster roster: every node that has ever been a NORMAL member, with its first-join time and
 * zone, until an operator forgets it. Placement replays members in join order and keeps departed
 * ones in that order as placeholders (src/placement/join-sequence.ts); that only works if every node
 * agrees on who departed, long after membership itself has forgotten them (an hour by default).
 *
 * Each node keeps its copy in `<dataDir>/meta/cluster-roster.cbor` and publishes, as the `roster`
 * fact, the entries membership no longer lists plus the forgotten ids. Merging is a union, and a
 * forget wins over an entry unless the node started again after it was forgotten.
 */

/** Gossip key of the roster fact. */
export const ROSTER_KEY = 'roster';

/** One member that placement keeps in its join order. */
export interface RosterEntry {
  id: string;
  /** First-join time in ms (the member's `joinedAt`). */
  joinedAt: number;
  zone: string;
  /** Last known node name, for operators. */
  name: string;
}

interface RosterFact {
  /** [id, joinedAt, zone, name] */
  m: [string, number, string, string][];
  /** [id, forgotten at ms] */
  f: [string, number][];
}

const FILE_VERSION = 1;

function parseFact(v: unknown): RosterFact | undefined {
  const f = v as RosterFact;
  if (!f || !Array.isArray(f.m) || !Array.isArray(f.f)) return undefined;
  const m = f.m.filter(
    (e) =>
      Array.isArray(e) &&
      typeof e[0] === 'string' &&
      Number.isFinite(e[1]) &&
      typeof e[2] === 'string' &&
      typeof e[3] === 'string',
  );
  const gone = f.f.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isFinite(e[1]));
  return { m, f: gone };
}

/** The roster of one node; see the file comment. */
export class Roster {
  private readonly entries = new Map<string, RosterEntry>();
  private readonly forgotten = new Map<string, number>();
  private published = '';
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly node: ClusterNode,
    private readonly file: string | null,
  ) {}

  /** Loads the persisted roster (if any) and folds in what gossip knows now. */
  static async open(node: ClusterNode, dataDir: string | null): Promise<Roster> {
    const r = new Roster(node, dataDir ? join(dataDir, 'meta', 'cluster-roster.cbor') : null);
    await r.load();
    r.update();
    await r.saving;
    return r;
  }

  private async load(): Promise<void> {
    if (!this.file) return;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new GregorError('STORAGE_ERROR', `cannot read ${this.file}: ${(err as Error).message}`);
    }
    let doc: { version?: unknown; fact?: unknown };
    try {
      doc = decode(bytes) as typeof doc;
    } catch (err) {
      throw new GregorError('CORRUPT_LOG', `${this.file}: not CBOR (${(err as Error).message})`);
    }
    const fact = doc?.version === FILE_VERSION ? parseFact(doc.fact) : undefined;
    if (!fact)
      throw new GregorError(
        'CORRUPT_LOG',
        `${this.file} has an unknown layout (version ${String(doc?.version)})`,
      );
    this.merge(fact);
  }

  /** Folds a fact in; true when anything changed. */
  private merge(fact: RosterFact): boolean {
    let changed = false;
    for (const [id, at] of fact.f) {
      if ((this.forgotten.get(id) ?? -1) < at) {
        this.forgotten.set(id, at);
        changed = true;
      }
    }
    for (const [id, joinedAt, zone, name] of fact.m)
      changed = this.add({ id, joinedAt, zone, name }) || changed;
    for (const id of [...this.entries.keys()]) {
      if (this.forgotten.has(id) && !this.readmitted(id)) {
        this.entries.delete(id);
        changed = true;
      }
    }
    return changed;
  }

  /** A forgotten node counts again once it has started after the forget. */
  private readmitted(id: string, member?: ClusterMember): boolean {
    const at = this.forgotten.get(id);
    if (at === undefined) return true;
    const m = member ?? this.node.member(id);
    return !!m && m.status === 'NORMAL' && m.startedAt > at;
  }

  private add(e: RosterEntry): boolean {
    if (!e.joinedAt || !this.readmitted(e.id)) return false;
    const cur = this.entries.get(e.id);
    if (cur && cur.joinedAt === e.joinedAt && cur.zone === e.zone && cur.name === e.name) return false;
    // Keep the earliest join time if copies disagree (they only do across a data-dir wipe race).
    this.entries.set(e.id, cur && cur.joinedAt < e.joinedAt ? { ...e, joinedAt: cur.joinedAt } : e);
    return true;
  }

  /**
   * Folds in members that are NORMAL now and every other node's roster fact; persists and
   * republishes when something changed. Returns true when the roster changed.
   */
  update(): boolean {
    let changed = false;
    const members = this.node.members();
    for (const m of members) {
      if (m.status === 'NORMAL' && this.forgotten.has(m.id) && this.readmitted(m.id, m)) {
        this.forgotten.delete(m.id);
        changed = true;
      }
      if (m.status === 'NORMAL')
        changed = this.add({ id: m.id, joinedAt: m.joinedAt, zone: m.zone, name: m.name }) || changed;
      if (m.isSelf) continue;
      const fact = parseFact(m.facts[ROSTER_KEY]);
      if (fact) changed = this.merge(fact) || changed;
    }
    if (changed) this.persist();
    this.publish(members);
    return changed;
  }

  private fact(): RosterFact {
    return {
      m: [...this.entries.values()].map((e) => [e.id, e.joinedAt, e.zone, e.name]),
      f: [...this.forgotten],
    };
  }

  private publish(members: ClusterMember[]): void {
    const known = new Set(members.map((m) => m.id));
    const fact: RosterFact = {
      // Members gossip already lists carry their own join time; only the rest needs repeating.
      m: this.fact().m.filter(([id]) => !known.has(id)),
      f: [...this.forgotten].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    };
    fact.m.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const sig = JSON.stringify(fact);
    if (sig === this.published) return;
    this.published = sig;
    this.node.setLocalKey(ROSTER_KEY, fact);
  }

  private persist(): void {
    const file = this.file;
    if (!file) return;
    const bytes = encode({ version: FILE_VERSION, fact: this.fact() });
    this.saving = this.saving
      .then(async () => {
        await mkdir(join(file, '..'), { recursive: true });
        await writeFileAtomic(file, bytes);
      })
      .catch(() => undefined);
  }

  /** Every entry, in join order (then id). */
  list(): RosterEntry[] {
    return [...this.entries.values()].sort(
      (a, b) => a.joinedAt - b.joinedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  /** Entries that are not among `live` ids: departed members placement keeps as placeholders. */
  departed(live: ReadonlySet<string>): RosterEntry[] {
    return this.list().filter((e) => !live.has(e.id));
  }

  /**
   * Drops a departed member for good (its place in the join order goes, so placement rebalances
   * as if it had never joined). `nameOrId` may be the node name or id. Throws NOT_FOUND for an
   * unknown node and INVALID_ARGUMENT for one that is still a live member.
   */
  async forget(nameOrId: string, live: ReadonlySet<string>): Promise<RosterEntry> {
    const hits = this.list().filter((e) => e.id === nameOrId || e.name === nameOrId);
    if (hits.length === 0)
      throw new GregorError('UNKNOWN_NODE', `node "${nameOrId}" is not in the cluster roster`);
    if (hits.length > 1)
      throw new GregorError(
        'INVALID_ARGUMENT',
        `node name "${nameOrId}" matches ${hits.length} roster entries; use the node id (${hits.map((h) => h.id).join(', ')})`,
      );
    const e = hits[0]!;
    if (live.has(e.id))
      throw new GregorError(
        'INVALID_ARGUMENT',
        `node "${nameOrId}" is a live member; stop it (or wait out the dead grace period) first`,
      );
    this.forgotten.set(e.id, Date.now());
    this.entries.delete(e.id);
    this.persist();
    this.publish(this.node.members());
    await this.saving;
    return e;
  }

  /** Resolves once pending writes are on disk. */
  flushed(): Promise<void> {
    return this.saving;
  }
}

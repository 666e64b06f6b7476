/**
 * The persisted boot counter that becomes a node's gossip generation. Each start takes the next
 * number and writes it durably before the node gossips, so a restarted node's state always
 * supersedes what the cluster remembers of its previous life (Cassandra's generation, chitchat's
 * generation id). Losing the data dir also loses the node key, so the counter never needs to
 * survive a wipe.
 */

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { GregorError } from '../errors.js';

/** Source of the next generation number. */
export interface GenerationStore {
  /** Returns a generation strictly above every one returned before (across restarts). */
  next(): Promise<number>;
}

/** Generations kept in memory: for simulations, where a "restart" reuses the same store object. */
export class MemoryGenerationStore implements GenerationStore {
  constructor(private last = 0) {}

  async next(): Promise<number> {
    return this.nextSync();
  }

  /** The same as `next()` without a promise, so virtual-time simulations stay synchronous. */
  nextSync(): number {
    return ++this.last;
  }
}

/** Generations in `<dir>/generation` as decimal text, replaced atomically on every boot. */
export class FileGenerationStore implements GenerationStore {
  constructor(private readonly dir: string) {}

  /** Path of the counter file. */
  get path(): string {
    return join(this.dir, 'generation');
  }

  async next(): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    let last = 0;
    try {
      const text = (await readFile(this.path, 'utf8')).trim();
      last = Number(text);
      if (!Number.isSafeInteger(last) || last < 0) {
        throw new GregorError(
          'CORRUPT_LOG',
          `${this.path}: generation "${text.slice(0, 32)}" is not a counter`,
        );
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const next = last + 1;
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(`${next}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    // The rename must be durable too, or a crash could bring back the old counter.
    const dirFh = await open(this.dir, 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
    return next;
  }
}

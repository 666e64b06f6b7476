/**
 * When this node first joined, kept in `<dir>/joined-at` so it survives restarts. Placement
 * replays members in this order (src/placement/join-sequence.ts), so a node must keep its place:
 * the file is written once, durably, and only a wiped data dir (a new node id as well) resets it.
 */

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../broker/atomic-file.js';
import { GregorError } from '../errors.js';

/** Reads the first-join time from `dir`, or records `now` there when there is none yet. */
export async function firstJoinTime(dir: string, now: number): Promise<number> {
  const file = join(dir, 'joined-at');
  try {
    const text = (await readFile(file, 'utf8')).trim();
    const at = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(at)) {
      throw new GregorError('CORRUPT_LOG', `${file}: "${text.slice(0, 32)}" is not a time in ms`);
    }
    return at;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(file, Buffer.from(`${Math.floor(now)}\n`));
  return Math.floor(now);
}

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

/** Hands out idempotent-producer ids that are never reused, even across restarts. */
export interface ProducerIdAllocator {
  next(): Promise<number>;
}

/** Ids are reserved in blocks written to disk first, so a crash skips ids but never repeats one. */
export function createFileProducerIdAllocator(dataDir: string, blockSize = 1000): ProducerIdAllocator {
  const file = join(dataDir, 'meta', 'producer-ids');
  let next = -1;
  let limit = -1;
  let pending: Promise<void> | undefined;
  const reserve = async () => {
    let reserved = 0;
    try {
      reserved = Number((await readFile(file, 'utf8')).trim()) || 0;
    } catch {
      // first start
    }
    await mkdir(join(dataDir, 'meta'), { recursive: true });
    await writeFileAtomic(file, Buffer.from(String(reserved + blockSize)));
    next = reserved;
    limit = reserved + blockSize;
  };
  return {
    async next() {
      while (next < 0 || next >= limit) {
        pending ??= reserve().finally(() => {
          pending = undefined;
        });
        await pending;
      }
      return next++;
    },
  };
}

export function createMemoryProducerIdAllocator(): ProducerIdAllocator {
  let next = 0;
  return { next: async () => next++ };
}

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import { GregorError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { TopicDefinition } from './topic-definition.js';

/** Where topic definitions live between restarts. */
export interface MetadataStore {
  load(): Promise<TopicDefinition[]>;
  save(topics: TopicDefinition[]): Promise<void>;
}

const FORMAT_VERSION = 1;

/** `<dataDir>/meta/topics.cbor`, replaced atomically on every change. */
export function createFileMetadataStore(dataDir: string): MetadataStore {
  const dir = join(dataDir, 'meta');
  const file = join(dir, 'topics.cbor');
  return {
    async load() {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new GregorError(
          'STORAGE_ERROR',
          `cannot read topic metadata ${file}: ${(err as Error).message}`,
        );
      }
      let doc: unknown;
      try {
        doc = decode(bytes);
      } catch (err) {
        throw new GregorError(
          'CORRUPT_LOG',
          `topic metadata ${file} is not valid CBOR: ${(err as Error).message}`,
        );
      }
      const d = doc as { version?: unknown; topics?: unknown };
      if (d?.version !== FORMAT_VERSION || !Array.isArray(d.topics)) {
        throw new GregorError(
          'CORRUPT_LOG',
          `topic metadata ${file} has an unknown layout (version ${String(d?.version)})`,
        );
      }
      return d.topics as TopicDefinition[];
    },
    async save(topics) {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(file, encode({ version: FORMAT_VERSION, topics }));
    },
  };
}

/** Keeps definitions in memory only (tests, ephemeral brokers). */
export function createMemoryMetadataStore(initial: TopicDefinition[] = []): MetadataStore {
  let saved = structuredClone(initial);
  return {
    async load() {
      return structuredClone(saved);
    },
    async save(topics) {
      saved = structuredClone(topics);
    },
  };
}

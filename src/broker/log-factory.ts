import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import { openFileLog } from '../storage/file-log.js';
import { createMemoryLog } from '../storage/memory-log.js';
import type { LogOptions, PartitionLog } from '../storage/partition-log.js';
import { writeFileAtomic } from './atomic-file.js';
import type { ProducerStateSnapshot } from './producer-state.js';

/**
 * Opens and removes the logs behind a topic's partitions, and keeps the producer-state snapshot
 * that spares a restart from rescanning a whole log. The file factory is the real one; the memory
 * factory backs tests and a broker started without a data dir.
 */
export interface LogFactory {
  open(topic: string, partition: number, opts: LogOptions): Promise<PartitionLog>;
  remove(topic: string): Promise<void>;
  loadProducerSnapshot(topic: string, partition: number): Promise<ProducerStateSnapshot | undefined>;
  saveProducerSnapshot(topic: string, partition: number, snapshot: ProducerStateSnapshot): Promise<void>;
}

/** Segments of partition P of topic T live in `<dataDir>/topics/T/P/`. */
export function createFileLogFactory(dataDir: string): LogFactory {
  const topicDir = (topic: string) => join(dataDir, 'topics', topic);
  const snapshotFile = (topic: string, p: number) => join(topicDir(topic), `${p}.producers`);
  return {
    async open(topic, partition, opts) {
      const dir = join(topicDir(topic), String(partition));
      await mkdir(dir, { recursive: true });
      return openFileLog(dir, opts);
    },
    async remove(topic) {
      await rm(topicDir(topic), { recursive: true, force: true });
    },
    async loadProducerSnapshot(topic, partition) {
      try {
        return decode(await readFile(snapshotFile(topic, partition))) as ProducerStateSnapshot;
      } catch {
        // A missing or unreadable snapshot only costs a rescan of the log.
        return undefined;
      }
    },
    async saveProducerSnapshot(topic, partition, snapshot) {
      await mkdir(topicDir(topic), { recursive: true });
      await writeFileAtomic(snapshotFile(topic, partition), encode(snapshot));
    },
  };
}

export function createMemoryLogFactory(): LogFactory {
  const snapshots = new Map<string, ProducerStateSnapshot>();
  return {
    async open(_topic, _partition, opts) {
      return createMemoryLog(opts);
    },
    async remove(topic) {
      for (const k of snapshots.keys()) if (k.startsWith(`${topic}/`)) snapshots.delete(k);
    },
    async loadProducerSnapshot(topic, partition) {
      return snapshots.get(`${topic}/${partition}`);
    },
    async saveProducerSnapshot(topic, partition, snapshot) {
      snapshots.set(`${topic}/${partition}`, snapshot);
    },
  };
}

/**
 * The storage seam: one partition's append-only log. `FileLog` keeps it in segment files on disk,
 * `MemoryLog` in memory; both pass the same suite (test/storage/log-suite.ts).
 *
 * Offsets are plain numbers (exact up to 2^53). Batches go in and come out as the exact bytes of
 * record-batch.ts; the log only rewrites baseOffset and leaderEpoch, which sit outside the CRC.
 */

/** `always`: fsync before append resolves; `interval`: fsync at most every `intervalMs`; `os`: leave it to the kernel. */
export type FsyncPolicy = { kind: 'always' } | { kind: 'interval'; intervalMs: number } | { kind: 'os' };

/** Default fsync policy: every 1,000 ms, between Kafka (OS) and Redis AOF (everysec) — see README. */
export const DEFAULT_FSYNC_POLICY: FsyncPolicy = { kind: 'interval', intervalMs: 1000 };

/** Parses `always | interval:<ms> | os`; throws naming the bad text. */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === 'always') return { kind: 'always' };
  if (text === 'os') return { kind: 'os' };
  const m = /^interval:(\d+)$/.exec(text);
  if (m && Number(m[1]) > 0) return { kind: 'interval', intervalMs: Number(m[1]) };
  throw new Error(`fsync policy "${text}" is not one of always | interval:<ms> (ms > 0) | os`);
}

export function formatFsyncPolicy(p: FsyncPolicy): string {
  return p.kind === 'interval' ? `interval:${p.intervalMs}` : p.kind;
}

export interface LogOptions {
  /** Roll the active segment once it holds this many bytes. Default 128 MiB. */
  segmentBytes?: number;
  /** Roll the active segment once its first batch is this old (ms). Default 7 days. */
  segmentMs?: number;
  /** Add an offset-index entry every this many bytes of log. Default 4096. */
  indexIntervalBytes?: number;
  /** Delete whole closed segments whose newest record is older than this (ms). Default: keep forever (-1). */
  retentionMs?: number;
  /** Delete oldest closed segments while the log is larger than this (bytes). Default: no limit (-1). */
  retentionBytes?: number;
  /** Largest batch accepted by append (bytes). Default 16 MiB. */
  maxBatchBytes?: number;
  fsync?: FsyncPolicy;
  /** Clock for segment age and retention; tests pass a fake one. */
  now?: () => number;
  /** Called with the duration (seconds) of every fsync round, for the fsync latency metric. */
  onFsync?: (seconds: number) => void;
}

export interface AppendOptions {
  /** Leader epoch stamped into the batch. Default 0. */
  leaderEpoch?: number;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** When the append resolves, the batch is durable if this is true (fsync policy `always`). */
  durable: boolean;
}

export interface ReadResult {
  /** Whole batches back to back, starting with the batch that holds the requested offset. */
  bytes: Buffer;
  /** Offset just past the last batch returned (where the next read should start). */
  nextOffset: number;
  batchCount: number;
}

export interface RecoveryReport {
  /** Bytes cut from the end of the active segment because they did not form valid batches. */
  truncatedBytes: number;
  /** Where the cut was made: file and byte position, when something was cut. */
  truncatedAt?: { file: string; position: number; reason: string };
  /** Index files that were missing or damaged and were rebuilt. */
  rebuiltIndexes: string[];
}

export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
}

export interface LogStats {
  startOffset: number;
  endOffset: number;
  sizeBytes: number;
  segmentCount: number;
}

export interface PartitionLog {
  /** First offset still held (0 for a fresh log; moves up with retention). */
  readonly startOffset: number;
  /** Next offset to be assigned (log end offset). */
  readonly endOffset: number;
  /**
   * Validates one batch (CRC, lengths, size limit), assigns it offsets endOffset..endOffset+n-1
   * and appends it. The buffer is stamped in place. Rejects with CORRUPT_MESSAGE,
   * MESSAGE_TOO_LARGE, STORAGE_ERROR (e.g. disk full: the log stays readable and the batch is
   * not visible) or LOG_CLOSED.
   */
  append(batch: Buffer, opts?: AppendOptions): Promise<AppendResult>;
  /**
   * Reads whole batches starting at the batch containing `offset`, up to `maxBytes` — but always
   * at least one batch, even a larger one, so a consumer can never get stuck. Reading at
   * endOffset returns no bytes; outside [startOffset, endOffset] rejects with OFFSET_OUT_OF_RANGE.
   */
  read(offset: number, maxBytes: number): Promise<ReadResult>;
  /** First offset whose batch has maxTimestamp >= ts, or null if every batch is older. */
  offsetForTimestamp(ts: number): Promise<number | null>;
  /** Removes every batch at or after `offset` (replication truncation). Batch-aligned only. */
  truncateTo(offset: number): Promise<void>;
  /** Deletes closed segments by age and total size; never the active one. */
  applyRetention(): Promise<RetentionResult>;
  /** Forces everything appended so far to stable storage. */
  flush(): Promise<void>;
  stats(): LogStats;
  /** Flushes and releases files. Further calls reject with LOG_CLOSED. */
  close(): Promise<void>;
}

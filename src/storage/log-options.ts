import { GregorError } from '../errors.js';
import { DEFAULT_FSYNC_POLICY, type FsyncPolicy, type LogOptions } from './partition-log.js';

/** LogOptions with every default filled in; both log implementations use the same defaults. */
export interface ResolvedLogOptions {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  maxBatchBytes: number;
  fsync: FsyncPolicy;
  now: () => number;
  onFsync: ((seconds: number) => void) | undefined;
}

/** Default segment size: 128 MiB (Kafka uses 1 GiB; smaller segments make retention finer and recovery shorter). */
export const DEFAULT_SEGMENT_BYTES = 128 * 1024 * 1024;
/** Default segment age before a roll: 7 days, as Kafka's log.roll.ms. */
export const DEFAULT_SEGMENT_MS = 7 * 24 * 3600 * 1000;
/** Default index interval: 4 KiB, as Kafka's log.index.interval.bytes. */
export const DEFAULT_INDEX_INTERVAL_BYTES = 4096;
/** Default largest batch: 16 MiB. */
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Segment positions are stored as uint32 in the index, and a segment may overshoot by one batch. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

function positiveInt(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0 || value > max)
    throw new GregorError(
      'INVALID_ARGUMENT',
      `log option ${name} must be an integer in 1..${max}, got ${value}`,
    );
  return value;
}

function limit(name: string, value: number | undefined): number {
  if (value === undefined || value === -1) return -1;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new GregorError(
      'INVALID_ARGUMENT',
      `log option ${name} must be -1 (no limit) or an integer >= 0, got ${value}`,
    );
  return value;
}

/** Fills in defaults and rejects bad values with INVALID_ARGUMENT naming the option. */
export function resolveLogOptions(opts: LogOptions = {}): ResolvedLogOptions {
  const fsync = opts.fsync ?? DEFAULT_FSYNC_POLICY;
  if (fsync.kind === 'interval' && !(fsync.intervalMs > 0))
    throw new GregorError(
      'INVALID_ARGUMENT',
      `log option fsync interval must be > 0 ms, got ${fsync.intervalMs}`,
    );
  const maxBatchBytes = positiveInt(
    'maxBatchBytes',
    opts.maxBatchBytes,
    DEFAULT_MAX_BATCH_BYTES,
    MAX_SEGMENT_BYTES,
  );
  return {
    segmentBytes: positiveInt('segmentBytes', opts.segmentBytes, DEFAULT_SEGMENT_BYTES, MAX_SEGMENT_BYTES),
    segmentMs: positiveInt('segmentMs', opts.segmentMs, DEFAULT_SEGMENT_MS),
    indexIntervalBytes: positiveInt(
      'indexIntervalBytes',
      opts.indexIntervalBytes,
      DEFAULT_INDEX_INTERVAL_BYTES,
    ),
    retentionMs: limit('retentionMs', opts.retentionMs),
    retentionBytes: limit('retentionBytes', opts.retentionBytes),
    maxBatchBytes,
    fsync,
    now: opts.now ?? Date.now,
    onFsync: opts.onFsync,
  };
}

/** Kafka's rule: the oldest closed segment goes if the log stays at or above retentionBytes without it. */
export function overByteRetention(totalBytes: number, oldestBytes: number, retentionBytes: number): boolean {
  return retentionBytes >= 0 && totalBytes - oldestBytes >= retentionBytes;
}

/** A closed segment expires when its newest record is more than retentionMs old. */
export function overAgeRetention(now: number, newestTimestamp: number, retentionMs: number): boolean {
  return retentionMs >= 0 && now - newestTimestamp > retentionMs;
}

/**
 * Takes from the front of `segments` every closed segment that retention expires (by age, then by
 * total size), never the last (active) one, and returns them oldest first. Both logs use it, so
 * they delete exactly the same segments.
 */
export function expireSegments<S extends { maxTimestamp: number; size: number }>(
  segments: S[],
  totalBytes: number,
  opts: Pick<ResolvedLogOptions, 'retentionMs' | 'retentionBytes'>,
  now: number,
): S[] {
  const expired: S[] = [];
  let total = totalBytes;
  while (segments.length > 1) {
    const oldest = segments[0]!;
    const due =
      overAgeRetention(now, oldest.maxTimestamp, opts.retentionMs) ||
      overByteRetention(total, oldest.size, opts.retentionBytes);
    if (!due) break;
    segments.shift();
    total -= oldest.size;
    expired.push(oldest);
  }
  return expired;
}

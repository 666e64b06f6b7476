/** Latency and throughput arithmetic shared by the load generators and the report. */

/** What one load-generator run reports (JSON on its last stdout line). */
export interface LoadResult {
  /** Messages produced-and-acked or consumed in the measured window. */
  msgs: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  /** End-to-end latency percentiles, ms (latency scenarios only). */
  p50?: number;
  p99?: number;
  p999?: number;
  /** Messages sent in a latency run that never arrived. */
  lost?: number;
  note?: string;
}

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Median of a list of numbers (NaN for none). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Builds a throughput result. */
export function throughput(msgs: number, bytesPerMsg: number, seconds: number, note?: string): LoadResult {
  return {
    msgs,
    seconds,
    msgsPerSec: msgs / seconds,
    mbPerSec: (msgs * bytesPerMsg) / seconds / 1e6,
    ...(note ? { note } : {}),
  };
}

/**
 * Collects end-to-end latencies. The sender writes its *intended* send time (performance.now() of
 * the schedule slot, so a stalled sender is charged for the wait: no coordinated omission) into the
 * first 8 bytes of the value; the receiver in the same process subtracts it from its clock.
 */
export class LatencyRecorder {
  private readonly samples: number[] = [];
  received = 0;

  constructor(private readonly warmupUntil: number) {}

  /** Records one arrival whose payload starts with the sender's float64 timestamp. */
  record(payload: Uint8Array | Buffer, now = performance.now()): void {
    this.received++;
    const sent = Buffer.from(payload.buffer, payload.byteOffset, 8).readDoubleLE(0);
    if (sent >= this.warmupUntil) this.samples.push(now - sent);
  }

  /** Percentiles over the samples after warm-up. */
  result(sent: number, seconds: number, bytesPerMsg: number): LoadResult {
    const s = Float64Array.from(this.samples).sort();
    return {
      ...throughput(s.length, bytesPerMsg, seconds),
      p50: quantile(s, 0.5),
      p99: quantile(s, 0.99),
      p999: quantile(s, 0.999),
      lost: sent - this.received,
    };
  }
}

/** A payload of `size` bytes whose first 8 hold `stamp` (float64 LE). */
export function stampedPayload(size: number, stamp: number): Buffer {
  const b = Buffer.alloc(Math.max(8, size), 0x61);
  b.writeDoubleLE(stamp, 0);
  return b;
}

/**
 * Calls `send(slotTime)` at `rate` per second for `durationMs` and resolves with the number of
 * sends. It sleeps on a timer between bursts and sends every slot that has come due on waking, so
 * at 10k msgs/s it wakes about once a millisecond and sends ~10. Spinning on setImmediate instead
 * kept a core busy that the brokers need on a 2-core machine (measured: p99 several times worse).
 * Latency is counted from each slot's time, so the up-to-1 ms wait for the burst is included.
 */
export async function paced(rate: number, durationMs: number, send: (slot: number) => void): Promise<number> {
  const start = performance.now();
  const interval = 1000 / rate;
  const total = Math.floor((rate * durationMs) / 1000);
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && start + i * interval <= now) {
      send(start + i * interval);
      i++;
    }
    const wait = start + i * interval - performance.now();
    await new Promise<void>((r) => setTimeout(r, Math.max(0, wait)));
  }
  return total;
}

/**
 * Calls `sendChunk` (which sends `chunk` messages and resolves when all are acknowledged) for
 * `ms`, keeping at most `window` messages unacknowledged; returns the acknowledged count and the
 * time until the last acknowledgement.
 */
export async function windowedProduce(
  ms: number,
  window: number,
  chunk: number,
  sendChunk: () => Promise<unknown>,
): Promise<{ acked: number; seconds: number }> {
  const open: Promise<unknown>[] = [];
  let acked = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    open.push(sendChunk());
    if (open.length >= window / chunk) {
      await open.shift();
      acked += chunk;
    }
  }
  for (const c of open) {
    await c;
    acked += chunk;
  }
  return { acked, seconds: (performance.now() - t0) / 1000 };
}

/** Formats a number for the report: 1234567 -> "1,234,567", small values with decimals. */
export function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

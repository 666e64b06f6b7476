/**
 * Phi-accrual failure detector (Hayashibara et al., 2004), shaped after Akka's.
 *
 * Instead of a fixed timeout it keeps a window of heartbeat inter-arrival times and reports
 * phi = -log10(P(a heartbeat arrives later than now)), assuming inter-arrivals are normally
 * distributed around the observed mean plus an acceptable pause. phi = 1 means a 10% chance the
 * node is fine, phi = 8 a one-in-10^8 chance. Heartbeats here arrive through gossip, so their
 * spacing already includes propagation jitter; the window learns it.
 */

/** Parameters of the detector; all durations in milliseconds. */
export interface PhiAccrualOptions {
  /** phi at or above which a node is convicted dead. Akka: 8. */
  threshold: number;
  /** phi at or above which a node is reported suspect (not yet dead). */
  suspectThreshold: number;
  /** Inter-arrival samples kept per node. Akka: 1000; fewer adapts faster to a new rhythm. */
  maxSampleSize: number;
  /** Floor for the standard deviation, so a very regular rhythm does not convict on tiny jitter. */
  minStdDeviationMs: number;
  /** Pause that is not yet suspicious: added to the mean before phi is computed. */
  acceptableHeartbeatPauseMs: number;
  /** Expected inter-arrival before real samples exist (seeds the window). */
  firstHeartbeatEstimateMs: number;
}

/**
 * Presets. With 500 ms gossip, `lan` convicts a dead node at every member in about 3.5-4.5 s
 * (measured by `bench/cluster-sim.ts`) and stays quiet at 1% message loss.
 * `local` is for nodes sharing one machine's CPU (tests, laptops): the same timing with a longer
 * pause, because a busy test machine delays timers. `wan` trades detection time for tolerance of
 * slow, lossy links (pair it with a 1000 ms gossip interval).
 */
export const DETECTOR_PRESETS = {
  lan: {
    threshold: 8,
    suspectThreshold: 5,
    maxSampleSize: 200,
    minStdDeviationMs: 100,
    acceptableHeartbeatPauseMs: 500,
    firstHeartbeatEstimateMs: 500,
  },
  local: {
    threshold: 8,
    suspectThreshold: 5,
    maxSampleSize: 200,
    minStdDeviationMs: 100,
    acceptableHeartbeatPauseMs: 1000,
    firstHeartbeatEstimateMs: 500,
  },
  wan: {
    threshold: 10,
    suspectThreshold: 6,
    maxSampleSize: 200,
    minStdDeviationMs: 300,
    acceptableHeartbeatPauseMs: 4000,
    firstHeartbeatEstimateMs: 1000,
  },
} as const satisfies Record<string, PhiAccrualOptions>;

/** Name of a detector preset. */
export type DetectorPreset = keyof typeof DETECTOR_PRESETS;

/** Liveness of a member as judged by this node. */
export type Liveness = 'alive' | 'suspect' | 'dead';

/** Checks detector options and names the offending one. */
export function validateDetectorOptions(o: PhiAccrualOptions): string | undefined {
  if (!(o.threshold > 0)) return 'detector.threshold must be > 0';
  if (!(o.suspectThreshold > 0 && o.suspectThreshold <= o.threshold)) {
    return 'detector.suspectThreshold must be in (0, threshold]';
  }
  if (!Number.isInteger(o.maxSampleSize) || o.maxSampleSize < 2)
    return 'detector.maxSampleSize must be an integer >= 2';
  if (!(o.minStdDeviationMs > 0)) return 'detector.minStdDeviationMs must be > 0';
  if (!(o.acceptableHeartbeatPauseMs >= 0)) return 'detector.acceptableHeartbeatPauseMs must be >= 0';
  if (!(o.firstHeartbeatEstimateMs > 0)) return 'detector.firstHeartbeatEstimateMs must be > 0';
  return undefined;
}

/** The heartbeat history of one monitored node. */
export class PhiAccrualDetector {
  private readonly samples: number[];
  private next = 0;
  private count = 0;
  private sum = 0;
  private sumSq = 0;
  private last: number | undefined;

  constructor(private readonly opts: PhiAccrualOptions) {
    this.samples = new Array<number>(opts.maxSampleSize).fill(0);
    // Akka's seeding: two samples at mean +- mean/4 give a sensible first distribution.
    const m = opts.firstHeartbeatEstimateMs;
    this.add(m - m / 4);
    this.add(m + m / 4);
  }

  /** Records a heartbeat arrival at monotonic time `nowMs`. */
  heartbeat(nowMs: number): void {
    if (this.last !== undefined) this.add(nowMs - this.last);
    this.last = nowMs;
  }

  /** Time of the last heartbeat, or undefined before the first. */
  lastHeartbeatAt(): number | undefined {
    return this.last;
  }

  /** Suspicion level at `nowMs`; 0 before the first heartbeat. */
  phi(nowMs: number): number {
    if (this.last === undefined) return 0;
    const mean = this.sum / this.count + this.opts.acceptableHeartbeatPauseMs;
    const variance = Math.max(0, this.sumSq / this.count - (this.sum / this.count) ** 2);
    const sd = Math.max(Math.sqrt(variance), this.opts.minStdDeviationMs);
    return phiOf(nowMs - this.last, mean, sd);
  }

  /** Liveness at `nowMs` by the two thresholds. */
  liveness(nowMs: number): Liveness {
    const p = this.phi(nowMs);
    if (p >= this.opts.threshold) return 'dead';
    if (p >= this.opts.suspectThreshold) return 'suspect';
    return 'alive';
  }

  /** Mean inter-arrival time in the window (ms). */
  meanIntervalMs(): number {
    return this.sum / this.count;
  }

  /** Standard deviation of the inter-arrival window (ms), before the floor is applied. */
  stdDevMs(): number {
    return Math.sqrt(Math.max(0, this.sumSq / this.count - (this.sum / this.count) ** 2));
  }

  private add(interval: number): void {
    if (this.count === this.samples.length) {
      const old = this.samples[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      this.count++;
    }
    this.samples[this.next] = interval;
    this.next = (this.next + 1) % this.samples.length;
    this.sum += interval;
    this.sumSq += interval * interval;
  }
}

/**
 * -log10 of the normal tail beyond `elapsed`, via the logistic approximation of the normal CDF
 * that Akka uses (error below 1e-4, and no erf needed). Capped so it stays finite.
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDevMs: number): number {
  const y = (elapsedMs - meanMs) / stdDevMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  const p = elapsedMs > meanMs ? e / (1 + e) : 1 - 1 / (1 + e);
  if (p <= 0) return 100;
  return Math.min(100, -Math.log10(p));
}

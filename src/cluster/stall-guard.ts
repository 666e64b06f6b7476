/**
 * Event-loop stall guard. When this process stops running for a while (a long GC, a synchronous
 * fsync storm, SIGSTOP, a starved container), every other node's heartbeats look late to it and
 * the failure detector would convict healthy peers for our own stall. The guard measures how late
 * our own periodic timer fires; when the drift exceeds `stallThresholdMs` it suspends convictions
 * until `suspendMs` after the stall ended, which gives gossip time to refresh heartbeats.
 */

import type { Clock } from './clock.js';

/** Tuning of the stall guard (milliseconds). */
export interface StallGuardOptions {
  /** Timer lateness that counts as a stall. Default 500. */
  stallThresholdMs?: number;
  /** How long after a stall convictions stay suspended. Default 5000. */
  suspendMs?: number;
}

/** Detects stalls of this process from timer drift and answers whether convictions may happen. */
export class StallGuard {
  private readonly stallThresholdMs: number;
  private readonly suspendMs: number;
  private suspendedUntil = Number.NEGATIVE_INFINITY;
  /** Number of stalls seen since creation. */
  stalls = 0;
  /** Longest drift observed in ms. */
  maxDriftMs = 0;

  constructor(
    private readonly clock: Clock,
    options: StallGuardOptions = {},
  ) {
    this.stallThresholdMs = options.stallThresholdMs ?? 500;
    this.suspendMs = options.suspendMs ?? 5000;
  }

  /**
   * Reports that a timer due at `expectedAt` fired now. Returns the drift in ms; a drift above the
   * threshold starts (or extends) the suspension window.
   */
  observe(expectedAt: number): number {
    const now = this.clock.now();
    const drift = now - expectedAt;
    if (drift > this.maxDriftMs) this.maxDriftMs = drift;
    if (drift > this.stallThresholdMs) {
      this.stalls++;
      this.suspendedUntil = Math.max(this.suspendedUntil, now + this.suspendMs);
    }
    return drift;
  }

  /** True while convictions must be held back because this process stalled recently. */
  convictionsSuspended(): boolean {
    return this.clock.now() < this.suspendedUntil;
  }
}

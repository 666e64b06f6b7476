/**
 * Time for the cluster layer. Membership, the failure detector and the stall guard never call
 * `Date.now()` or `setTimeout` directly: they take a `Clock`, so a simulation can run a thousand
 * nodes in virtual time (a discrete-event scheduler) far faster than real time, and a test can
 * stall one node's timers to reproduce an event-loop pause.
 */

/** A cancellable timer returned by `Clock.setTimeout`. */
export interface TimerHandle {
  /** Cancels the timer; calling it after the timer fired is harmless. */
  cancel(): void;
}

/** The time source and timer factory every cluster module is given. */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for `startedAt`). */
  wallNow(): number;
  /** Runs `fn` once after `delayMs` milliseconds. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
}

/** The real clock: `performance.now()` and Node timers, unref'd so they never keep a process alive. */
export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, delayMs) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

interface ScheduledEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Start of virtual wall time, so `wallNow()` values look like real timestamps. */
const VIRTUAL_EPOCH_MS = Date.UTC(2025, 0, 1);

/**
 * A discrete-event scheduler in virtual time: events run in (time, insertion) order and time jumps
 * straight to the next event, so ten virtual minutes of a 100-node cluster take seconds.
 */
export class VirtualScheduler {
  private heap: ScheduledEvent[] = [];
  private seq = 0;
  private time = 0;
  /** Number of events run so far (for benchmarks). */
  eventsRun = 0;

  /** Current virtual time in milliseconds since the scheduler was created. */
  now(): number {
    return this.time;
  }

  /** Schedules `fn` at absolute virtual time `at` (never earlier than now). */
  at(at: number, fn: () => void): TimerHandle {
    const ev: ScheduledEvent = { at: Math.max(at, this.time), seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return {
      cancel: () => {
        ev.cancelled = true;
      },
    };
  }

  /** A clock for one simulated node; `pause(ms)` on it delays its timers as an event-loop stall would. */
  createClock(): VirtualClock {
    return new VirtualClock(this);
  }

  /** Runs events until virtual time reaches `until` (inclusive); returns the number run. */
  runUntil(until: number): number {
    let n = 0;
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > until) break;
      this.pop();
      if (top.cancelled) continue;
      this.time = top.at;
      n++;
      this.eventsRun++;
      top.fn();
    }
    if (until > this.time) this.time = until;
    return n;
  }

  /** Runs events for `ms` virtual milliseconds. */
  runFor(ms: number): number {
    return this.runUntil(this.time + ms);
  }

  /**
   * Runs until `predicate()` holds (checked every `stepMs` of virtual time) or `maxMs` passes.
   * Returns the virtual time at which it held, or undefined when it never did.
   */
  runUntilTrue(predicate: () => boolean, maxMs: number, stepMs = 10): number | undefined {
    const deadline = this.time + maxMs;
    while (this.time <= deadline) {
      if (predicate()) return this.time;
      this.runUntil(Math.min(deadline, this.time + stepMs));
      if (this.time >= deadline) return predicate() ? this.time : undefined;
    }
    return undefined;
  }

  private push(ev: ScheduledEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** One node's view of virtual time; its timers and message deliveries can be stalled with `pause`. */
export class VirtualClock implements Clock {
  private pausedUntil = 0;

  constructor(private readonly scheduler: VirtualScheduler) {}

  now(): number {
    return this.scheduler.now();
  }

  wallNow(): number {
    return VIRTUAL_EPOCH_MS + this.scheduler.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.runAt(this.scheduler.now() + Math.max(0, delayMs), fn);
  }

  /** Runs `fn` at absolute virtual time `at`, or when this node's stall ends if it is stalled then. */
  runAt(at: number, fn: () => void): TimerHandle {
    let inner: TimerHandle | undefined;
    let cancelled = false;
    const fire = () => {
      if (cancelled) return;
      if (this.scheduler.now() < this.pausedUntil) {
        inner = this.scheduler.at(this.pausedUntil, fire);
        return;
      }
      fn();
    };
    inner = this.scheduler.at(at, fire);
    return {
      cancel: () => {
        cancelled = true;
        inner?.cancel();
      },
    };
  }

  /** Simulates an event-loop stall: nothing of this node runs for `ms` virtual milliseconds. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.scheduler.now() + ms);
  }
}

/** A small seeded PRNG (mulberry32) so simulations are reproducible. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

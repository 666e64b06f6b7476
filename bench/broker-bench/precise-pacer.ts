/**
 * A sub-millisecond pacer for a thread that does nothing else (a worker): the timer-based
 * `paced()` in stats.ts can only sleep in whole milliseconds (libuv timers), so at 10k msgs/s it
 * sends bursts of ~10 and the first message of each burst has already waited about a millisecond
 * on the sender's side (measured alone, no broker: p99 1.1-2.2 ms of lateness). This one sleeps
 * with Atomics.wait, which takes a fractional timeout and costs no CPU while it waits.
 */

/**
 * Milliseconds on the monotonic clock every thread of a process shares (process.hrtime):
 * `performance.now()` counts from each thread's own start, so stamps that cross threads use this.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Calls `send(slot)` for every slot of a `rate`-per-second schedule starting at `startMs`
 * (monotonicMs) and lasting `durationMs`; resolves with the number of sends. Between slots it
 * blocks the thread in Atomics.wait until the next one is due, and after each run of sends it
 * yields one event-loop turn so promise callbacks and socket writes complete. A slot is passed its
 * scheduled time, so a late wake-up is charged to whoever measures from it.
 */
export async function precisePaced(
  rate: number,
  startMs: number,
  durationMs: number,
  send: (slot: number) => void,
): Promise<number> {
  if (!(rate > 0) || !(durationMs >= 0))
    throw new RangeError(`precisePaced: bad rate ${rate} or duration ${durationMs}`);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const interval = 1000 / rate;
  const total = Math.floor((rate * durationMs) / 1000);
  let i = 0;
  while (i < total) {
    const now = monotonicMs();
    while (i < total && startMs + i * interval <= now) {
      send(startMs + i * interval);
      i++;
    }
    await new Promise<void>((r) => setImmediate(r));
    const wait = startMs + i * interval - monotonicMs();
    if (wait > 0 && i < total) Atomics.wait(sleeper, 0, 0, wait);
  }
  return total;
}

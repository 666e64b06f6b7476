/**
 * The paced publisher of pubsub-bench, run as a worker thread: its own event loop, heap and
 * connection, as a publishing application would have, so neither the subscriber's deliveries nor
 * its garbage collections delay a send, and it can pace with Atomics.wait (precise-pacer.ts)
 * without blocking the subscriber. Each message's first 8 bytes hold its scheduled time on the
 * process-wide monotonic clock (monotonicMs), which the subscriber in the main thread subtracts
 * from its own reading of the same clock.
 */
import { workerData } from 'node:worker_threads';
import { connect } from '../src/index.js';
import { monotonicMs, precisePaced } from './broker-bench/precise-pacer.js';
import { paced, stampedPayload } from './broker-bench/stats.js';

/** What the main thread passes in `workerData`. */
export interface PublisherJob {
  broker: string;
  topic: string;
  rate: number;
  /** Schedule start, monotonicMs. */
  startMs: number;
  durationMs: number;
  size: number;
  /** 'precise' (default) or 'timer': stats.ts's ~1 ms bursts, to compare with older figures. */
  pacer: 'precise' | 'timer';
}

const job = workerData as PublisherJob;
const pub = await connect({ brokers: [job.broker] });
try {
  // Resolves the topic's route and opens the connection before the schedule starts (stamp 0 is
  // before any warm-up cut-off, so the subscriber does not count it).
  await pub.publish(job.topic, stampedPayload(job.size, 0), { acks: 0 });
  const send = (slot: number) => {
    pub.publish(job.topic, stampedPayload(job.size, slot), { acks: 0 }).catch(() => undefined);
  };
  if (job.pacer === 'timer') {
    // paced() schedules from its own start on this thread's performance.now(); its slot i is
    // stamped startMs + i * interval, so the same slots fall after the warm-up cut-off as with
    // the precise pacer, and a late start is charged too.
    await new Promise((r) => setTimeout(r, Math.max(0, job.startMs - monotonicMs())));
    const shift = job.startMs - performance.now();
    await paced(job.rate, job.durationMs, (slot) => send(slot + shift));
  } else await precisePaced(job.rate, job.startMs, job.durationMs, send);
} finally {
  await pub.close();
}

import type { TestContext } from 'node:test';
import type { GroupMessage } from '../../src/client/group-consumer.js';
import { type Client, connect } from '../../src/client/index.js';

/** Short group timings so tests run fast (the defaults are Kafka's). */
export const FAST_GROUPS = {
  sessionTimeoutMs: 3000,
  heartbeatIntervalMs: 200,
  rebalanceDelayMs: 0,
  ackWaitMs: 800,
  maxDeliveries: -1,
};

/** A client to `port`, closed after the test. */
export async function client(t: Pick<TestContext, 'after'>, port: number): Promise<Client> {
  const c = await connect({ brokers: `127.0.0.1:${port}`, requestTimeoutMs: 10_000 });
  t.after(() => c.close());
  return c;
}

/** Produces `count` messages with values `${prefix}-${i}` (keys spread them over partitions). */
export async function produce(c: Client, topic: string, count: number, prefix = 'm'): Promise<string[]> {
  const p = c.producer();
  const values: string[] = [];
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const v = `${prefix}-${i}`;
    values.push(v);
    sends.push(p.send({ topic, key: `k${i}`, value: v }));
  }
  await Promise.all(sends);
  await p.flush();
  return values;
}

/** Polls `cond` every 20 ms until it holds or `ms` passes (then throws naming `what`). */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000; i++) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads messages from an iterator in the background into `into`, acking in queue mode when `ack`. */
export function drain(
  it: AsyncIterableIterator<GroupMessage>,
  into: GroupMessage[],
  opts: { ack?: boolean } = {},
): Promise<void> {
  return (async () => {
    for await (const m of { [Symbol.asyncIterator]: () => it }) {
      into.push(m);
      if (opts.ack) await m.ack();
    }
  })().catch(() => undefined);
}

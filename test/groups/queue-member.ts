/**
 * A queue-mode group member in its own process, for crash tests: receives messages and never
 * acks them, printing one JSON line per message so the parent knows what it holds before it
 * SIGKILLs this process. argv: port group topic ackWaitMs
 */
import { connect } from '../../src/client/index.js';

const [port, group, topic, ackWaitMs] = process.argv.slice(2);
const client = await connect({ brokers: `127.0.0.1:${port}` });
const c = client.groupConsumer({
  group: group!,
  topics: [topic!],
  mode: 'queue',
  ackWaitMs: Number(ackWaitMs),
  heartbeatIntervalMs: 200,
  maxMessages: 10,
});
for await (const m of c) {
  process.stdout.write(
    `${JSON.stringify({ partition: m.partition, offset: m.offset, value: m.value?.toString() })}\n`,
  );
}

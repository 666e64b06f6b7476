import { createInterface } from 'node:readline';
import type { Compression, Producer, RecordMetadata } from '../../src/index.js';
import { Progress } from './output.js';
import { type CommandContext, registerCommand, UsageError } from './registry.js';

/** Sends not yet settled before the loop waits (bounds memory besides the producer's own buffer). */
const MAX_OUTSTANDING = 20_000;
/** Runs at least this long get a progress bar (when stderr is a TTY). */
const PROGRESS_MIN_COUNT = 10_000;

function parseAcks(raw: string | undefined): 0 | 1 | 'all' {
  if (raw === undefined || raw === '1') return 1;
  if (raw === '0') return 0;
  if (raw === 'all' || raw === '-1') return 'all';
  throw new UsageError(`--acks must be 0, 1 or all, got "${raw}"`, 'produce');
}

function parseCompression(raw: string | undefined): Compression {
  if (raw === undefined) return 'none';
  if (raw === 'none' || raw === 'snappy' || raw === 'lz4') return raw;
  throw new UsageError(`--compression must be none, snappy or lz4, got "${raw}"`, 'produce');
}

/** A `size`-byte value that starts with the message number, so generated messages differ. */
function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x2e);
  b.write(`${i}:`.slice(0, size));
  return b;
}

registerCommand({
  name: 'produce',
  summary: 'produce lines from stdin, or --count generated messages',
  args: ['<topic>'],
  flags: [
    { name: 'count', type: 'int', value: 'N', description: 'generate N messages instead of reading stdin' },
    {
      name: 'size',
      type: 'int',
      value: 'BYTES',
      description: 'size of each generated message (default 100)',
    },
    { name: 'key', type: 'string', value: 'KEY', description: 'key of every message (picks the partition)' },
    { name: 'partition', type: 'int', value: 'P', min: 0, description: 'produce to this partition' },
    { name: 'acks', type: 'string', value: '0|1|all', description: 'acknowledgement level (default 1)' },
    {
      name: 'compression',
      type: 'string',
      value: 'none|snappy|lz4',
      description: 'batch compression (default none)',
    },
    { name: 'linger-ms', type: 'int', value: 'MS', min: 0, description: 'batch linger time (default 5)' },
  ],
  details:
    'With --json the last line on stdout is one summary object:\n' +
    '  {"topic","acked","failed","bytes","elapsedMs","msgsPerSec","mbPerSec","firstError"}\n' +
    'The exit code is 1 when any message failed.',
  async run(ctx) {
    const topic = ctx.args[0];
    if (!topic) throw new UsageError('produce needs a topic name', 'produce');
    if (ctx.args.length > 1)
      throw new UsageError(`produce takes one topic name, got ${ctx.args.length} arguments`, 'produce');
    const f = ctx.flags;
    const count = f.count as number | undefined;
    if (f.size !== undefined && count === undefined)
      throw new UsageError('--size needs --count (generated messages)', 'produce');
    const size = (f.size as number | undefined) ?? 100;
    const acks = parseAcks(f.acks as string | undefined);
    const compression = parseCompression(f.compression as string | undefined);
    const client = await ctx.client();
    const producer = client.producer({
      acks,
      compression,
      ...(f['linger-ms'] === undefined ? {} : { lingerMs: f['linger-ms'] as number }),
    });
    const key = f.key as string | undefined;
    const partition = f.partition as number | undefined;
    const stats = { acked: 0, failed: 0, bytes: 0, firstError: null as string | null };
    const progress = new Progress(
      ctx.out,
      'produce',
      count !== undefined && count >= PROGRESS_MIN_COUNT ? count : 0,
    );
    const outstanding = new Set<Promise<unknown>>();
    const started = performance.now();
    const send = async (value: Buffer) => {
      const p: Promise<RecordMetadata | undefined> = producer
        .send({
          topic,
          value,
          ...(key === undefined ? {} : { key }),
          ...(partition === undefined ? {} : { partition }),
        })
        .then(
          (m) => {
            stats.acked++;
            stats.bytes += value.length;
            progress.update(stats.acked + stats.failed);
            return m;
          },
          (err: Error) => {
            stats.failed++;
            stats.firstError ??= err.message;
            return undefined;
          },
        );
      outstanding.add(p);
      p.finally(() => outstanding.delete(p));
      if (outstanding.size >= MAX_OUTSTANDING) await Promise.race(outstanding);
    };
    if (count !== undefined) {
      for (let i = 0; i < count; i++) await send(payload(i, size));
    } else {
      const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of rl) await send(Buffer.from(line));
    }
    await producer.flush();
    await Promise.all(outstanding);
    progress.done();
    const elapsedMs = performance.now() - started;
    const secs = Math.max(elapsedMs, 0.001) / 1000;
    const summary = {
      topic,
      acked: stats.acked,
      failed: stats.failed,
      bytes: stats.bytes,
      elapsedMs: Math.round(elapsedMs),
      msgsPerSec: Math.round(stats.acked / secs),
      mbPerSec: Math.round((stats.bytes / 1e6 / secs) * 100) / 100,
      firstError: stats.firstError,
    };
    await closeQuietly(producer);
    if (ctx.json) ctx.out.json(summary);
    else {
      ctx.out.info(
        `produced ${summary.acked.toLocaleString('en-US')} messages to "${topic}" in ${(elapsedMs / 1000).toFixed(2)} s: ` +
          `${summary.msgsPerSec.toLocaleString('en-US')} msgs/s, ${summary.mbPerSec} MB/s` +
          (summary.failed > 0 ? `; ${summary.failed} failed (first error: ${summary.firstError})` : ''),
      );
    }
    return summary.failed > 0 ? 1 : 0;
  },
});

async function closeQuietly(p: Producer): Promise<void> {
  try {
    await p.close();
  } catch {
    // Every failure is already counted in the summary.
  }
}

export type { CommandContext };

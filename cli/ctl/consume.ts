import { isUtf8 } from 'node:buffer';
import type { Message, StartFrom } from '../../src/index.js';
import { Progress } from './output.js';
import { registerCommand, UsageError } from './registry.js';

const PROGRESS_MIN_COUNT = 10_000;

/** Parses --from: earliest, latest, an offset, or an ISO-8601 time. */
export function parseFrom(raw: string | undefined): StartFrom {
  if (raw === undefined || raw === 'latest') return 'latest';
  if (raw === 'earliest') return 'earliest';
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (Number.isSafeInteger(n)) return n;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    const d = new Date(raw);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new UsageError(
    `--from must be earliest, latest, an offset or an ISO time (2024-05-01T12:00:00Z), got "${raw}"`,
    'consume',
  );
}

/** Text of a key or value for output: UTF-8 when it is valid UTF-8, else base64 (flagged by the caller). */
function text(b: Buffer | null): { s: string | null; binary: boolean } {
  if (b === null) return { s: null, binary: false };
  if (isUtf8(b)) return { s: b.toString('utf8'), binary: false };
  return { s: b.toString('base64'), binary: true };
}

function toJson(m: Message): Record<string, unknown> {
  const key = text(m.key);
  const value = text(m.value);
  const o: Record<string, unknown> = {
    partition: m.partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: key.s,
    value: value.s,
  };
  if (key.binary) o.keyEncoding = 'base64';
  if (value.binary) o.valueEncoding = 'base64';
  if (m.headers.length > 0) {
    const h: Record<string, string> = {};
    for (const x of m.headers) h[x.key] = text(x.value).s ?? '';
    o.headers = h;
  }
  return o;
}

registerCommand({
  name: 'consume',
  summary: 'print messages of a topic',
  args: ['<topic>'],
  flags: [
    {
      name: 'from',
      type: 'string',
      value: 'WHERE',
      description: 'earliest | latest (default) | <offset> | <ISO time>',
    },
    { name: 'count', type: 'int', value: 'N', description: 'exit after N messages' },
    { name: 'partition', type: 'int', value: 'P', min: 0, description: 'read only this partition' },
    {
      name: 'mode',
      type: 'string',
      value: 'subscribe|fetch',
      description: 'server push (default) or long-poll fetch',
    },
    {
      name: 'group',
      type: 'string',
      value: 'G',
      description: 'join consumer group G: resume from its commits, commit as it goes (--from is ignored)',
    },
    {
      name: 'queue',
      type: 'boolean',
      description: 'with --group: queue mode, ack each message once printed',
    },
  ],
  details:
    'With --json each message is one line:\n' +
    '  {"partition","offset","timestamp","key","value"[,"headers"]}\n' +
    'key and value are UTF-8 strings (null when absent); bytes that are not valid UTF-8 are\n' +
    'printed as base64 and flagged with "keyEncoding":"base64" / "valueEncoding":"base64".\n' +
    'Without --count it runs until interrupted.',
  async run(ctx) {
    const topic = ctx.args[0];
    if (!topic) throw new UsageError('consume needs a topic name', 'consume');
    if (ctx.args.length > 1)
      throw new UsageError(`consume takes one topic name, got ${ctx.args.length} arguments`, 'consume');
    const from = parseFrom(ctx.flags.from as string | undefined);
    const mode = (ctx.flags.mode as string | undefined) ?? 'subscribe';
    if (mode !== 'subscribe' && mode !== 'fetch')
      throw new UsageError(`--mode must be subscribe or fetch, got "${mode}"`, 'consume');
    const count = ctx.flags.count as number | undefined;
    const partition = ctx.flags.partition as number | undefined;
    const client = await ctx.client();
    const group = ctx.flags.group as string | undefined;
    const queue = ctx.flags.queue === true;
    if (queue && !group) throw new UsageError('--queue needs --group', 'consume');
    if (group && partition !== undefined)
      throw new UsageError(
        '--partition cannot be combined with --group (the group assigns partitions)',
        'consume',
      );
    const consumer = group
      ? client.groupConsumer({ group, topics: [topic], mode: queue ? 'queue' : 'fanout' })
      : client.consumer({
          topic,
          from,
          mode,
          ...(partition === undefined ? {} : { partitions: [partition] }),
        });
    const stop = () => void consumer.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const progress = new Progress(
      ctx.out,
      'consume',
      count !== undefined && count >= PROGRESS_MIN_COUNT ? count : 0,
    );
    let n = 0;
    try {
      for await (const m of consumer) {
        n++;
        if (ctx.json) {
          const w = ctx.out.json(toJson(m));
          if (w) await w;
        } else {
          const key = text(m.key).s ?? '-';
          const value = text(m.value);
          const w = ctx.out.line(
            `${m.partition}\t${m.offset}\t${new Date(m.timestamp).toISOString()}\t${key}\t${value.binary ? `base64:${value.s}` : value.s}`,
          );
          if (w) await w;
        }
        // Queue mode: acked (durably) once printed; fanout groups commit on close.
        if (queue && 'ack' in m) await m.ack();
        progress.update(n);
        if ((count !== undefined && n >= count) || ctx.out.closed) break;
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      progress.done();
      await ctx.out.flush();
    }
    if (!ctx.json) ctx.out.info(`consumed ${n.toLocaleString('en-US')} messages from "${topic}"`);
    return 0;
  },
});

/**
 * `gregorctl metrics`: a one-screen summary of a node, computed from its Prometheus `/metrics`
 * page (the same numbers the Grafana dashboard shows, without needing Prometheus). Rates come
 * from two scrapes `--interval-ms` apart, like `rate()` over that window; percentiles from the
 * histogram buckets that moved inside the window, like `histogram_quantile(rate(...))`.
 *
 * The HTTP address is found the way `gregorctl cluster` finds it (--http, GREGOR_HTTP, or the
 * --broker host on port 9441).
 */

import { GregorError } from '../../src/index.js';
import {
  type Buckets,
  bucketDelta,
  counterDelta,
  type Exposition,
  histogramBuckets,
  histogramQuantile,
  parseExposition,
  selectSamples,
  sumBy,
  sumSamples,
} from '../../src/observability/exposition.js';
import { HTTP_FLAG, httpAddress } from './cluster.js';
import { formatBytes, table } from './output.js';
import { type CommandContext, registerCommand, UsageError } from './registry.js';

/** One scrape of a node's /metrics page and when it arrived (performance.now() ms). */
export interface Scrape {
  atMs: number;
  /** Wall-clock time of the scrape, for the report. */
  wallTime: Date;
  exposition: Exposition;
}

/** Message and byte rates of one direction (in = produced, out = delivered to consumers). */
export interface Throughput {
  msgsPerSec: number;
  mbPerSec: number;
  /** Counters since the node started. */
  totalMessages: number;
  totalBytes: number;
}

/** What `gregorctl metrics` reports for one window; `--json` prints exactly this per sample. */
export interface MetricsSummary {
  time: string;
  node: string | null;
  windowSeconds: number;
  in: Throughput;
  out: Throughput;
  /** Every topic with traffic since start, busiest (in + out msgs/s) first. */
  topics: Array<{
    topic: string;
    inMsgsPerSec: number;
    inMbPerSec: number;
    outMsgsPerSec: number;
    outMbPerSec: number;
  }>;
  /** Every op seen since start, busiest first; p99Ms is null when the op had no request in the window. */
  requests: Array<{ op: string; perSec: number; errorsPerSec: number; p99Ms: number | null }>;
  /** Consumer-group lag (gregormq_consumer_group_lag) summed per group and topic, largest first. */
  lag: Array<{ group: string; topic: string; lag: number; maxPartitionLag: number }>;
  fsync: { perSec: number; p99Ms: number | null; p99MsSinceStart: number | null };
  connections: number | null;
  rssBytes: number | null;
}

const round = (n: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

const ms = (seconds: number | undefined): number | null =>
  seconds === undefined ? null : round(seconds * 1000, 3);

/** Per-label-value deltas of a counter between two scrapes. */
function deltaBy(a: Exposition, b: Exposition, name: string, label: string): Map<string, number> {
  const before = sumBy(a, name, label);
  const out = new Map<string, number>();
  for (const [key, v] of sumBy(b, name, label)) out.set(key, counterDelta(before.get(key), v));
  return out;
}

function throughput(a: Exposition, b: Exposition, dir: 'in' | 'out', secs: number): Throughput {
  const msgs = `gregormq_messages_${dir}_total`;
  const bytes = `gregormq_bytes_${dir}_total`;
  // Summed per topic first so a topic deleted (or created) between scrapes does not read as a reset.
  const sum = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
  return {
    msgsPerSec: round(sum(deltaBy(a, b, msgs, 'topic')) / secs, 1),
    mbPerSec: round(sum(deltaBy(a, b, bytes, 'topic')) / 1e6 / secs, 3),
    totalMessages: sumSamples(b, msgs) ?? 0,
    totalBytes: sumSamples(b, bytes) ?? 0,
  };
}

/** Computes the summary of the window between scrapes `a` and `b`. */
export function summarize(a: Scrape, b: Scrape): MetricsSummary {
  const ea = a.exposition;
  const eb = b.exposition;
  const secs = Math.max(0.001, (b.atMs - a.atMs) / 1000);
  const rate = (n: number) => round(n / secs, 1);

  const inMsgs = deltaBy(ea, eb, 'gregormq_messages_in_total', 'topic');
  const inBytes = deltaBy(ea, eb, 'gregormq_bytes_in_total', 'topic');
  const outMsgs = deltaBy(ea, eb, 'gregormq_messages_out_total', 'topic');
  const outBytes = deltaBy(ea, eb, 'gregormq_bytes_out_total', 'topic');
  const topicNames = new Set([...inMsgs.keys(), ...outMsgs.keys()]);
  const topics = [...topicNames]
    .map((topic) => ({
      topic,
      inMsgsPerSec: rate(inMsgs.get(topic) ?? 0),
      inMbPerSec: round((inBytes.get(topic) ?? 0) / 1e6 / secs, 3),
      outMsgsPerSec: rate(outMsgs.get(topic) ?? 0),
      outMbPerSec: round((outBytes.get(topic) ?? 0) / 1e6 / secs, 3),
    }))
    .sort(
      (x, y) =>
        y.inMsgsPerSec + y.outMsgsPerSec - (x.inMsgsPerSec + x.outMsgsPerSec) || (x.topic < y.topic ? -1 : 1),
    );

  const reqs = deltaBy(ea, eb, 'gregormq_requests_total', 'op');
  const errorsBefore = new Map<string, number>();
  const errorsAfter = new Map<string, number>();
  for (const [e, into] of [
    [ea, errorsBefore],
    [eb, errorsAfter],
  ] as const) {
    for (const s of selectSamples(e, 'gregormq_requests_total')) {
      if (s.labels.outcome === 'ok' || s.labels.op === undefined) continue;
      into.set(s.labels.op, (into.get(s.labels.op) ?? 0) + s.value);
    }
  }
  const requests = [...reqs]
    .map(([op, n]) => {
      const window = bucketDelta(
        histogramBuckets(ea, 'gregormq_request_duration_seconds', { op }),
        histogramBuckets(eb, 'gregormq_request_duration_seconds', { op }),
      );
      return {
        op,
        perSec: rate(n),
        errorsPerSec: rate(counterDelta(errorsBefore.get(op), errorsAfter.get(op))),
        p99Ms: ms(histogramQuantile(0.99, window)),
      };
    })
    .sort((x, y) => y.perSec - x.perSec || (x.op < y.op ? -1 : 1));

  const lagByKey = new Map<string, { group: string; topic: string; lag: number; maxPartitionLag: number }>();
  for (const s of selectSamples(eb, 'gregormq_consumer_group_lag')) {
    const group = s.labels.group ?? '';
    const topic = s.labels.topic ?? '';
    const key = `${group}\u0000${topic}`;
    const row = lagByKey.get(key) ?? { group, topic, lag: 0, maxPartitionLag: 0 };
    row.lag += s.value;
    row.maxPartitionLag = Math.max(row.maxPartitionLag, s.value);
    lagByKey.set(key, row);
  }

  const fsyncA: Buckets = histogramBuckets(ea, 'gregormq_fsync_duration_seconds');
  const fsyncB: Buckets = histogramBuckets(eb, 'gregormq_fsync_duration_seconds');
  const nodeInfo = selectSamples(eb, 'gregormq_node_info')[0];
  return {
    time: b.wallTime.toISOString(),
    node: nodeInfo?.labels.node ?? null,
    windowSeconds: round(secs, 3),
    in: throughput(ea, eb, 'in', secs),
    out: throughput(ea, eb, 'out', secs),
    topics,
    requests,
    lag: [...lagByKey.values()].sort((x, y) => y.lag - x.lag || (x.group < y.group ? -1 : 1)),
    fsync: {
      perSec: rate(
        counterDelta(
          sumSamples(ea, 'gregormq_fsync_duration_seconds_count'),
          sumSamples(eb, 'gregormq_fsync_duration_seconds_count'),
        ),
      ),
      p99Ms: ms(histogramQuantile(0.99, bucketDelta(fsyncA, fsyncB))),
      p99MsSinceStart: ms(histogramQuantile(0.99, fsyncB)),
    },
    connections: sumSamples(eb, 'gregormq_connections') ?? null,
    rssBytes: sumSamples(eb, 'gregormq_process_resident_memory_bytes') ?? null,
  };
}

const num = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The human form: a few header lines, then the busiest topics, ops and lagging groups. */
export function renderSummary(s: MetricsSummary, http: string, top: number): string {
  const dir = (name: string, t: Throughput) =>
    `${name.padEnd(4)}${num(t.msgsPerSec, 1).padStart(12)} msg/s ${num(t.mbPerSec, 2).padStart(9)} MB/s` +
    `   total ${num(t.totalMessages)} msgs, ${formatBytes(t.totalBytes)}`;
  const fsync =
    s.fsync.p99Ms !== null
      ? `${num(s.fsync.perSec, 1)}/s, p99 ${num(s.fsync.p99Ms, 2)} ms`
      : s.fsync.p99MsSinceStart !== null
        ? `idle, p99 ${num(s.fsync.p99MsSinceStart, 2)} ms since start`
        : 'none yet';
  const lines = [
    `node ${s.node ?? '?'} (${http})   window ${num(s.windowSeconds, 1)} s   ${s.time}`,
    '',
    dir('in', s.in),
    dir('out', s.out),
    `connections ${s.connections ?? '-'}   rss ${s.rssBytes === null ? '-' : formatBytes(s.rssBytes)}   fsync ${fsync}`,
    '',
  ];
  const topics = s.topics.slice(0, top);
  lines.push(
    topics.length === 0
      ? 'no topic traffic yet'
      : table(
          ['TOPIC', 'IN MSG/S', 'IN MB/S', 'OUT MSG/S', 'OUT MB/S'],
          topics.map((t) => [t.topic, t.inMsgsPerSec, t.inMbPerSec, t.outMsgsPerSec, t.outMbPerSec]),
        ),
  );
  if (s.topics.length > top) lines.push(`(${s.topics.length - top} more topics; --top N or --json)`);
  lines.push('');
  const ops = s.requests.filter((r) => r.perSec > 0).slice(0, top);
  lines.push(
    ops.length === 0
      ? 'no requests in this window'
      : table(
          ['OP', 'REQ/S', 'ERR/S', 'P99 MS'],
          ops.map((r) => [r.op, r.perSec, r.errorsPerSec, r.p99Ms ?? '-']),
        ),
  );
  lines.push('');
  const lag = s.lag.slice(0, top);
  lines.push(
    lag.length === 0
      ? 'no consumer-group lag reported'
      : table(
          ['GROUP', 'TOPIC', 'LAG', 'MAX PARTITION LAG'],
          lag.map((l) => [l.group, l.topic, l.lag, l.maxPartitionLag]),
        ),
  );
  return lines.join('\n');
}

/** Fetches and parses `http://<http>/metrics`; errors name the address and what went wrong. */
export async function scrapeMetrics(http: string): Promise<Scrape> {
  const url = `http://${http}/metrics`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    text = await res.text();
  } catch (err) {
    // fetch says only "fetch failed"; the cause has the errno (ECONNREFUSED) or the reason (bad port).
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new GregorError('CONNECTION_CLOSED', `${url}: ${why}`);
  }
  const atMs = performance.now();
  if (res.status === 404)
    throw new GregorError('UNKNOWN', `${url}: HTTP 404; is metrics.enabled false on that node?`);
  if (!res.ok) throw new GregorError('UNKNOWN', `${url}: HTTP ${res.status} ${res.statusText}`);
  try {
    return { atMs, wallTime: new Date(), exposition: parseExposition(text) };
  } catch (err) {
    throw new GregorError('UNKNOWN', `${url}: ${(err as Error).message}`);
  }
}

const CLEAR_TO_END_OF_LINE = '\u001b[K';
const HOME = '\u001b[H';
const CLEAR_BELOW = '\u001b[J';

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0)
    throw new UsageError(`metrics takes no arguments, got "${ctx.args[0]}"`, 'metrics');
  const http = httpAddress(ctx, 'metrics');
  const watch = ctx.flags.watch === true;
  const count = ctx.flags.count as number | undefined;
  const intervalMs = (ctx.flags['interval-ms'] as number | undefined) ?? 1000;
  const top = (ctx.flags.top as number | undefined) ?? 5;
  const samples = count ?? (watch ? Number.POSITIVE_INFINITY : 1);
  const tty = !ctx.json && (ctx.out.stdout as { isTTY?: boolean }).isTTY === true;

  let stopped = false;
  let wake: (() => void) | undefined;
  const onSigint = () => {
    stopped = true;
    wake?.();
  };
  // Ctrl-C ends a watch cleanly (exit 0); a single report keeps Node's default.
  if (samples > 1) process.on('SIGINT', onSigint);
  try {
    let prev = await scrapeMetrics(http);
    for (let i = 0; i < samples && !stopped; i++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopped) break;
      let cur: Scrape;
      try {
        cur = await scrapeMetrics(http);
      } catch (err) {
        // A single report has nothing to show without the second scrape; a watch keeps trying.
        if (samples === 1) throw err;
        ctx.out.info(`gregorctl: ${(err as Error).message}`);
        continue;
      }
      const summary = summarize(prev, cur);
      prev = cur;
      if (ctx.json) {
        await ctx.out.json(summary);
      } else if (tty) {
        const body = renderSummary(summary, http, top).split('\n').join(`${CLEAR_TO_END_OF_LINE}\n`);
        await ctx.out.flush();
        ctx.out.stdout.write(`${HOME}${body}${CLEAR_TO_END_OF_LINE}\n${CLEAR_BELOW}`);
        continue;
      } else {
        if (i > 0) ctx.out.line('');
        ctx.out.line(renderSummary(summary, http, top));
      }
      await ctx.out.flush();
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return 0;
}

registerCommand({
  name: 'metrics',
  summary: "one-screen summary of a node's metrics: throughput, top topics, requests, lag, fsync",
  args: [],
  flags: [
    HTTP_FLAG,
    { name: 'watch', type: 'boolean', description: 'refresh until Ctrl-C (in place on a terminal)' },
    { name: 'count', type: 'int', value: 'N', description: 'stop after N reports (implies watching)' },
    {
      name: 'interval-ms',
      type: 'int',
      value: 'MS',
      min: 100,
      description: 'window over which rates are computed, and the refresh period (default 1000)',
    },
    { name: 'top', type: 'int', value: 'N', description: 'rows per table in the human form (default 5)' },
  ],
  details: [
    'Rates are computed from two scrapes of /metrics one window apart; p99s from the histogram',
    'buckets that moved in that window. --json prints one JSON object per report: time, node,',
    'windowSeconds, in/out {msgsPerSec, mbPerSec, totalMessages, totalBytes}, topics[], requests[]',
    '{op, perSec, errorsPerSec, p99Ms}, lag[] {group, topic, lag, maxPartitionLag}, fsync {perSec,',
    'p99Ms, p99MsSinceStart}, connections, rssBytes. MB = 10^6 bytes.',
  ].join('\n'),
  run,
});

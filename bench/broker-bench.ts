/**
 * Broker benchmark: `npm run bench` (GregorMQ alone) or `npm run bench -- --compare` (also NATS
 * JetStream and Redis Streams from their Debian packages, each through its standard Node client and
 * a hand-written raw-protocol path). Broker and load generator always run in separate processes;
 * every load run warms up before it measures. Options: --runs N (repeats, medians reported;
 * default 2), --quick (shorter windows), --json FILE (raw results), --fsync POLICY (broker fsync
 * policy, default the broker's own: interval:1000).
 */
import { writeFileSync } from 'node:fs';
import { arch, cpus, release } from 'node:os';
import { connect } from '../src/index.js';
import { topicReady } from './broker-bench/gregor-load.js';
import {
  haveCommand,
  type LoadSpec,
  runLoad,
  type ServerProc,
  startGregor,
  startNats,
  startRedis,
} from './broker-bench/procs.js';
import { fmt, type LoadResult, median } from './broker-bench/stats.js';

interface Row {
  system: string;
  client: string;
  case: string;
  results: LoadResult[];
}

const args = process.argv.slice(2);
const compare = args.includes('--compare');
const quick = args.includes('--quick');
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 2;
const jsonArg = args.indexOf('--json');
const fsyncArg = args.indexOf('--fsync');
/** Extra broker flags: `--fsync os|always|interval:<ms>` overrides the broker's fsync policy. */
const BROKER_ARGS = fsyncArg >= 0 ? ['--fsync', args[fsyncArg + 1]!] : [];
const PRODUCE_MS = quick ? 1000 : 2000;
const LATENCY_MS = quick ? 1500 : 3000;

const rows = new Map<string, Row>();
/** Suffix of the GregorMQ rows measured with the SDK's sendBatch(). */
const SEND_BATCH = ' (sendBatch)';
function add(system: string, client: string, kase: string, r: LoadResult): void {
  const k = `${system}|${client}|${kase}`;
  let row = rows.get(k);
  if (!row) {
    row = { system, client, case: kase, results: [] };
    rows.set(k, row);
  }
  row.results.push(r);
  const lat =
    r.p99 === undefined
      ? ''
      : ` p50 ${fmt(r.p50, 2)} p99 ${fmt(r.p99, 2)} p99.9 ${fmt(r.p999, 2)} ms lost ${r.lost}`;
  process.stderr.write(
    `  ${system.padEnd(9)} ${client.padEnd(4)} ${kase.padEnd(26)} ${fmt(r.msgsPerSec).padStart(10)} msgs/s ${fmt(r.mbPerSec, 1).padStart(7)} MB/s${lat}${r.note ? ` (${r.note})` : ''}\n`,
  );
}

/** The scenarios every system runs, through each of its clients. */
async function scenarios(
  server: ServerProc,
  system: LoadSpec['system'],
  clients: LoadSpec['client'][],
  run: number,
) {
  const base = { system, port: server.port } as const;
  for (const client of clients) {
    const tag = `${client}-${run}`;
    for (const size of [100, 1024]) {
      const r = await runLoad({
        ...base,
        client,
        scenario: 'produce',
        target: `p${size}-${tag}`,
        size,
        durationMs: PRODUCE_MS,
      });
      add(system, client, `produce ${size === 100 ? '100 B' : '1 KiB'} acks=1`, r);
      if (size === 100) {
        const c = await runLoad({
          ...base,
          client,
          scenario: 'consume',
          target: `p${size}-${tag}`,
          size,
          durationMs: 0,
          count: r.msgs,
        });
        add(system, client, 'consume 100 B from start', c);
      }
    }
    for (const rate of [1000, 20000]) {
      const r = await runLoad({
        ...base,
        client,
        scenario: 'latency',
        target: `l${rate}-${tag}`,
        size: 100,
        durationMs: LATENCY_MS,
        rate,
      });
      add(system, client, `e2e latency @${rate / 1000}k/s`, r);
    }
  }
}

async function measureGregor(run: number): Promise<{ startMs: number; idleRss: number; loadedRss: number }> {
  const server = await startGregor(BROKER_ARGS);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = server.rssBytes();
    await scenarios(server, 'gregormq', ['sdk'], run);
    // The SDK's sendBatch(): one promise per 2,000 messages instead of one per message.
    for (const size of [100, 1024]) {
      const r = await runLoad({
        system: 'gregormq',
        port: server.port,
        client: 'batch',
        scenario: 'produce',
        target: `pb${size}-${run}`,
        size,
        durationMs: PRODUCE_MS,
      });
      add('gregormq', 'sdk', `produce ${size === 100 ? '100 B' : '1 KiB'} acks=1${SEND_BATCH}`, r);
    }
    return { startMs: server.startMs, idleRss, loadedRss: server.rssBytes() };
  } finally {
    await server.stop();
  }
}

async function measurePeer(
  name: 'nats' | 'redis',
  run: number,
): Promise<{ startMs: number; idleRss: number; loadedRss: number }> {
  const server = name === 'nats' ? await startNats() : await startRedis();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = server.rssBytes();
    await scenarios(server, name, ['std', 'raw'], run);
    return { startMs: server.startMs, idleRss, loadedRss: server.rssBytes() };
  } finally {
    await server.stop();
  }
}

function printTable(
  infra: Map<string, { startMs: number[]; idleRss: number[]; loadedRss: number[] }>,
): string {
  const lines: string[] = [];
  const g = (kase: string) => rows.get(`gregormq|sdk|${kase}`);
  const peers = [...rows.values()].filter((r) => r.system !== 'gregormq');
  const headPeers = [...new Set(peers.map((r) => `${r.system} ${r.client}`))];
  const header = ['case', 'GregorMQ', ...headPeers.flatMap((p) => [p, `ratio vs ${p}`])];
  lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
  const kases = [...new Set([...rows.values()].map((r) => r.case))];
  for (const kase of kases) {
    const latency = kase.startsWith('e2e');
    const metrics: [string, (r: LoadResult) => number | undefined, boolean][] = latency
      ? [
          ['p50 ms', (r) => r.p50, true],
          ['p99 ms', (r) => r.p99, true],
          ['p99.9 ms', (r) => r.p999, true],
        ]
      : kase.startsWith('produce')
        ? [
            ['msgs/s', (r) => r.msgsPerSec, false],
            ['MB/s', (r) => r.mbPerSec, false],
          ]
        : [['msgs/s', (r) => r.msgsPerSec, false]];
    for (const [unit, get, lowerBetter] of metrics) {
      const digits = latency ? 2 : unit === 'MB/s' ? 1 : 0;
      const gv = median((g(kase)?.results ?? []).map((r) => get(r) ?? Number.NaN));
      const cells = [`${kase} ${unit}`, fmt(gv, digits)];
      for (const p of headPeers) {
        const [sys, client] = p.split(' ');
        // A sendBatch row compares with the peers' plain produce row of the same size.
        const peerKase = kase.replace(SEND_BATCH, '');
        const pv = median(
          (rows.get(`${sys}|${client}|${peerKase}`)?.results ?? []).map((r) => get(r) ?? Number.NaN),
        );
        // Ratio > 1 always means GregorMQ is better.
        const ratio = lowerBetter ? pv / gv : gv / pv;
        cells.push(fmt(pv, digits), Number.isFinite(ratio) ? `${fmt(ratio, 2)}x` : '-');
      }
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  const sys = [...infra.keys()];
  lines.push('', `| process | ${sys.join(' | ')} |`, `| --- | ${sys.map(() => '---').join(' | ')} |`);
  lines.push(
    `| cold start to accepting connections, ms | ${sys.map((s) => fmt(median(infra.get(s)!.startMs), 0)).join(' | ')} |`,
  );
  lines.push(`| idle RSS, MB | ${sys.map((s) => fmt(median(infra.get(s)!.idleRss) / 1e6, 1)).join(' | ')} |`);
  lines.push(
    `| RSS after the load, MB | ${sys.map((s) => fmt(median(infra.get(s)!.loadedRss) / 1e6, 1)).join(' | ')} |`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const peers: ('nats' | 'redis')[] = [];
  if (compare) {
    if (haveCommand('nats-server')) peers.push('nats');
    else
      process.stderr.write(
        'broker-bench: nats-server not found, skipping NATS JetStream (apt-get install -y nats-server)\n',
      );
    if (haveCommand('redis-server')) peers.push('redis');
    else
      process.stderr.write(
        'broker-bench: redis-server not found, skipping Redis Streams (apt-get install -y redis-server)\n',
      );
  }
  const infra = new Map<string, { startMs: number[]; idleRss: number[]; loadedRss: number[] }>();
  const note = (name: string, m: { startMs: number; idleRss: number; loadedRss: number }) => {
    const e = infra.get(name) ?? { startMs: [], idleRss: [], loadedRss: [] };
    e.startMs.push(m.startMs);
    e.idleRss.push(m.idleRss);
    e.loadedRss.push(m.loadedRss);
    infra.set(name, e);
    process.stderr.write(
      `  ${name} start ${fmt(m.startMs)} ms, idle RSS ${fmt(m.idleRss / 1e6, 1)} MB, after load ${fmt(m.loadedRss / 1e6, 1)} MB\n`,
    );
  };
  const t0 = Date.now();
  for (let run = 0; run < RUNS; run++) {
    process.stderr.write(`run ${run + 1}/${RUNS}\n`);
    note('gregormq', await measureGregor(run));
    for (const p of peers) note(p, await measurePeer(p, run));
  }
  // Cold start gets extra samples: it is cheap and noisy. "Ready" = spawn until a new topic has a
  // leader, which needs the node to have joined its one-node cluster.
  const readyMs: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const s = await startGregor(BROKER_ARGS);
    infra.get('gregormq')!.startMs.push(s.startMs);
    const client = await connect({ brokers: `127.0.0.1:${s.port}` });
    await topicReady(client, 'cold-start');
    readyMs.push(performance.now() - t0);
    await client.close();
    await s.stop();
  }
  process.stderr.write(`  gregormq ready for a new topic after ${fmt(median(readyMs))} ms (median)\n`);
  const table = `${printTable(infra)}\n| spawn to first topic with a leader, ms | ${fmt(median(readyMs))} |${' - |'.repeat(peers.length)}`;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `\nbroker-bench ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpu}, Linux ${release()} ${arch()}, Node ${process.version}; ` +
      `medians of ${RUNS} runs; ratio > 1 = GregorMQ better; ${((Date.now() - t0) / 1000).toFixed(0)} s\n\n${table}\n`,
  );
  if (jsonArg >= 0)
    writeFileSync(
      args[jsonArg + 1]!,
      JSON.stringify({ rows: [...rows.values()], infra: Object.fromEntries(infra) }, null, 2),
    );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`broker-bench: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);

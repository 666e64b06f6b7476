/**
 * Storage benchmark (`npm run bench:log`): append throughput of FileLog for several record and
 * batch sizes under each fsync policy, sequential reads from page cache, and, interleaved with
 * every log run, a plain fs write loop of the same bytes in the same write sizes, so the log/raw
 * ratio stays meaningful on a noisy shared machine. Prints the machine and a markdown table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FileLog, openFileLog } from '../src/storage/file-log.js';
import type { FsyncPolicy } from '../src/storage/partition-log.js';
import { computeBatchCrc, encodeBatch } from '../src/storage/record-batch.js';

const REPEATS = 3;
/** Each timed run stops at whichever comes first. */
const RUN_BYTES = 96 * 1024 * 1024;
const RUN_MS = 400;
const ALWAYS_RUN_MS = 250;
const ALWAYS_IN_FLIGHT = 8;

interface Sample {
  msgs: number;
  bytes: number;
  ms: number;
}

interface Row {
  name: string;
  msgsPerSec: number;
  mbPerSec: number;
  rawMbPerSec: number | null;
  ratio: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A pool of distinct pre-encoded batches: `records` records of `recordBytes` bytes each. */
function batchPool(recordBytes: number, records: number): Buffer[] {
  const pool: Buffer[] = [];
  for (let p = 0; p < 8; p++) {
    const value = Buffer.alloc(recordBytes);
    for (let i = 0; i < recordBytes; i++) value[i] = (i * 31 + p * 7) & 0xff;
    pool.push(
      encodeBatch(
        Array.from({ length: records }, () => ({ value })),
        { timestamp: Date.now() },
      ),
    );
  }
  return pool;
}

function freshDir(root: string): string {
  return fs.mkdtempSync(path.join(root, 'run-'));
}

/** How long one timed run goes on: it stops at whichever limit comes first. */
interface RunLimits {
  maxBytes: number;
  limitMs: number;
}

const BURST: RunLimits = { maxBytes: RUN_BYTES, limitMs: RUN_MS };
/** Long enough to pass the kernel's dirty-page limits, so writeback speed shows, and to see interval fsyncs. */
const SUSTAINED: RunLimits = { maxBytes: 640 * 1024 * 1024, limitMs: 3000 };

async function appendRun(
  root: string,
  pool: Buffer[],
  records: number,
  fsync: FsyncPolicy,
  limits: RunLimits,
): Promise<Sample> {
  const dir = freshDir(root);
  const log = await openFileLog(dir, { fsync });
  const limitMs = fsync.kind === 'always' ? ALWAYS_RUN_MS : limits.limitMs;
  let bytes = 0;
  let batches = 0;
  const start = process.hrtime.bigint();
  if (fsync.kind === 'always') {
    const window: Promise<unknown>[] = [];
    while (elapsedMs(start) < limitMs) {
      for (let i = 0; i < ALWAYS_IN_FLIGHT; i++) {
        const b = pool[batches % pool.length]!;
        window.push(log.append(b));
        bytes += b.length;
        batches++;
      }
      await Promise.all(window);
      window.length = 0;
    }
  } else {
    while (bytes < limits.maxBytes && (batches & 63 || elapsedMs(start) < limitMs)) {
      const b = pool[batches % pool.length]!;
      await log.append(b);
      bytes += b.length;
      batches++;
    }
  }
  const ms = elapsedMs(start);
  await closeAndRemove(log, dir);
  return { msgs: batches * records, bytes, ms };
}

async function closeAndRemove(log: FileLog, dir: string): Promise<void> {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The same bytes in the same write sizes with a bare write loop, under the same fsync policy:
 * fdatasync after every write for `always`, every `syncEveryMs` for `interval`.
 */
function rawRun(
  root: string,
  pool: Buffer[],
  totalBytes: number,
  sync: boolean,
  limitMs: number,
  syncEveryMs = 0,
): Sample {
  const dir = freshDir(root);
  const fd = fs.openSync(path.join(dir, 'raw.bin'), 'a');
  let bytes = 0;
  let writes = 0;
  const start = process.hrtime.bigint();
  const limit = sync ? Math.min(limitMs, ALWAYS_RUN_MS) : limitMs;
  let lastSync = start;
  while (bytes < totalBytes && (writes & 15 || elapsedMs(start) < limit)) {
    const b = pool[writes % pool.length]!;
    fs.writeSync(fd, b, 0, b.length);
    if (sync) fs.fdatasyncSync(fd);
    else if (syncEveryMs > 0 && (writes & 15) === 0 && elapsedMs(lastSync) >= syncEveryMs) {
      fs.fdatasyncSync(fd);
      lastSync = process.hrtime.bigint();
    }
    bytes += b.length;
    writes++;
  }
  const ms = elapsedMs(start);
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  return { msgs: writes, bytes, ms };
}

/**
 * Runs the log and the raw loop back to back (alternating which goes first) and takes the median
 * of the per-pair ratios: neighbours in time see the same background load on a shared machine.
 */
async function appendCase(
  root: string,
  recordBytes: number,
  records: number,
  fsync: FsyncPolicy,
  repeats = REPEATS,
  limits = BURST,
): Promise<Row> {
  const pool = batchPool(recordBytes, records);
  await appendRun(root, pool, records, fsync, BURST); // warm-up
  const logRates: number[] = [];
  const msgRates: number[] = [];
  const rawRates: number[] = [];
  const ratios: number[] = [];
  const sync = fsync.kind === 'always';
  for (let r = 0; r < repeats; r++) {
    const rawFirst = r % 2 === 1;
    const every = fsync.kind === 'interval' ? fsync.intervalMs : 0;
    const before = rawFirst ? rawRun(root, pool, limits.maxBytes, sync, limits.limitMs, every) : null;
    const s = await appendRun(root, pool, records, fsync, limits);
    const raw = before ?? rawRun(root, pool, s.bytes, sync, Number.POSITIVE_INFINITY, every);
    const logRate = s.bytes / s.ms / 1000;
    const rawRate = raw.bytes / raw.ms / 1000;
    logRates.push(logRate);
    msgRates.push((s.msgs / s.ms) * 1000);
    rawRates.push(rawRate);
    ratios.push(logRate / rawRate);
  }
  const policy = fsync.kind === 'interval' ? `interval:${fsync.intervalMs}` : fsync.kind;
  const size = recordBytes >= 1024 ? `${recordBytes / 1024}KiB` : `${recordBytes}B`;
  const sustained = limits === SUSTAINED ? ' sustained' : '';
  return {
    name: `append${sustained} size=${size} batch=${records} fsync=${policy} (${pool[0]!.length} B/batch)`,
    msgsPerSec: median(msgRates),
    mbPerSec: median(logRates),
    rawMbPerSec: median(rawRates),
    ratio: median(ratios),
  };
}

/** CRC32C throughput over a batch pool: append must verify every batch, so this caps log/raw. */
function crcCase(recordBytes: number, records: number): Row {
  const pool = batchPool(recordBytes, records);
  const rates: number[] = [];
  for (let r = 0; r < REPEATS + 1; r++) {
    let bytes = 0;
    let n = 0;
    const start = process.hrtime.bigint();
    while (n & 63 || elapsedMs(start) < 200) {
      const b = pool[n % pool.length]!;
      computeBatchCrc(b);
      bytes += b.length;
      n++;
    }
    if (r > 0) rates.push(bytes / elapsedMs(start) / 1000);
  }
  return {
    name: `crc32c only (validation cost), ${pool[0]!.length} B/batch`,
    msgsPerSec: (median(rates) * 1e6) / (pool[0]!.length / records),
    mbPerSec: median(rates),
    rawMbPerSec: null,
    ratio: null,
  };
}

/** Fills a log with ~`totalBytes` of 1 KiB x 1000 batches, then reads it all back sequentially. */
async function readCase(root: string, maxBytes: number, totalBytes: number): Promise<Row> {
  const dir = freshDir(root);
  const log = await openFileLog(dir, { fsync: { kind: 'os' } });
  const pool = batchPool(1024, 1000);
  let written = 0;
  for (let i = 0; written < totalBytes; i++) {
    const b = pool[i % pool.length]!;
    await log.append(b);
    written += b.length;
  }
  const rates: number[] = [];
  let msgs = 0;
  for (let r = 0; r < REPEATS + 1; r++) {
    let offset = log.startOffset;
    let bytes = 0;
    const start = process.hrtime.bigint();
    while (offset < log.endOffset) {
      const res = await log.read(offset, maxBytes);
      bytes += res.bytes.length;
      offset = res.nextOffset;
    }
    const ms = elapsedMs(start);
    msgs = log.endOffset;
    if (r > 0) rates.push(bytes / ms / 1000);
  }
  await closeAndRemove(log, dir);
  const mb = median(rates);
  return {
    name: `read sequential maxBytes=${maxBytes / 1024}KiB (page cache, ${Math.round(written / 2 ** 20)} MiB)`,
    msgsPerSec: (mb * 1e6) / (written / msgs),
    mbPerSec: mb,
    rawMbPerSec: null,
    ratio: null,
  };
}

/** File-system type of the mount holding `dir`, from /proc/mounts (longest matching mount point). */
function fsType(dir: string): string {
  try {
    const real = fs.realpathSync(dir);
    let best = '';
    let type = 'unknown';
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mnt, t] = line.split(' ');
      if (
        mnt &&
        t &&
        (real === mnt || real.startsWith(mnt.endsWith('/') ? mnt : `${mnt}/`)) &&
        mnt.length > best.length
      ) {
        best = mnt;
        type = `${t} (${mnt})`;
      }
    }
    return type;
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gregor-bench-'));
  const started = Date.now();
  try {
    console.log(`# GregorMQ storage benchmark, ${new Date().toISOString()}`);
    console.log(
      `machine: ${cpuModel()}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, node ${process.version}, temp dir ${root} on ${fsType(root)}`,
    );
    console.log(
      `medians of ${REPEATS} paired runs (7 for the burst rows of 64 KiB+ batches) after a warm-up; burst runs stop at ${RUN_BYTES >> 20} MiB or ${RUN_MS} ms, sustained ones at ${SUSTAINED.maxBytes >> 20} MiB or ${SUSTAINED.limitMs} ms; fsync=always runs last ${ALWAYS_RUN_MS} ms with ${ALWAYS_IN_FLIGHT} appends in flight (its raw loop fdatasyncs after every write)\n`,
    );
    const rows: Row[] = [];
    const ceilings: string[] = [];
    const policies: FsyncPolicy[] = [
      { kind: 'always' },
      { kind: 'interval', intervalMs: 1000 },
      { kind: 'os' },
    ];
    for (const recordBytes of [100, 1024]) {
      for (const records of [1, 100, 1000]) {
        for (const fsync of policies) {
          const row = await appendCase(root, recordBytes, records, fsync);
          rows.push(row);
          console.error(`  ${row.name}: ${fmt(row.msgsPerSec)} msgs/s, ${fmt(row.mbPerSec, 1)} MB/s`);
        }
      }
    }
    for (const [recordBytes, records] of [
      [1024, 64],
      [1024, 256],
    ] as const) {
      for (const limits of [BURST, SUSTAINED]) {
        const repeats = limits === BURST ? 7 : 3;
        const row = await appendCase(
          root,
          recordBytes,
          records,
          { kind: 'interval', intervalMs: 1000 },
          repeats,
          limits,
        );
        rows.push(row);
        console.error(`  ${row.name}: ${fmt(row.mbPerSec, 1)} MB/s, ratio ${fmt(row.ratio ?? 0, 2)}`);
      }
      const crc = crcCase(recordBytes, records);
      rows.push(crc);
      const burst = rows[rows.length - 3]!;
      const ceiling = 1 / (1 / (burst.rawMbPerSec ?? 1) + 1 / crc.mbPerSec) / (burst.rawMbPerSec ?? 1);
      ceilings.push(`${burst.name}: ${fmt(ceiling * 100)}%`);
    }
    for (const maxBytes of [64 * 1024, 1024 * 1024]) rows.push(await readCase(root, maxBytes, 256 * 2 ** 20));
    console.log(
      '| case | msgs/s | MB/s | raw write loop MB/s (same writes, same fsync) | log/raw (median of paired runs) |',
    );
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) {
      const raw = r.rawMbPerSec === null ? '-' : fmt(r.rawMbPerSec, 1);
      const ratio = r.ratio === null ? '-' : `${fmt(r.ratio * 100)}%`;
      console.log(`| ${r.name} | ${fmt(r.msgsPerSec)} | ${fmt(r.mbPerSec, 1)} | ${raw} | ${ratio} |`);
    }
    const target1 = rows.find((r) => r.name.startsWith('append size=100B batch=1000 fsync=interval'))!;
    const big = rows.filter((r) => /^append.* batch=(64|256) /.test(r.name));
    const reads = rows.filter((r) => r.name.startsWith('read'));
    console.log('\ntargets:');
    console.log(
      `- >= 1,000,000 msgs/s (100 B records, 1,000-record batches, interval): ${fmt(target1.msgsPerSec)} -> ${target1.msgsPerSec >= 1e6 ? 'met' : 'NOT met'}`,
    );
    for (const r of big) {
      console.log(
        `- >= 70% of raw write speed (${r.name}): ${fmt((r.ratio ?? 0) * 100)}% -> ${(r.ratio ?? 0) >= 0.7 ? 'met' : 'NOT met'}`,
      );
    }
    for (const c of ceilings)
      console.log(`  (ceiling for CRC then write on one thread, 1/(1/raw + 1/crc) / raw, ${c})`);
    for (const r of reads)
      console.log(
        `- >= 1 GB/s sequential read (${r.name}): ${fmt(r.mbPerSec)} MB/s -> ${r.mbPerSec >= 1000 ? 'met' : 'NOT met'}`,
      );
    console.log(`\ntotal bench time ${fmt((Date.now() - started) / 1000, 1)} s`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();

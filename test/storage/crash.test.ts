import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openFileLog } from '../../src/storage/file-log.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { batchFor, checkBatch } from './crash-batches.js';
import { readAll, tempDir } from './log-helpers.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-writer.js');
const ROUNDS = process.env.GREGOR_SOAK === '1' ? 200 : 20;

/** Polls `cond` every few ms until it holds or `ms` pass. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Appends a prefix of the next batch, or random bytes, to the newest segment; returns its length. */
async function tearTail(dir: string, rand: () => number): Promise<number> {
  const logs = (await fs.readdir(dir)).filter((f) => f.endsWith('.log')).sort();
  const newest = path.join(dir, logs[logs.length - 1]!);
  const probe = await openFileLog(dir, { fsync: { kind: 'os' } });
  const end = probe.endOffset;
  await probe.close();
  const next = batchFor(end);
  next.writeUInt32BE(Math.floor(end / 2 ** 32), 0);
  next.writeUInt32BE(end >>> 0, 4);
  let tail: Buffer;
  if (rand() < 0.7) tail = next.subarray(0, 1 + Math.floor(rand() * (next.length - 1)));
  else {
    tail = Buffer.alloc(1 + Math.floor(rand() * 200));
    for (let i = 0; i < tail.length; i++) tail[i] = Math.floor(rand() * 256);
  }
  await fs.appendFile(newest, tail);
  return tail.length;
}

/** Reopens the log and checks every acknowledged batch is there, intact, with nothing after the damage. */
async function verify(
  dir: string,
  acked: Map<number, number>,
  round: number,
): Promise<{ end: number; cut: boolean }> {
  const log = await openFileLog(dir, {
    fsync: { kind: 'os' },
    segmentBytes: 48 * 1024,
    indexIntervalBytes: 1024,
  });
  try {
    const batches = await readAll(log, 20_000);
    const seen = new Map<number, number>();
    let expected = log.startOffset;
    for (const b of batches) {
      const { baseOffset, lastOffset } = checkBatch(b);
      assert.equal(baseOffset, expected, `round ${round}: offsets not contiguous`);
      expected = lastOffset + 1;
      seen.set(baseOffset, lastOffset);
    }
    assert.equal(expected, log.endOffset);
    for (const [base, last] of acked) {
      assert.equal(seen.get(base), last, `round ${round}: acknowledged batch ${base}..${last} is missing`);
    }
    // Nothing past the last good batch stays on disk to be served later.
    let onDisk = 0;
    for (const f of await fs.readdir(dir))
      if (f.endsWith('.log')) onDisk += (await fs.stat(path.join(dir, f))).size;
    assert.equal(onDisk, log.stats().sizeBytes, `round ${round}: bytes on disk past the valid end`);
    const cut = log.recovery.truncatedAt;
    if (cut) assert.equal((await fs.stat(cut.file)).size, cut.position);
    return { end: log.endOffset, cut: log.recovery.truncatedBytes > 0 };
  } finally {
    await log.close();
  }
}

test(`SIGKILL during fsync=always appends loses no acknowledged batch (${ROUNDS} kills)`, async (t) => {
  const seed = Number(process.env.GREGOR_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (replay with GREGOR_SEED=${seed})`);
  const rand = seededRandom(seed);
  const dir = await tempDir(t, 'gregor-crash-');
  const children = new Set<ChildProcess>();
  t.after(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  const acked = new Map<number, number>();
  let cuts = 0;
  let maxAckedEnd = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.on('exit', () => {
        exited = true;
        resolve();
      }),
    );
    let newAcks = 0;
    let pending = '';
    const errors: string[] = [];
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ack') {
          acked.set(Number(a), Number(b));
          newAcks++;
        } else if (kind === 'error') errors.push(line);
      }
    });
    const target = 1 + Math.floor(rand() * 120);
    await waitFor(() => newAcks >= target || exited, 30_000, `round ${round}: ${target} acks`);
    assert.deepEqual(errors, [], `round ${round}: writer reported errors`);
    assert.equal(exited, false, `round ${round}: writer exited before it was killed`);
    child.kill('SIGKILL');
    await exit;
    children.delete(child);
    // A power cut tears writes; imitate one now and then by leaving part of an unacknowledged
    // batch (or junk) at the end of the newest segment. SIGKILL itself can tear one too: Linux
    // stops copying a large write(2) when a fatal signal is pending, leaving a short write.
    const torn = rand() < 0.4 ? await tearTail(dir, rand) : null;
    const { end, cut } = await verify(dir, acked, round);
    if (cut) cuts++;
    // A torn tail must be cut; without one a cut can still happen (a short write under SIGKILL).
    if (torn !== null) assert.ok(cut, `round ${round}: a torn tail of ${torn} bytes was not cut`);
    for (const last of acked.values()) maxAckedEnd = Math.max(maxAckedEnd, last + 1);
    assert.ok(end >= maxAckedEnd, `round ${round}: log ends at ${end} before the last ack ${maxAckedEnd}`);
  }
  t.diagnostic(`${acked.size} acknowledged batches checked; ${cuts} recoveries cut a torn tail`);
});

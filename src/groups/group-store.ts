import { type FileHandle, mkdir, open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { Decoder, Encoder } from 'cbor-x';
import { writeFileAtomic } from '../broker/atomic-file.js';
import { GregorError } from '../errors.js';
import type { GroupMode } from '../protocol/messages-groups.js';
import { CBOR_OPTIONS } from '../protocol/payload.js';

/*
 * Durable group state: committed offsets and the queue-mode ack ledger, as an append-only file of
 * CBOR records (`<dataDir>/__groups/state.log`), replayed on start and rewritten (compacted) to
 * the live state when it grows. Every record is a "set" of some state, so replaying a record
 * twice changes nothing — which makes a crash between compaction and anything else harmless.
 *
 * Frame layout (big-endian):   u32 length | u32 crc32c(payload) | payload (CBOR, `length` bytes)
 *
 * A torn or corrupt frame can only be the last one written before a crash (frames are appended
 * and fsynced in order), so replay stops there and the file is cut back to the last good frame.
 */

/**
 * One stored state change. `at` (ms epoch, on the records a consumer's activity writes) dates the
 * group's last activity, so offsets retention counts from it across restarts.
 */
export type StoreRecord =
  | { t: 'group'; g: string; mode: GroupMode; at?: number }
  | { t: 'commit'; g: string; topic: string; p: number; offset: number; meta: string; at?: number }
  | { t: 'ack'; g: string; topic: string; p: number; offsets: number[]; at?: number }
  | { t: 'deliv'; g: string; topic: string; p: number; offset: number; n: number }
  | { t: 'nack'; g: string; topic: string; p: number; offset: number; notBefore: number }
  | { t: 'reset'; g: string; topic: string; p: number; offset: number; at?: number }
  | { t: 'delete'; g: string };

/** Queue-mode ack state of one partition for one group. */
export interface LedgerState {
  /** Every offset below this is acknowledged (or dead-lettered). */
  floor: number;
  /** Acknowledged offsets at or above `floor`. */
  acked: Set<number>;
  /** Deliveries so far of offsets not yet acknowledged. */
  deliveries: Map<number, number>;
  /** Nacked offsets and when (ms epoch) they may be delivered again. */
  notBefore: Map<number, number>;
}

/** What the store knows about one group. */
export interface StoredGroup {
  mode: GroupMode;
  /** Committed offsets by `topic\0partition`. */
  offsets: Map<string, { offset: number; meta: string }>;
  ledgers: Map<string, LedgerState>;
  /** Newest `at` of its records, ms epoch; 0 when none carried one (files from before `at`). */
  activeAt: number;
}

/** Key of one topic partition in the maps above. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/** Inverse of tpKey. */
export function splitTpKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf('\0');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/** An empty ledger starting at `floor`. */
export function newLedger(floor: number): LedgerState {
  return { floor, acked: new Set(), deliveries: new Map(), notBefore: new Map() };
}

/** Moves the floor past every acknowledged offset directly above it. */
export function advanceFloor(l: LedgerState): void {
  for (let i = 0; i < 10_000_000 && l.acked.has(l.floor); i++) {
    l.acked.delete(l.floor);
    l.deliveries.delete(l.floor);
    l.notBefore.delete(l.floor);
    l.floor++;
  }
}

/** Applies one record to the in-memory state (replay and live writes share this). */
export function applyRecord(state: Map<string, StoredGroup>, r: StoreRecord): void {
  if (r.t === 'delete') {
    state.delete(r.g);
    return;
  }
  let g = state.get(r.g);
  if (!g) {
    g = { mode: 'fanout', offsets: new Map(), ledgers: new Map(), activeAt: 0 };
    state.set(r.g, g);
  }
  if ('at' in r && r.at !== undefined && r.at > g.activeAt) g.activeAt = r.at;
  if (r.t === 'group') {
    g.mode = r.mode;
    return;
  }
  const key = tpKey(r.topic, r.p);
  if (r.t === 'commit') {
    g.offsets.set(key, { offset: r.offset, meta: r.meta });
    return;
  }
  if (r.t === 'reset') {
    g.offsets.set(key, { offset: r.offset, meta: '' });
    g.ledgers.set(key, newLedger(r.offset));
    return;
  }
  let l = g.ledgers.get(key);
  if (!l) {
    l = newLedger(g.offsets.get(key)?.offset ?? 0);
    g.ledgers.set(key, l);
  }
  if (r.t === 'ack') {
    for (const o of r.offsets) {
      if (o < l.floor) continue;
      l.acked.add(o);
      l.deliveries.delete(o);
      l.notBefore.delete(o);
    }
    advanceFloor(l);
    g.offsets.set(key, { offset: l.floor, meta: '' });
  } else if (r.t === 'deliv') {
    if (r.offset >= l.floor && !l.acked.has(r.offset)) l.deliveries.set(r.offset, r.n);
  } else if (r.offset >= l.floor && !l.acked.has(r.offset)) {
    l.notBefore.set(r.offset, r.notBefore);
  }
}

/** Records that rebuild `state` exactly (compaction output). */
function snapshotRecords(state: Map<string, StoredGroup>): StoreRecord[] {
  const out: StoreRecord[] = [];
  for (const [g, sg] of state) {
    out.push(
      sg.activeAt > 0 ? { t: 'group', g, mode: sg.mode, at: sg.activeAt } : { t: 'group', g, mode: sg.mode },
    );
    for (const [key, c] of sg.offsets) {
      const { topic, partition: p } = splitTpKey(key);
      out.push({ t: 'commit', g, topic, p, offset: c.offset, meta: c.meta });
    }
    for (const [key, l] of sg.ledgers) {
      const { topic, partition: p } = splitTpKey(key);
      out.push({ t: 'reset', g, topic, p, offset: l.floor });
      if (l.acked.size) out.push({ t: 'ack', g, topic, p, offsets: [...l.acked] });
      for (const [offset, n] of l.deliveries) out.push({ t: 'deliv', g, topic, p, offset, n });
      for (const [offset, nb] of l.notBefore) out.push({ t: 'nack', g, topic, p, offset, notBefore: nb });
    }
  }
  return out;
}

/**
 * The persistence seam of the group coordinator. `append` resolves once the record is durable
 * when `sync` is true (commit and ack answers wait for it); unsynced records ride along with the
 * next fsync. The state map is owned by the store and updated on append.
 */
export interface GroupStore {
  readonly state: Map<string, StoredGroup>;
  append(records: StoreRecord[], sync: boolean): Promise<void>;
  close(): Promise<void>;
}

/** A store that forgets everything on restart (brokers without a data dir, unit tests). */
export function createMemoryGroupStore(): GroupStore {
  const state = new Map<string, StoredGroup>();
  return {
    state,
    async append(records) {
      for (const r of records) applyRecord(state, r);
    },
    async close() {},
  };
}

const encoder = new Encoder(CBOR_OPTIONS);
const decoder = new Decoder(CBOR_OPTIONS);
const FRAME_HEAD = 8;

function frame(r: StoreRecord): Buffer {
  const body = encoder.encode(r);
  const out = Buffer.allocUnsafe(FRAME_HEAD + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32c(body), 4);
  body.copy(out, FRAME_HEAD);
  return out;
}

/** Decodes whole frames; returns the records and how many bytes were good. */
function parseFrames(buf: Buffer): { records: StoreRecord[]; goodBytes: number; problem?: string } {
  const records: StoreRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + FRAME_HEAD > buf.length) return { records, goodBytes: off, problem: 'torn frame header' };
    const len = buf.readUInt32BE(off);
    const end = off + FRAME_HEAD + len;
    if (end > buf.length) return { records, goodBytes: off, problem: 'torn frame body' };
    const body = buf.subarray(off + FRAME_HEAD, end);
    if (crc32c(body) !== buf.readUInt32BE(off + 4))
      return { records, goodBytes: off, problem: 'CRC mismatch' };
    records.push(decoder.decode(body) as StoreRecord);
    off = end;
  }
  return { records, goodBytes: off };
}

/** Options of the file store. */
export interface FileGroupStoreOptions {
  /** Rewrite the file to the live state once it is this large and twice its last compacted size. Default 8 MiB. */
  compactBytes?: number;
  /** Told about a torn tail cut off on open (file and byte position). */
  onRecovery?: (detail: { file: string; position: number; reason: string }) => void;
}

/**
 * Opens (creating if needed) the file store in `<dataDir>/__groups/state.log`. Concurrent appends
 * are written together and share one fsync (group commit).
 */
export async function openFileGroupStore(
  dataDir: string,
  o: FileGroupStoreOptions = {},
): Promise<GroupStore> {
  const dir = join(dataDir, '__groups');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'state.log');
  const state = new Map<string, StoredGroup>();
  let bytes = 0;
  try {
    const buf = await readFile(file);
    const parsed = parseFrames(buf);
    for (const r of parsed.records) applyRecord(state, r);
    bytes = parsed.goodBytes;
    if (parsed.problem) {
      o.onRecovery?.({ file, position: parsed.goodBytes, reason: parsed.problem });
      await truncate(file, parsed.goodBytes);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new GregorError('STORAGE_ERROR', `cannot read group state ${file}: ${String(err)}`, {
        cause: err,
      });
    }
  }
  const compactBytes = o.compactBytes ?? 8 * 1024 * 1024;
  let compactedSize = bytes;
  let fh: FileHandle = await open(file, 'a');
  let pending: { buf: Buffer; sync: boolean; done: () => void; fail: (e: unknown) => void }[] = [];
  let running: Promise<void> | null = null;
  let closed = false;

  const compact = async () => {
    const body = Buffer.concat(snapshotRecords(state).map(frame));
    await fh.close();
    await writeFileAtomic(file, body);
    fh = await open(file, 'a');
    bytes = body.length;
    compactedSize = bytes;
  };

  const drain = async () => {
    for (let round = 0; pending.length > 0 && round < 1_000_000; round++) {
      const batch = pending;
      pending = [];
      try {
        await fh.write(Buffer.concat(batch.map((b) => b.buf)));
        if (batch.some((b) => b.sync)) await fh.datasync();
        for (const b of batch) bytes += b.buf.length;
        for (const b of batch) b.done();
      } catch (err) {
        const e = new GregorError('STORAGE_ERROR', `cannot write group state ${file}: ${String(err)}`, {
          cause: err,
        });
        for (const b of batch) b.fail(e);
      }
      if (bytes > compactBytes && bytes > 2 * compactedSize) {
        await compact().catch(() => undefined);
      }
    }
    running = null;
  };

  return {
    state,
    append(records, sync) {
      if (closed) return Promise.reject(new GregorError('BROKER_SHUTTING_DOWN', 'group store is closed'));
      for (const r of records) applyRecord(state, r);
      return new Promise<void>((done, fail) => {
        pending.push({ buf: Buffer.concat(records.map(frame)), sync, done, fail });
        running ??= drain();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (running) await running;
      await fh.datasync().catch(() => undefined);
      await fh.close();
    },
  };
}

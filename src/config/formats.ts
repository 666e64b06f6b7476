/**
 * Value formats of the configuration schema. Each format is one function that takes what a
 * source gave (a string from env/flags, or a YAML/JSON value from a file) and returns the
 * canonical typed value, or throws an Error whose message is the reason ("must be ..."). The
 * same function is convict's `validate` (canonical values pass through unchanged) and the
 * per-source coercion in load-config.ts, so a value is judged the same way wherever it came from.
 */
import { isIPv6 } from 'node:net';
import convict from 'convict';
import { formatFsyncPolicy, parseFsyncPolicy } from '../storage/partition-log.js';

/** Turns a raw value into the canonical one or throws `Error('must be ...')`. */
export type Coerce = (raw: unknown) => unknown;

/** One named format: its coercion and a short type hint for `--help`. */
export interface FormatDef {
  coerce: Coerce;
  hint: string;
}

/** Log levels accepted by `log.level`, most to least verbose, plus `silent`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A pino level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Timer presets: `local` (tests on one machine), `lan` (default), `wan` (slow, lossy links). */
export const PRESET_NAMES = ['local', 'lan', 'wan'] as const;
/** A preset name. */
export type PresetName = (typeof PRESET_NAMES)[number];

const INT_TEXT = /^[+-]?\d+$/;

function toInteger(raw: unknown, reason: string): number {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw;
  if (typeof raw === 'string' && INT_TEXT.test(raw.trim())) {
    const n = Number(raw.trim());
    if (Number.isSafeInteger(n)) return n;
  }
  throw new Error(reason);
}

/** Port number 0-65535; 0 asks the OS for a free port. */
export function parsePort(raw: unknown): number {
  const reason = 'must be a port number 0-65535';
  const n = toInteger(raw, reason);
  if (n < 0 || n > 65535) throw new Error(reason);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_TEXT = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;

/**
 * Duration in whole milliseconds: a number (ms) or text with a unit, e.g. `250`, `"500ms"`, `"2s"`,
 * `"1.5m"`, `"7d"`. Units: ms, s, m (minutes), h, d.
 */
export function parseDurationMs(raw: unknown): number {
  const reason = 'must be a duration: milliseconds or a number with unit ms|s|m|h|d (e.g. "500ms", "2s")';
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw) && raw >= 0) return raw;
    throw new Error(reason);
  }
  if (typeof raw !== 'string') throw new Error(reason);
  const m = DURATION_TEXT.exec(raw.trim());
  if (!m) throw new Error(reason);
  const ms = Number(m[1]) * DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()]!;
  if (!Number.isSafeInteger(ms)) throw new Error(`${reason}; it must come to a whole number of milliseconds`);
  return ms;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 1024,
  ki: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};
const BYTE_TEXT = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/**
 * Size in bytes: a number or text with a unit. KiB/MiB/GiB/TiB (also Ki, K, Mi, M, ...) are powers
 * of 1024, KB/MB/GB/TB powers of 1000, case-insensitive: `"128MiB"` = 134217728, `"1MB"` = 1000000.
 */
export function parseByteSize(raw: unknown): number {
  const reason = 'must be a size in bytes: a number or a number with unit B|KiB|MiB|GiB|TiB|KB|MB|GB|TB';
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw) && raw >= 0) return raw;
    throw new Error(reason);
  }
  if (typeof raw !== 'string') throw new Error(reason);
  const m = BYTE_TEXT.exec(raw.trim());
  const unit = m ? BYTE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(reason);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new Error(`${reason}; it must come to a whole number of bytes`);
  return bytes;
}

const UNLIMITED_WORDS = new Set(['-1', 'unlimited', 'forever', 'none']);

/** Wraps a non-negative parser so that -1 (or "unlimited") means "no limit", as in Kafka's retention. */
function orUnlimited(parse: (raw: unknown) => number, what: string): Coerce {
  return (raw) => {
    if (raw === -1 || (typeof raw === 'string' && UNLIMITED_WORDS.has(raw.trim().toLowerCase()))) return -1;
    try {
      return parse(raw);
    } catch (err) {
      throw new Error(`${(err as Error).message}, or -1 / "unlimited" for ${what}`);
    }
  };
}

/** Wraps a non-negative parser so that 0 is refused too (intervals of 0 would spin). */
function positive(parse: (raw: unknown) => number, what: string): Coerce {
  return (raw) => {
    const n = parse(raw);
    if (n === 0) throw new Error(`must be a ${what} greater than 0`);
    return n;
  };
}

/** Integer >= min. */
function intAtLeast(min: number): Coerce {
  return (raw) => {
    const reason = `must be a whole number >= ${min}`;
    const n = toInteger(raw, reason);
    if (n < min) throw new Error(reason);
    return n;
  };
}

/** Strict boolean: true/false, also yes/no, on/off, 1/0 as text. */
export function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const t = raw.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(t)) return true;
    if (['false', 'no', 'off', '0'].includes(t)) return false;
  }
  throw new Error('must be true or false');
}

const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*\.?$/;

/** A host name, IPv4 address or IPv6 address (bare or in brackets). */
export function parseHost(raw: unknown): string {
  if (typeof raw === 'string' && raw.length > 0 && raw.length <= 253) {
    const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    if (bare.includes(':') ? isIPv6(bare) : HOST_NAME.test(raw)) return raw;
  }
  throw new Error('must be a host name or IP address');
}

/** Host name or IP, or "" for "work it out" (advertised addresses). */
function hostOrEmpty(raw: unknown): string {
  if (raw === '') return '';
  try {
    return parseHost(raw);
  } catch {
    throw new Error('must be a host name, an IP address, or "" to detect it');
  }
}

/** One seed: where to find another node. `port` is undefined when the entry named only a host. */
export interface HostPort {
  host: string;
  port: number | undefined;
}

/**
 * Parses `host`, `host:port`, `1.2.3.4:port` or `[::1]:port`. A bare host is allowed so that a DNS
 * name (e.g. a Kubernetes headless service) can stand for every node behind it on the default port.
 */
export function parseHostPort(entry: string): HostPort {
  const bracket = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(entry);
  let host: string;
  let port: string | undefined;
  if (bracket) {
    host = bracket[1]!;
    port = bracket[2];
  } else {
    const colon = entry.lastIndexOf(':');
    // More than one colon and no brackets: a bare IPv6 address, which cannot carry a port.
    if (colon >= 0 && entry.indexOf(':') === colon) {
      host = entry.slice(0, colon);
      port = entry.slice(colon + 1);
    } else {
      host = entry;
    }
  }
  parseHost(host);
  if (port === undefined) return { host, port: undefined };
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new Error('bad port');
  return { host, port: Number(port) };
}

/** List of seeds: an array, or one comma-separated string (env, flags). Empty entries are dropped. */
export function parseHostPortList(raw: unknown): string[] {
  const reason = 'must be a list of host:port or DNS names, e.g. "10.0.0.5:9442,gregor-headless:9442"';
  let items: unknown[];
  if (typeof raw === 'string') items = raw.split(',');
  else if (Array.isArray(raw)) items = raw;
  else throw new Error(reason);
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw new Error(reason);
    const entry = item.trim();
    if (entry === '') continue;
    try {
      parseHostPort(entry);
    } catch {
      throw new Error(`${reason}; "${entry}" is not`);
    }
    out.push(entry);
  }
  return out;
}

const NAME_TEXT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Names that end up in metric labels, paths and gossip: letters, digits, `.`, `_`, `-`, up to 128. */
export function parseName(raw: unknown): string {
  if (typeof raw === 'string' && NAME_TEXT.test(raw)) return raw;
  throw new Error('must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');
}

function enumOf<T extends string>(values: readonly T[]): Coerce {
  return (raw) => {
    const t = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
    if ((values as readonly unknown[]).includes(t)) return t;
    throw new Error(`must be one of ${values.join(', ')}`);
  };
}

/** The formats the schema uses, keyed by the name given as `format` in schema.ts. */
export const FORMATS = {
  'gregor-port': { coerce: parsePort, hint: 'port' },
  'gregor-host': { coerce: parseHost, hint: 'host' },
  'gregor-host-or-empty': { coerce: hostOrEmpty, hint: 'host' },
  'gregor-duration-ms': { coerce: parseDurationMs, hint: 'duration' },
  'gregor-duration-ms-or-unlimited': {
    coerce: orUnlimited(parseDurationMs, 'forever'),
    hint: 'duration or -1',
  },
  'gregor-positive-duration-ms': { coerce: positive(parseDurationMs, 'duration'), hint: 'duration, not 0' },
  'gregor-byte-size': { coerce: parseByteSize, hint: 'bytes' },
  'gregor-positive-byte-size': { coerce: positive(parseByteSize, 'size'), hint: 'bytes, not 0' },
  'gregor-byte-size-or-unlimited': { coerce: orUnlimited(parseByteSize, 'no limit'), hint: 'bytes or -1' },
  'gregor-positive-int': { coerce: intAtLeast(1), hint: 'int >= 1' },
  'gregor-deliveries': {
    coerce: orUnlimited((raw) => intAtLeast(1)(raw) as number, 'no limit'),
    hint: 'int >= 1 or -1',
  },
  'gregor-positive-number': {
    coerce: (raw: unknown) => {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n === 'number' && Number.isFinite(n) && n > 0) return n;
      throw new Error('must be a number > 0');
    },
    hint: 'number',
  },
  'gregor-boolean': { coerce: parseBoolean, hint: 'bool' },
  'gregor-host-port-list': { coerce: parseHostPortList, hint: 'host:port,...' },
  'gregor-fsync': {
    coerce: (raw: unknown) => {
      if (typeof raw !== 'string') throw new Error('must be always, interval:<ms> or os');
      try {
        return formatFsyncPolicy(parseFsyncPolicy(raw.trim()));
      } catch {
        throw new Error('must be always, interval:<ms> (ms > 0) or os');
      }
    },
    hint: 'always|interval:<ms>|os',
  },
  'gregor-log-level': { coerce: enumOf(LOG_LEVELS), hint: LOG_LEVELS.join('|') },
  'gregor-preset': { coerce: enumOf(PRESET_NAMES), hint: PRESET_NAMES.join('|') },
  'gregor-pretty': {
    coerce: (raw: unknown) => {
      if (raw === 'auto' || (typeof raw === 'string' && raw.trim().toLowerCase() === 'auto')) return 'auto';
      try {
        return parseBoolean(raw);
      } catch {
        throw new Error('must be auto, true or false');
      }
    },
    hint: 'auto|true|false',
  },
  'gregor-name': { coerce: parseName, hint: 'name' },
  'gregor-name-or-empty': {
    coerce: (raw: unknown) => {
      if (raw === '') return '';
      try {
        return parseName(raw);
      } catch (err) {
        throw new Error(`${(err as Error).message}, or "" for none`);
      }
    },
    hint: 'name',
  },
  'gregor-path': {
    coerce: (raw: unknown) => {
      if (typeof raw === 'string' && raw.length > 0 && !raw.includes('\0')) return raw;
      throw new Error('must be a file system path');
    },
    hint: 'path',
  },
  'gregor-path-or-empty': {
    coerce: (raw: unknown) => {
      if (typeof raw === 'string' && !raw.includes('\0')) return raw;
      throw new Error('must be a file system path, or "" for none');
    },
    hint: 'path',
  },
  'gregor-secret': {
    coerce: (raw: unknown) => {
      if (typeof raw === 'string') return raw;
      throw new Error('must be a string');
    },
    hint: 'secret',
  },
} satisfies Record<string, FormatDef>;

/** Name of one of the schema's formats. */
export type FormatName = keyof typeof FORMATS;

let registered = false;

/** Registers the formats with convict (its format table is process-wide, so once is enough). */
export function registerFormats(): void {
  if (registered) return;
  registered = true;
  for (const [name, def] of Object.entries(FORMATS)) {
    convict.addFormat({
      name,
      validate: (value: unknown) => {
        const canonical = def.coerce(value);
        // A value that is only accepted after conversion was not converted by the loader.
        if (JSON.stringify(canonical) !== JSON.stringify(value)) throw new Error(`is not in canonical form`);
      },
    });
  }
}

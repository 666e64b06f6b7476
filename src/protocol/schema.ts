/**
 * Tiny validators for CBOR control payloads. A payload arrives as `unknown` from the CBOR decoder;
 * each `Check` either returns a clean, typed copy or throws a `FieldProblem` naming the field path
 * (`partitions[2].offset`). The codec layer turns that into a `FrameError` (decode side, with the
 * frame's byte offset) or an INVALID_ARGUMENT (encode side).
 *
 * Why copy instead of casting: a clean object has exactly the declared keys in declared order, so
 * the same value always encodes to the same bytes (golden fixtures), unknown keys sent by a newer
 * peer are dropped instead of leaking into broker state, and `optional(check, default)` fills
 * fields an older peer did not send — which is how payloads grow without a version bump.
 */

/**
 * A validator: returns the clean value or throws a FieldProblem. `encoding` is true when the
 * result goes straight into the CBOR encoder (see `int`).
 *
 * Checks do not receive their path: containers prefix it onto a FieldProblem as it unwinds, so
 * the success path builds no strings.
 */
export type Check<T> = (value: unknown, encoding?: boolean) => T;

/** Thrown by checks; never escapes the protocol module (the codec wraps it in a GregorError). */
export class FieldProblem extends Error {
  override readonly name = 'FieldProblem';
  /** Field path from the payload root, e.g. `partitions[2].offset`; '' for the payload itself. */
  path: string;
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(path ? `field ${path}: ${problem}` : problem);
    this.path = path;
    this.problem = problem;
  }

  /** Prepends a container's key (`name` or `[i]`) to the path. */
  within(segment: string): FieldProblem {
    this.path = !this.path
      ? segment
      : this.path.startsWith('[')
        ? segment + this.path
        : `${segment}.${this.path}`;
    this.message = `field ${this.path}: ${this.problem}`;
    return this;
  }
}

/** Rethrows `err` with `segment` prefixed if it is a FieldProblem. */
function rethrowWithin(err: unknown, segment: string): never {
  if (err instanceof FieldProblem) throw err.within(segment);
  throw err;
}

/** Longest string accepted in a control field (topic names are far shorter; messages may be long). */
export const MAX_STRING_CHARS = 65_536;
/** Most elements accepted in one array field (partitions in a request, topics in metadata...). */
export const MAX_ARRAY_ITEMS = 1_000_000;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  if (typeof v === 'string')
    return v.length > 40 ? `a ${v.length}-char string` : `string ${JSON.stringify(v)}`;
  return typeof v === 'object' ? `${v.constructor?.name ?? 'an'} object` : typeof v;
}

/** A string of at most `maxChars` characters (and at least `minChars`). */
export function str(minChars = 0, maxChars = MAX_STRING_CHARS): Check<string> {
  return (v) => {
    if (typeof v !== 'string') throw new FieldProblem('', `expected a string, got ${describe(v)}`);
    if (v.length < minChars || v.length > maxChars)
      throw new FieldProblem('', `string length ${v.length} is outside ${minChars}..${maxChars}`);
    return v;
  };
}

/**
 * A safe integer in [min, max]. When encoding, integers beyond 32 bits are handed to cbor-x as
 * BigInt: cbor-x writes large JS numbers as float64, which is exact but surprises non-JS peers and
 * depends on a library heuristic; a BigInt becomes a proper CBOR 64-bit integer (major type 0/1).
 * The decoder returns plain numbers (`int64AsNumber`).
 */
export function int(min: number, max: number): Check<number> {
  return (v, encoding) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v))
      throw new FieldProblem('', `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) throw new FieldProblem('', `${v} is outside ${min}..${max}`);
    if (encoding && (v > 0xffff_ffff || v < -0x1_0000_0000)) return BigInt(v) as unknown as number;
    return v;
  };
}

/** Unsigned 8/16/32-bit, signed 16/32-bit and 53-bit ("int64" on the wire) integer checks. */
export const u8: Check<number> = int(0, 0xff);
export const u16: Check<number> = int(0, 0xffff);
export const u32: Check<number> = int(0, 0xffff_ffff);
export const i16: Check<number> = int(-0x8000, 0x7fff);
export const i32: Check<number> = int(-0x8000_0000, 0x7fff_ffff);
export const i64: Check<number> = int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
/** A partition number or count (0..2^31-1). */
export const nonNegI32: Check<number> = int(0, 0x7fff_ffff);
/** An offset, size or duration that may be -1 for "none / unlimited". */
export const i64OrMinus1: Check<number> = int(-1, Number.MAX_SAFE_INTEGER);

/** A boolean. */
export const bool: Check<boolean> = (v) => {
  if (typeof v !== 'boolean') throw new FieldProblem('', `expected true or false, got ${describe(v)}`);
  return v;
};

/** A byte string; returns a Buffer view over the same memory (no copy). */
export const bytes: Check<Buffer> = (v) => {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new FieldProblem('', `expected bytes, got ${describe(v)}`);
};

/** One of a fixed set of strings or numbers. */
export function oneOf<const T extends readonly (string | number)[]>(...values: T): Check<T[number]> {
  const set = new Set<unknown>(values);
  return (v) => {
    if (!set.has(v)) throw new FieldProblem('', `expected one of ${values.join(' | ')}, got ${describe(v)}`);
    return v as T[number];
  };
}

/** `null` or what `check` accepts. A missing field counts as null. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, enc) => (v === null || v === undefined ? null : check(v, enc));
}

/** A field an older peer may omit: missing (or undefined) becomes `fallback`. */
export function optional<T>(check: Check<T>, fallback: T): Check<T> {
  return (v, enc) => (v === undefined ? fallback : check(v, enc));
}

/** An array whose every element passes `check`; at most `maxItems` long. */
export function arrayOf<T>(check: Check<T>, maxItems = MAX_ARRAY_ITEMS): Check<T[]> {
  return (v, enc) => {
    if (!Array.isArray(v)) throw new FieldProblem('', `expected an array, got ${describe(v)}`);
    if (v.length > maxItems) throw new FieldProblem('', `${v.length} items, at most ${maxItems} allowed`);
    const out = new Array<T>(v.length);
    let i = 0;
    try {
      for (; i < v.length; i++) out[i] = check(v[i], enc);
    } catch (err) {
      rethrowWithin(err, `[${i}]`);
    }
    return out;
  };
}

/** The per-field checks of an object type: every key of T, no other. */
export type Shape<T> = { [K in keyof T]-?: Check<T[K]> };

/**
 * Marks the `bytes` field of a payload that carries record batches (raw-codec.ts). When encoding,
 * `object` fills it with the byte length of the value's `records` field; when decoding, it
 * validates the declared length and stores it under `records`, where the raw codec swaps in the
 * bytes. Both avoid re-shaping objects on the hot path.
 */
export const RAW_LENGTH: Check<number> = Object.assign((v: unknown) => u32(v), { rawLength: true as const });

function byteLengthOf(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  if (!Array.isArray(v))
    throw new FieldProblem('records', `expected bytes or an array of bytes, got ${describe(v)}`);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const b: unknown = v[i];
    if (!(b instanceof Uint8Array))
      throw new FieldProblem(`records[${i}]`, `expected bytes, got ${describe(b)}`);
    n += b.length;
  }
  return n;
}

/** A plain object with exactly the fields of `shape`, copied in declaration order; extra keys are dropped. */
export function object<T>(shape: Shape<T>): Check<T> {
  const keys = Object.keys(shape) as (keyof T & string)[];
  const checks = keys.map((k) => shape[k]) as Check<unknown>[];
  const raw = checks.map((c) => c === RAW_LENGTH);
  return (v, enc) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
      throw new FieldProblem('', `expected a map, got ${describe(v)}`);
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let i = 0;
    try {
      for (; i < keys.length; i++) {
        const k = keys[i]!;
        if (raw[i]) {
          if (enc) out[k] = byteLengthOf(src.records);
          else out.records = RAW_LENGTH(Object.hasOwn(src, k) ? src[k] : undefined);
          continue;
        }
        out[k] = checks[i]!(Object.hasOwn(src, k) ? src[k] : undefined, enc);
      }
    } catch (err) {
      if (err instanceof FieldProblem && raw[i] && enc) throw err; // already names `records`
      rethrowWithin(err, keys[i]!);
    }
    return out as T;
  };
}

/** A union of object types told apart by a string field (`kind` by convention). */
export function tagged<T extends Record<K, string>, K extends string>(
  key: K,
  variants: { [V in T[K]]: Check<Extract<T, Record<K, V>>> },
): Check<T> {
  const table = variants as Record<string, Check<T>>;
  const names = Object.keys(table).join(' | ');
  return (v, enc) => {
    const tag = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
    const check = typeof tag === 'string' && Object.hasOwn(table, tag) ? table[tag] : undefined;
    if (!check) throw new FieldProblem(key, `expected one of ${names}, got ${describe(tag)}`);
    return check(v, enc);
  };
}

/** Exactly this literal value (used for the tag field of a tagged variant). */
export function literal<const T extends string>(value: T): Check<T> {
  return (v) => {
    if (v !== value) throw new FieldProblem('', `expected ${JSON.stringify(value)}, got ${describe(v)}`);
    return value;
  };
}

/**
 * Reading the Prometheus text exposition format (0.0.4) back: what `gregorctl metrics` needs to
 * turn a node's `/metrics` page into rates and percentiles. The broker writes this format with
 * prom-client; this side parses samples and does the arithmetic PromQL would do (sum by label,
 * counter deltas with reset handling, histogram_quantile over bucket deltas).
 *
 * It is a reader, not a validator: comment lines other than TYPE are skipped, and a malformed
 * sample line throws an error naming its line number (a scraper must not guess).
 */

/** One sample line: `name{labels} value`. */
export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: samples by sample name (histograms keep `_bucket`, `_sum`, `_count`). */
export interface Exposition {
  /** Samples by their own name, in page order. */
  samples: Map<string, ExpositionSample[]>;
  /** Family name -> counter, gauge, histogram, summary or untyped, from the TYPE lines. */
  types: Map<string, string>;
}

/** Go's ParseFloat spellings, which is what Prometheus accepts (prom-client writes `Nan`). */
function parseValue(text: string, line: number): number {
  if (/^\+?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text))
    throw new Error(`exposition line ${line}: bad sample value "${text}"`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` at text[0] === '{'; returns the labels and where they ended. */
function parseLabels(text: string, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = 1;
  // Each pass consumes one label; a line cannot hold more labels than characters.
  for (let guard = 0; guard <= text.length; guard++) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq < 0 || text[eq + 1] !== '"')
      throw new Error(`exposition line ${line}: bad label at column ${i + 1}`);
    const name = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== '\\') {
        value += text[j];
        continue;
      }
      const next = text[++j];
      value += next === 'n' ? '\n' : (next ?? '');
    }
    if (j >= text.length) throw new Error(`exposition line ${line}: unterminated value of label "${name}"`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
  }
  throw new Error(`exposition line ${line}: unterminated label set`);
}

/** Parses a whole `/metrics` page. */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, ExpositionSample[]>();
  const types = new Map<string, string>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trim();
    if (raw === '') continue;
    if (raw.startsWith('#')) {
      const t = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(raw);
      if (t) types.set(t[1]!, t[2]!);
      continue;
    }
    const nameEnd = raw.search(/[{\s]/);
    if (nameEnd <= 0) throw new Error(`exposition line ${n + 1}: not a sample: ${raw.slice(0, 80)}`);
    const name = raw.slice(0, nameEnd);
    let rest = raw.slice(nameEnd);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest, n + 1);
      labels = parsed.labels;
      rest = rest.slice(parsed.end);
    }
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? '', n + 1);
    let list = samples.get(name);
    if (!list) {
      list = [];
      samples.set(name, list);
    }
    list.push({ name, labels, value });
  }
  return { samples, types };
}

/** Samples of `name` whose labels include every pair of `match`. */
export function selectSamples(
  e: Exposition,
  name: string,
  match: Record<string, string> = {},
): ExpositionSample[] {
  const all = e.samples.get(name) ?? [];
  const keys = Object.keys(match);
  if (keys.length === 0) return all;
  return all.filter((s) => keys.every((k) => s.labels[k] === match[k]));
}

/** Sum of every sample of `name` (matching `match`), or undefined if there is none. */
export function sumSamples(
  e: Exposition,
  name: string,
  match: Record<string, string> = {},
): number | undefined {
  const list = selectSamples(e, name, match);
  if (list.length === 0) return undefined;
  let total = 0;
  for (const s of list) total += s.value;
  return total;
}

/** `sum by (label) (name)`: totals per value of `label`; samples without the label are skipped. */
export function sumBy(e: Exposition, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of e.samples.get(name) ?? []) {
    const key = s.labels[label];
    if (key === undefined) continue;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/**
 * How much a counter grew between two readings. A smaller later reading means the process
 * restarted and the counter began again at zero, so the growth is the later reading itself
 * (what Prometheus' rate() assumes too).
 */
export function counterDelta(before: number | undefined, after: number | undefined): number {
  if (after === undefined) return 0;
  if (before === undefined || after < before) return after;
  return after - before;
}

/** Cumulative histogram buckets: upper bound -> observations at or below it. */
export type Buckets = Map<number, number>;

/** The buckets of histogram `name` (without `_bucket`), summed over series matching `match`. */
export function histogramBuckets(e: Exposition, name: string, match: Record<string, string> = {}): Buckets {
  const out: Buckets = new Map();
  for (const s of selectSamples(e, `${name}_bucket`, match)) {
    const le = s.labels.le;
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(bound)) continue;
    out.set(bound, (out.get(bound) ?? 0) + s.value);
  }
  return out;
}

/** Per-bucket counter deltas (observations made between the two readings). */
export function bucketDelta(before: Buckets, after: Buckets): Buckets {
  const out: Buckets = new Map();
  for (const [le, v] of after) out.set(le, counterDelta(before.get(le), v));
  return out;
}

/**
 * The `q` quantile (0..1) of a cumulative histogram, interpolating linearly inside the bucket
 * it falls in, as PromQL's histogram_quantile does. Undefined when the histogram is empty; the
 * highest finite bound when the quantile lies in the +Inf bucket.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (sorted.length === 0 || total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevBound = bound === Number.POSITIVE_INFINITY ? prevBound : bound;
    prevCount = count;
  }
  return prevBound;
}

/**
 * Pure helpers for the deployment checks: finding the repo root, pulling metric names out of
 * PromQL, reading Helm templates without a Helm binary, and reading a Dockerfile. No Helm or
 * Docker runs on the build machines, so these checks read the files as text.
 */

export { findRepoRoot } from '../helpers/repo-root.js';

/** PromQL functions, keywords and aggregation modifiers that look like identifiers. */
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'atan2',
  'inf',
  'nan',
]);

/**
 * Metric names that a PromQL expression (or a Grafana `label_values(...)` query) selects.
 * String literals are dropped first so label values never count; only names with `prefix` are
 * returned, since label names and functions never carry it.
 */
export function metricNamesInPromql(expr: string, prefix: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  // Range selectors like [$__rate_interval] and durations are not names either.
  const noRanges = noStrings.replace(/\[[^\]]*\]/g, '');
  const names = new Set<string>();
  for (const m of noRanges.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    if (PROMQL_WORDS.has(word)) continue;
    if (word.startsWith(prefix)) names.add(word);
  }
  return [...names].sort();
}

/** What kind of series a registry metric produces: histograms add _bucket/_sum/_count. */
export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * Whether a series name used in a query is produced by one of `exported` (name -> kind):
 * a plain name, or a histogram's `_bucket`/`_sum`/`_count`, or a summary's `_sum`/`_count`.
 */
export function isExportedSeries(series: string, exported: ReadonlyMap<string, MetricKind>): boolean {
  if (exported.has(series)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (!m) return false;
  const kind = exported.get(m[1]!);
  if (kind === 'histogram') return true;
  return kind === 'summary' && m[2] !== 'bucket';
}

/** Dotted paths of every `.Values.x.y` reference in a Helm template. */
export function valuesReferences(template: string): string[] {
  const refs = new Set<string>();
  for (const m of template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add(m[1]!.slice(1));
  return [...refs].sort();
}

/** Whether `path` (dotted) names a key present in the parsed values tree. */
export function hasValuePath(values: unknown, path: string): boolean {
  let node: unknown = values;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
    if (!Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/** One `{{ ... }}` action of a Go template, with its 1-based line. */
export interface TemplateAction {
  text: string;
  line: number;
}

/** The actions of a Go template, trim markers (`{{-`, `-}}`) and comments removed. */
export function templateActions(template: string): TemplateAction[] {
  const out: TemplateAction[] = [];
  for (const m of template.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)) {
    const text = m[1]!;
    if (text.startsWith('/*')) continue;
    out.push({ text, line: template.slice(0, m.index).split('\n').length });
  }
  return out;
}

/**
 * Checks that block actions nest: every if/with/range/define/block is closed by an end, `else`
 * only appears inside if/with/range. Returns the problems found, each naming the line.
 */
export function blockProblems(template: string): string[] {
  const problems: string[] = [];
  const stack: TemplateAction[] = [];
  for (const a of templateActions(template)) {
    const word = /^([a-z]+)\b/.exec(a.text)?.[1];
    if (word === 'if' || word === 'with' || word === 'range' || word === 'define' || word === 'block')
      stack.push(a);
    else if (word === 'else') {
      const open = stack.at(-1);
      if (!open || /^(define|block)\b/.test(open.text))
        problems.push(`line ${a.line}: else outside if/with/range`);
    } else if (word === 'end') {
      if (!stack.pop()) problems.push(`line ${a.line}: end without an open block`);
    }
  }
  for (const open of stack) problems.push(`line ${open.line}: "${open.text}" is never closed`);
  return problems;
}

/** Names passed to `include "..."` / `template "..."`, and names declared by `define "..."`. */
export function templateNames(template: string): { used: string[]; defined: string[] } {
  const used = [...template.matchAll(/\b(?:include|template)\s+"([^"]+)"/g)].map((m) => m[1]!);
  const defined = [...template.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]!);
  return { used, defined };
}

/**
 * The template's static YAML skeleton: lines holding only actions are dropped and inline
 * actions become the scalar `TPL`, so a YAML parser can check indentation and structure.
 * Both branches of a conditional stay in, so duplicate keys must be tolerated by the parser.
 */
export function yamlSkeleton(template: string): string {
  const noComments = template.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');
  const lines: string[] = [];
  for (const line of noComments.split('\n')) {
    if (/^\s*(\{\{[\s\S]*?\}\}\s*)+$/.test(line)) continue;
    lines.push(line.replace(/\{\{[\s\S]*?\}\}/g, 'TPL'));
  }
  return lines.join('\n');
}

/** One Dockerfile instruction with its continuation lines joined, and the stage it belongs to. */
export interface DockerInstruction {
  keyword: string;
  args: string;
  stage: number;
  line: number;
}

/** Splits a Dockerfile into instructions (comments and blank lines dropped, `\` continuations joined). */
export function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let stage = -1;
  let pending = '';
  let startLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (pending === '' && /^\s*(#|$)/.test(raw)) continue;
    // Comment lines inside a continued instruction are skipped by Docker too.
    if (pending !== '' && /^\s*#/.test(raw)) continue;
    if (pending === '') startLine = i + 1;
    const continued = /\\\s*$/.test(raw);
    pending += `${raw.replace(/\\\s*$/, '').trim()} `;
    if (continued) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(pending.trim());
    pending = '';
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2]!.trim(), stage, line: startLine });
  }
  return out;
}

/** `GREGOR_*` variable names mentioned anywhere in `text`. */
export function gregorEnvNames(text: string): string[] {
  return [...new Set([...text.matchAll(/\bGREGOR_[A-Z0-9_]+\b/g)].map((m) => m[0]))].sort();
}

/** A Grafana panel, as far as these checks read it. */
export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

/** A Grafana dashboard, as far as these checks read it. */
export interface Dashboard {
  schemaVersion?: number;
  uid?: string;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: unknown }[] };
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (list: Panel[] | undefined): void => {
    for (const p of list ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Every PromQL text of the dashboard: panel targets and query variables. */
export function dashboardQueries(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? [])
      if (t.expr) out.push({ where: `panel ${p.id} "${p.title}"`, expr: t.expr });
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (q) out.push({ where: `variable $${v.name}`, expr: q });
  }
  return out;
}

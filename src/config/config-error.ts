/**
 * The error every configuration problem becomes. Its message is one line that starts with
 * "config error:" and names the key (or flag / variable) and the source, so the broker can print
 * it as is and exit.
 */
import { GregorError } from '../errors.js';

/** Which layer a value came from, lowest precedence first. */
export type ConfigSource = 'default' | 'preset' | 'file' | 'env' | 'flag';

/** A bad configuration; `key` and `origin` (e.g. "env GREGOR_PORT") name the culprit when known. */
export class ConfigError extends GregorError {
  override readonly name: string = 'ConfigError';
  readonly key: string | undefined;
  readonly origin: string | undefined;

  constructor(detail: string, where: { key?: string; origin?: string } = {}, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', `config error: ${oneLine(detail)}`, options);
    this.key = where.key;
    this.origin = where.origin;
  }
}

/** True for a ConfigError, also one created by another copy of this module. */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof Error && err.name === 'ConfigError';
}

/** Collapses any line breaks (e.g. from a parser message) so the error stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** Renders a value as it was given, for messages: strings quoted, the rest as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

/** Levenshtein distance, for "did you mean" hints; small inputs only. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** `" (did you mean X?)"` for the closest candidate within a few edits, or "". */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const lower = input.toLowerCase();
  for (const c of candidates) {
    const score = distance(lower, c.toLowerCase());
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(2, Math.floor(input.length / 4));
  return best !== undefined && bestScore <= limit ? ` (did you mean ${best}?)` : '';
}

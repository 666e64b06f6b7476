import { type FlagSpec, GLOBAL_FLAGS, UsageError } from './registry.js';

/** Result of parsing a command's arguments. */
export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | number | boolean | undefined>;
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name` against the command's flags plus the
 * global ones. Every error names the flag: `--count must be a positive integer, got "x"`.
 */
export function parseArgs(argv: string[], specs: FlagSpec[], command?: string): ParsedArgs {
  const all = new Map<string, FlagSpec>();
  for (const s of [...GLOBAL_FLAGS, ...specs]) all.set(s.name, s);
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h') {
      flags.help = true;
      continue;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a !== '-' && !/^-\d/.test(a))
        throw new UsageError(`unknown flag ${a}`, command);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = all.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`, command);
    if (spec.type === 'boolean') {
      if (eq >= 0) {
        const v = a.slice(eq + 1);
        if (v !== 'true' && v !== 'false')
          throw new UsageError(`--${name} takes no value or true/false, got "${v}"`, command);
        flags[name] = v === 'true';
      } else flags[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`, command);
      raw = next;
      i++;
    }
    flags[name] = spec.type === 'int' ? parseIntFlag(name, raw, spec.min ?? 1) : raw;
  }
  return { positionals, flags };
}

/** Parses an integer flag value; the message says what was expected and what came. */
export function parseIntFlag(name: string, raw: string, min: number): number {
  const what =
    min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be ${what}, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be ${what}, got "${raw}"`);
  return n;
}

/** Renders a command's flags for --help, aligned. */
export function formatFlags(specs: FlagSpec[]): string {
  const rows = specs.map((s) => [`--${s.name}${s.value ? ` ${s.value}` : ''}`, s.description]);
  const width = Math.max(0, ...rows.map((r) => r[0]!.length));
  return rows.map(([f, d]) => `  ${f!.padEnd(width)}  ${d}`).join('\n');
}

/**
 * Text views of the configuration: `gregormq --print-config` (the effective values with where each
 * came from, secrets masked) and `gregormq --help` (every key with its flag, env name, default and
 * doc, generated from the schema so the two can never disagree).
 */
import type { ConfigSource } from './config-error.js';
import { FORMATS } from './formats.js';
import {
  buildSchema,
  type ConfigKey,
  flattenSchema,
  type GregorConfig,
  type KeySpec,
  PRESETS,
} from './schema.js';

/** What replaces a secret that is set. */
export const MASK = '********';

/** Options for formatConfig. */
export interface FormatConfigOptions {
  /** `yaml` (default): YAML with a `# source` comment per key; `json`: the masked config only. */
  format?: 'yaml' | 'json';
  /** Exact origins from loadConfig; when given they replace the bare source names in comments. */
  origins?: Partial<Record<ConfigKey, string>>;
}

function keySpecs(): Map<ConfigKey, KeySpec> {
  return flattenSchema(buildSchema());
}

function getAt(config: GregorConfig, key: string): unknown {
  let node: unknown = config;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** A copy of the config with every set secret replaced by MASK. */
export function maskSecrets(config: GregorConfig): GregorConfig {
  const copy = structuredClone(config);
  for (const [key, spec] of keySpecs()) {
    if (!spec.sensitive) continue;
    const parts = key.split('.');
    const last = parts.pop()!;
    let node = copy as unknown as Record<string, unknown>;
    for (const part of parts) node = node[part] as Record<string, unknown>;
    if (node[last] !== '' && node[last] !== undefined) node[last] = MASK;
  }
  return copy;
}

/** A YAML scalar or flow sequence that reads back as the same value. */
function yamlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlValue).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * Renders the effective config for `--print-config`. The YAML form is a valid config file (every
 * value explicit, comments give the source); the JSON form is the masked config object.
 */
export function formatConfig(
  config: GregorConfig,
  sources: Partial<Record<ConfigKey, ConfigSource>>,
  options: FormatConfigOptions = {},
): string {
  const masked = maskSecrets(config);
  if (options.format === 'json') return `${JSON.stringify(masked, null, 2)}\n`;
  const rows: Array<{ indent: string; text: string; note: string }> = [];
  let section = '';
  for (const key of keySpecs().keys()) {
    const dot = key.lastIndexOf('.');
    const head = dot < 0 ? '' : key.slice(0, dot);
    if (head !== section) {
      rows.push({ indent: '', text: `${head}:`, note: '' });
      section = head;
    }
    const note = options.origins?.[key] ?? sources[key] ?? 'default';
    rows.push({
      indent: head === '' ? '' : '  ',
      text: `${key.slice(dot + 1)}: ${yamlValue(getAt(masked, key))}`,
      note,
    });
  }
  const width = Math.min(60, Math.max(...rows.map((r) => r.indent.length + r.text.length)));
  const lines = rows.map((r) => {
    const body = r.indent + r.text;
    return r.note === '' ? body : `${body.padEnd(width)}  # ${r.note}`;
  });
  return `${lines.join('\n')}\n`;
}

/** Indents and wraps text at `width` columns. */
function wrap(text: string, indent: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') out.push(indent + line);
  return out;
}

function describeDefault(key: ConfigKey, spec: KeySpec): string {
  if (key === 'node.name') return 'host name';
  const value = spec.default;
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  if (value === '') return '""';
  return String(value);
}

/** The `gregormq --help` text: usage, meta flags, then every key grouped by section. */
export function configHelp(): string {
  const specs = keySpecs();
  const out: string[] = [
    'Usage: gregormq [flags]',
    '',
    'Starts one GregorMQ broker node. Settings come from, lowest first: built-in defaults < preset',
    '< config file < GREGOR_* environment variables < flags.',
    '',
    'Flags:',
    '  --config <path>            YAML (.yaml/.yml) or JSON (.json) config file (env GREGOR_CONFIG)',
    '  --set <key>=<value>        set any key below, e.g. --set storage.segmentBytes=64MiB (repeatable)',
    '  --print-config[=json]      print the effective configuration and where each value came from, then exit',
    '  --version                  print the version and exit',
    '  -h, --help                 print this help and exit',
    '',
    'Values: durations take ms or a unit (500ms, 2s, 5m, 1h, 7d); sizes take bytes or a unit',
    '(64KiB, 128MiB, 1GiB; KB/MB/GB are powers of 1000); lists are comma-separated in env and flags;',
    'booleans are true/false (flags: --name / --no-name).',
    '',
    'Presets (--preset, GREGOR_PRESET) set the keys marked "preset":',
  ];
  for (const [name, values] of Object.entries(PRESETS)) {
    const text = Object.entries(values)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    out.push(...wrap(`${name}: ${text}`, '  ', 100));
  }
  let section = '';
  for (const [key, spec] of specs) {
    const dot = key.lastIndexOf('.');
    const head = dot < 0 ? 'general' : key.slice(0, dot);
    if (head !== section) {
      out.push('', `[${head}]`);
      section = head;
    }
    const ways: string[] = [];
    if (spec.arg)
      ways.push(spec.format === 'gregor-boolean' ? `--${spec.arg} / --no-${spec.arg}` : `--${spec.arg}`);
    ways.push(spec.env);
    const hint = FORMATS[spec.format].hint;
    out.push(`  ${key} [${hint}]   ${ways.join(', ')}   default: ${describeDefault(key, spec)}`);
    out.push(...wrap(spec.doc, '      ', 100));
  }
  return `${out.join('\n')}\n`;
}

/** The GREGOR_* variable of every key, for docs and tests. */
export function envNames(): Record<ConfigKey, string> {
  const out = {} as Record<ConfigKey, string>;
  for (const [key, spec] of keySpecs()) out[key] = spec.env;
  return out;
}

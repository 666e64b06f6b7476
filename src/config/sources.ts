/**
 * Reads the three user-controlled configuration sources — command-line flags, GREGOR_* variables
 * and the config file — into raw (key, value, origin) entries. Nothing is converted here; an
 * unknown flag, variable or key, or a file that cannot be read or parsed, fails at once with a
 * ConfigError naming it and where it came from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isNode, isScalar, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { ConfigError, didYouMean, oneLine, showValue } from './config-error.js';
import type { ConfigKey, KeySpec } from './schema.js';
import { RESERVED_ENV_NAMES, RESERVED_ENV_PREFIXES } from './schema.js';

/** One value as a source gave it. `origin` names the source for messages: "env GREGOR_PORT". */
export interface RawEntry {
  key: ConfigKey;
  value: unknown;
  origin: string;
}

/** What the flags ask the CLI to do besides configuring the broker. */
export interface CliActions {
  help: boolean;
  version: boolean;
  /** `--print-config` (yaml) or `--print-config=json`. */
  printConfig: false | 'yaml' | 'json';
}

/** Flags that are not configuration keys. */
const META_FLAGS = ['config', 'set', 'help', 'version', 'print-config'];

/** Finds the CLI actions without validating anything, so `--help` works even with bad config. */
export function cliActions(argv: readonly string[]): CliActions {
  const actions: CliActions = { help: false, version: false, printConfig: false };
  for (const token of argv) {
    if (token === '--') break;
    if (token === '--help' || token === '-h') actions.help = true;
    else if (token === '--version') actions.version = true;
    else if (token === '--print-config' || token === '--print-config=yaml') actions.printConfig = 'yaml';
    else if (token === '--print-config=json') actions.printConfig = 'json';
  }
  return actions;
}

/** The flag and env tables derived from the schema. */
export interface SourceTables {
  specs: Map<ConfigKey, KeySpec>;
  /** Section prefixes (`server`, `cluster`, ...) for the file walk. */
  sections: Set<string>;
  byFlag: Map<string, ConfigKey>;
  byEnv: Map<string, ConfigKey>;
  /** GREGOR_SECTION_KEY_NAME spelling of keys whose env name is a short one, for hints. */
  byDerivedEnv: Map<string, ConfigKey>;
}

/** `server.maxFrameBytes` -> `GREGOR_SERVER_MAX_FRAME_BYTES`. */
export function derivedEnvName(key: string): string {
  return `GREGOR_${key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\./g, '_')
    .toUpperCase()}`;
}

/** Builds the lookup tables once per load. */
export function buildTables(specs: Map<ConfigKey, KeySpec>): SourceTables {
  const sections = new Set<string>();
  const byFlag = new Map<string, ConfigKey>();
  const byEnv = new Map<string, ConfigKey>();
  const byDerivedEnv = new Map<string, ConfigKey>();
  for (const [key, spec] of specs) {
    const parts = key.split('.');
    for (let i = 1; i < parts.length; i++) sections.add(parts.slice(0, i).join('.'));
    if (spec.arg) byFlag.set(spec.arg, key);
    byEnv.set(spec.env, key);
    if (derivedEnvName(key) !== spec.env) byDerivedEnv.set(derivedEnvName(key), key);
  }
  return { specs, sections, byFlag, byEnv, byDerivedEnv };
}

/** The result of reading argv. */
export interface ParsedArgv {
  entries: RawEntry[];
  configFile: string | undefined;
}

/**
 * Parses `--name value`, `--name=value`, boolean `--name` / `--no-name`, repeated
 * `--set key=value` and `--config path`. Positional arguments and unknown flags are errors.
 */
export function readArgv(argv: readonly string[], t: SourceTables): ParsedArgv {
  const entries: RawEntry[] = [];
  let configFile: string | undefined;
  const flagNames = [...t.byFlag.keys(), ...META_FLAGS].map((f) => `--${f}`);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '-h') continue;
    if (token.startsWith('-') && !token.startsWith('--')) {
      throw new ConfigError(`unknown flag ${token}; see --help`, { origin: `flag ${token}` });
    }
    if (!token.startsWith('--') || token === '--') {
      const shown = token === '--' ? argv[i + 1] : token;
      if (shown === undefined) break;
      throw new ConfigError(
        `unexpected argument ${showValue(shown)} on the command line; gregormq takes only flags`,
        {
          origin: 'flag',
        },
      );
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    if (name === 'help' || name === 'version' || name === 'print-config') continue;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        const key = t.byFlag.get(name);
        const what = key === undefined ? '' : ` (${key})`;
        throw new ConfigError(`flag --${name}${what} needs a value`, { key, origin: `flag --${name}` });
      }
      i++;
      return next;
    };
    if (name === 'config') {
      configFile = takeValue();
      continue;
    }
    if (name === 'set') {
      const pair = takeValue();
      const at = pair.indexOf('=');
      if (at <= 0) {
        throw new ConfigError(`flag --set needs key=value, got ${showValue(pair)}`, { origin: 'flag --set' });
      }
      const key = pair.slice(0, at).trim();
      if (!t.specs.has(key as ConfigKey)) {
        throw new ConfigError(
          `unknown key ${showValue(key)} in flag --set${didYouMean(key, t.specs.keys())}`,
          {
            key,
            origin: 'flag --set',
          },
        );
      }
      entries.push({ key: key as ConfigKey, value: pair.slice(at + 1), origin: `flag --set ${key}` });
      continue;
    }
    const direct = t.byFlag.get(name);
    const negated = name.startsWith('no-') ? t.byFlag.get(name.slice(3)) : undefined;
    if (direct !== undefined && t.specs.get(direct)!.format === 'gregor-boolean') {
      entries.push({ key: direct, value: inline ?? 'true', origin: `flag --${name}` });
    } else if (direct !== undefined) {
      entries.push({ key: direct, value: takeValue(), origin: `flag --${name}` });
    } else if (negated !== undefined && t.specs.get(negated)!.format === 'gregor-boolean') {
      if (inline !== undefined) {
        throw new ConfigError(`flag --${name} takes no value`, { key: negated, origin: `flag --${name}` });
      }
      entries.push({ key: negated, value: 'false', origin: `flag --${name}` });
    } else {
      throw new ConfigError(`unknown flag --${name}${didYouMean(`--${name}`, flagNames)}; see --help`, {
        origin: `flag --${name}`,
      });
    }
  }
  return { entries, configFile };
}

/** The result of reading the environment. */
export interface ParsedEnv {
  entries: RawEntry[];
  configFile: string | undefined;
}

/** Reads GREGOR_* variables; one that looks like ours but is unknown is an error. */
export function readEnv(env: Record<string, string | undefined>, t: SourceTables): ParsedEnv {
  const entries: RawEntry[] = [];
  let configFile: string | undefined;
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (!name.startsWith('GREGOR_') || value === undefined) continue;
    if (name === 'GREGOR_CONFIG') {
      if (value !== '') configFile = value;
      continue;
    }
    const key = t.byEnv.get(name);
    if (key !== undefined) {
      entries.push({ key, value, origin: `env ${name}` });
      continue;
    }
    if (RESERVED_ENV_NAMES.includes(name) || RESERVED_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    const derived = t.byDerivedEnv.get(name);
    const hint =
      derived === undefined
        ? didYouMean(name, t.byEnv.keys())
        : ` (${derived} is set with ${t.specs.get(derived)!.env})`;
    throw new ConfigError(`unknown environment variable ${name}${hint}`, {
      origin: `env ${name}`,
    });
  }
  return { entries, configFile };
}

/** Reads and parses the config file (YAML or JSON by extension) and flattens it into entries. */
export function readConfigFile(file: string, cwd: string, via: string, t: SourceTables): RawEntry[] {
  const ext = path.extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext)) {
    throw new ConfigError(`config file ${file} (from ${via}) must end in .yaml, .yml or .json`, {
      origin: via,
    });
  }
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError(
      `cannot read config file ${file} (from ${via}): ${why}`,
      { origin: via },
      { cause: err },
    );
  }
  const where = `file ${file}`;
  if (ext === '.json') {
    try {
      JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      const pos = /at position (\d+)/.exec(msg);
      const at = pos ? ` ${lineCol(text, Number(pos[1]))}` : '';
      const reason = msg.replace(/\s*(in JSON )?at position \d+.*$/s, '');
      throw new ConfigError(`cannot parse ${where}${at}: ${reason}`, { origin: where }, { cause: err });
    }
  }
  // JSON is YAML 1.2, so one walk over the YAML tree serves both and gives line numbers.
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const bad = doc.errors[0];
  if (bad) {
    const pos = bad.linePos?.[0] ?? lines.linePos(bad.pos[0]);
    const at = pos ? ` line ${pos.line}, column ${pos.col}` : '';
    throw new ConfigError(`cannot parse ${where}${at}: ${oneLine(bad.message)}`, { origin: where });
  }
  const entries: RawEntry[] = [];
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return entries;
  if (!isMap(root)) {
    throw new ConfigError(`${where} must hold a mapping of keys (e.g. "server:\\n  port: 9440")`, {
      origin: where,
    });
  }
  const lineOf = (node: unknown): string => {
    const range = isNode(node) ? node.range : undefined;
    return range ? ` line ${lines.linePos(range[0]).line}` : '';
  };
  const walk = (map: YAMLMap, prefix: string): void => {
    for (const pair of map.items) {
      const keyNode = pair.key;
      if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        throw new ConfigError(`${where}${lineOf(keyNode)}: keys must be plain names`, { origin: where });
      }
      const key = prefix + String(keyNode.value);
      const origin = `${where}${lineOf(keyNode)}`;
      const valueNode = pair.value as Node | null;
      const value = isNode(valueNode) ? valueNode.toJS(doc) : valueNode;
      if (t.specs.has(key as ConfigKey)) {
        entries.push({ key: key as ConfigKey, value, origin });
      } else if (t.sections.has(key)) {
        if (value === null || value === undefined) continue;
        if (!isMap(valueNode)) {
          const kids = [...t.specs.keys()]
            .filter((k) => k.startsWith(`${key}.`))
            .map((k) => k.slice(key.length + 1));
          throw new ConfigError(
            `${key} = ${showValue(value)} from ${origin}: must be a section with keys ${kids.join(', ')}`,
            {
              key,
              origin,
            },
          );
        }
        walk(valueNode, `${key}.`);
      } else {
        throw new ConfigError(
          `unknown key ${showValue(key)} in ${origin}${didYouMean(key, t.specs.keys())}`,
          {
            key,
            origin,
          },
        );
      }
    }
  };
  walk(root, '');
  return entries;
}

/** `line L, column C` (1-based) of a character offset. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

/**
 * Builds the effective configuration from its layers, lowest first:
 *   schema defaults < preset < config file (--config / GREGOR_CONFIG) < GREGOR_* env < flags.
 * Every value is converted and checked where it enters, so an error names the key, the value and
 * the exact source ("env GREGOR_PORT", "file ./gregor.yaml line 3", "flag --port"). Convict then
 * re-validates the merged result strictly as a safety net.
 */
import path from 'node:path';
import convict from 'convict';
import { ConfigError, type ConfigSource, showValue } from './config-error.js';
import { FORMATS, type PresetName, registerFormats } from './formats.js';
import {
  buildSchema,
  type ConfigKey,
  flattenSchema,
  type GregorConfig,
  type KeySpec,
  PRESETS,
} from './schema.js';
import { buildTables, type RawEntry, readArgv, readConfigFile, readEnv } from './sources.js';

/** Where loadConfig reads from; all optional so tests can pass exactly what they mean. */
export interface LoadConfigInput {
  /** Command-line arguments without node and script (process.argv.slice(2)). Default []. */
  argv?: readonly string[];
  /** Environment. Default {} (not process.env: callers pass it on purpose). */
  env?: Record<string, string | undefined>;
  /** Directory that relative paths (config file, node.dataDir, cluster.keyFile) are resolved against. */
  cwd?: string;
}

/** The effective configuration and, for every key, which layer set it. */
export interface LoadedConfig {
  config: GregorConfig;
  sources: Record<ConfigKey, ConfigSource>;
  /** Exact origin of each value, e.g. "flag --port", "env GREGOR_SEEDS", "preset local", "default". */
  origins: Record<ConfigKey, string>;
  /** The config file as given (flag or GREGOR_CONFIG), if any. */
  configFile: string | undefined;
}

interface Layered {
  value: unknown;
  source: ConfigSource;
  origin: string;
}

/** Converts one raw value with its key's format, or throws the one-line error naming key and source. */
function convert(entry: RawEntry, spec: KeySpec): unknown {
  try {
    return FORMATS[spec.format].coerce(entry.value);
  } catch (err) {
    throw new ConfigError(
      `${entry.key} = ${spec.sensitive ? '(secret)' : showValue(entry.value)} from ${entry.origin}: ${(err as Error).message}`,
      { key: entry.key, origin: entry.origin },
      { cause: err },
    );
  }
}

/** Loads, converts and validates the configuration; throws ConfigError on the first problem. */
export function loadConfig(input: LoadConfigInput = {}): LoadedConfig {
  registerFormats();
  const argv = input.argv ?? [];
  const env = input.env ?? {};
  const cwd = input.cwd ?? process.cwd();
  const schema = buildSchema();
  const specs = flattenSchema(schema);
  const tables = buildTables(specs);

  const flags = readArgv(argv, tables);
  const envs = readEnv(env, tables);
  const configFile = flags.configFile ?? envs.configFile;
  const via = flags.configFile !== undefined ? 'flag --config' : 'env GREGOR_CONFIG';
  const fileEntries = configFile === undefined ? [] : readConfigFile(configFile, cwd, via, tables);

  const layers: Array<[ConfigSource, RawEntry[]]> = [
    ['file', fileEntries],
    ['env', envs.entries],
    ['flag', flags.entries],
  ];
  const converted = layers.map(
    ([source, entries]) =>
      [source, entries.map((e) => ({ entry: e, value: convert(e, specs.get(e.key)!) }))] as const,
  );

  const merged = new Map<ConfigKey, Layered>();
  for (const [key, spec] of specs)
    merged.set(key, { value: spec.default, source: 'default', origin: 'default' });

  // The preset is chosen by the highest layer that names one, then sits just above the defaults.
  let preset = specs.get('preset')!.default as PresetName;
  for (const [, entries] of converted) {
    for (const { entry, value } of entries) if (entry.key === 'preset') preset = value as PresetName;
  }
  for (const [key, value] of Object.entries(PRESETS[preset])) {
    merged.set(key as ConfigKey, { value, source: 'preset', origin: `preset ${preset}` });
  }

  for (const [source, entries] of converted) {
    for (const { entry, value } of entries) {
      const prev = merged.get(entry.key)!;
      // Repeated list flags add up (`--seeds a --seeds b`); every other repeat is last-wins.
      const add =
        source === 'flag' && prev.source === 'flag' && Array.isArray(prev.value) && Array.isArray(value);
      merged.set(entry.key, {
        value: add ? [...(prev.value as unknown[]), ...value] : value,
        source,
        origin: add ? `${prev.origin}, ${entry.origin}` : entry.origin,
      });
    }
  }

  for (const [key, spec] of specs) {
    const slot = merged.get(key)!;
    if (spec.path && typeof slot.value === 'string' && slot.value !== '')
      slot.value = path.resolve(cwd, slot.value);
  }

  checkRelations(merged);

  const conf = convict<GregorConfig>(schema, { env: {}, args: [] });
  for (const [key, slot] of merged) conf.set(key, slot.value as never);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(`internal validation failed: ${(err as Error).message}`, {}, { cause: err });
  }

  const sources = {} as Record<ConfigKey, ConfigSource>;
  const origins = {} as Record<ConfigKey, string>;
  for (const [key, slot] of merged) {
    sources[key] = slot.source;
    origins[key] = slot.origin;
  }
  return { config: conf.getProperties(), sources, origins, configFile };
}

/** Checks that hold between keys; the message names both keys and where each value came from. */
function checkRelations(merged: Map<ConfigKey, Layered>): void {
  const at = (key: ConfigKey): string => {
    const slot = merged.get(key)!;
    return `${key} = ${showValue(slot.value)} (${slot.origin})`;
  };
  const num = (key: ConfigKey): number => merged.get(key)!.value as number;
  const fail = (key: ConfigKey, detail: string): never => {
    throw new ConfigError(detail, { key, origin: merged.get(key)!.origin });
  };

  if (num('groups.heartbeatIntervalMs') >= num('groups.sessionTimeoutMs')) {
    fail(
      'groups.heartbeatIntervalMs',
      `${at('groups.heartbeatIntervalMs')} must be less than ${at('groups.sessionTimeoutMs')}`,
    );
  }
  if (num('storage.maxBatchBytes') >= num('server.maxFrameBytes')) {
    fail(
      'storage.maxBatchBytes',
      `${at('storage.maxBatchBytes')} must be less than ${at('server.maxFrameBytes')} so a full batch fits in a request frame`,
    );
  }
  if (merged.get('cluster.key')!.value !== '' && merged.get('cluster.keyFile')!.value !== '') {
    fail(
      'cluster.key',
      `cluster.key (${merged.get('cluster.key')!.origin}) and ${at('cluster.keyFile')} are both set; set one`,
    );
  }
  const ports: ConfigKey[] = ['server.port', 'http.port', 'cluster.port'];
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      const a = ports[i]!;
      const b = ports[j]!;
      if (num(a) !== 0 && num(a) === num(b)) fail(b, `${at(b)} is the same port as ${at(a)}`);
    }
  }
}

/** Public entry of the configuration module: load, print and document the broker configuration. */
export { ConfigError, type ConfigSource, isConfigError } from './config-error.js';
export {
  configHelp,
  envNames,
  type FormatConfigOptions,
  formatConfig,
  MASK,
  maskSecrets,
} from './format-config.js';
export {
  type HostPort,
  LOG_LEVELS,
  type LogLevel,
  PRESET_NAMES,
  type PresetName,
  parseBoolean,
  parseByteSize,
  parseDurationMs,
  parseHostPort,
  parseHostPortList,
} from './formats.js';
export { type LoadConfigInput, type LoadedConfig, loadConfig } from './load-config.js';
export {
  type ConfigKey,
  type GregorConfig,
  PRESETS,
  RESERVED_ENV_NAMES,
  RESERVED_ENV_PREFIXES,
} from './schema.js';
export { type CliActions, cliActions } from './sources.js';

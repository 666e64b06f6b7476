/**
 * Logging through pino: JSON lines by default, pino-pretty when asked or when stdout is a terminal,
 * one child per component (`logger.child({ component: 'storage' })`), and a level that can be
 * changed at run time for the whole tree or for one component.
 *
 * Why the bookkeeping: a pino child that never had its own level reads its parent's through the
 * prototype chain, but once a child has a level of its own (a per-component override, or
 * `child(b, { level })`) it no longer follows the root. So every child is remembered weakly and
 * setLogLevel walks them, and overrides are re-applied to children created later.
 */
import { createRequire } from 'node:module';
import pino from 'pino';
import type { LogLevel } from '../config/formats.js';
import type { GregorConfig } from '../config/schema.js';

/** The logger type every module takes. */
export type Logger = pino.Logger;

/** Names of components used as the `component` binding, by convention. */
export type Component =
  | 'broker'
  | 'storage'
  | 'server'
  | 'http'
  | 'cluster'
  | 'replication'
  | 'groups'
  | (string & {});

/** Options for tests and embedding; the broker passes none. */
export interface CreateLoggerOptions {
  /** Where lines go. Default: stdout. */
  destination?: pino.DestinationStream;
  /** Whether the output is a terminal, for `log.pretty: auto`. Default: process.stdout.isTTY. */
  isTTY?: boolean;
}

/** The current levels: the root's and every per-component override. */
export interface LogLevels {
  level: LogLevel;
  components: Record<string, LogLevel>;
}

interface LevelControl {
  root: Logger;
  children: Set<WeakRef<Logger>>;
  forget: FinalizationRegistry<WeakRef<Logger>>;
  overrides: Map<string, LogLevel>;
}

const CONTROL = Symbol.for('gregormq.logLevelControl');
const CHINDINGS = pino.symbols.chindingsSym;
const LEVEL_VAL = pino.symbols.levelValSym;

/** Paths that must never reach a log line in clear (the inline cluster key, if a config is logged). */
const REDACT = ['cluster.key', '*.cluster.key', '*.clusterKey'];

function controlOf(logger: Logger): LevelControl {
  const control = (logger as unknown as Record<symbol, LevelControl | undefined>)[CONTROL];
  if (!control) throw new Error('logger was not made by createLogger');
  return control;
}

function componentOf(logger: Logger): string | undefined {
  const c = logger.bindings().component;
  return typeof c === 'string' ? c : undefined;
}

/**
 * A destination that prettifies each JSON line synchronously with pino-pretty's formatter (no
 * worker thread, so nothing is lost on exit). pino-pretty is a dev dependency: when a production
 * install lacks it, this returns undefined and the caller logs JSON.
 */
function prettyStream(
  destination: pino.DestinationStream,
  colorize: boolean,
): pino.DestinationStream | undefined {
  try {
    const require = createRequire(import.meta.url);
    const { prettyFactory } = require('pino-pretty') as {
      prettyFactory: (opts: Record<string, unknown>) => (line: string) => string;
    };
    const prettify = prettyFactory({
      colorize,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,node,component',
      messageFormat: '{if component}[{component}] {end}{msg}',
      singleLine: true,
    });
    return { write: (line: string) => destination.write(prettify(line)) };
  } catch {
    return undefined;
  }
}

/**
 * Creates the root logger from `log.level`, `log.pretty` and `node.name`. Children made from it
 * (at any depth) follow setLogLevel.
 */
export function createLogger(
  config: { log: GregorConfig['log']; node?: Partial<GregorConfig['node']> },
  options: CreateLoggerOptions = {},
): Logger {
  const isTTY = options.isTTY ?? process.stdout.isTTY === true;
  const wantPretty = config.log.pretty === 'auto' ? isTTY : config.log.pretty;
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const pretty = wantPretty ? prettyStream(destination, isTTY) : undefined;
  const control: LevelControl = {
    root: undefined as unknown as Logger,
    children: new Set(),
    forget: new FinalizationRegistry((ref) => control.children.delete(ref)),
    overrides: new Map(),
  };
  const onChild = (child: Logger): void => {
    // Only children that can stop following their parent are tracked: those with a level of their
    // own or a component binding of their own. Per-request children follow through the prototype
    // chain for free, which keeps child() cheap on the request path.
    const parent = Object.getPrototypeOf(child) as Record<symbol, unknown>;
    const own = child as unknown as Record<symbol, unknown>;
    const newBindings = String(own[CHINDINGS]).slice(String(parent[CHINDINGS] ?? '').length);
    const hasComponent = newBindings.includes('"component":');
    if (!hasComponent && !Object.hasOwn(child, LEVEL_VAL)) return;
    const ref = new WeakRef(child);
    control.children.add(ref);
    control.forget.register(child, ref);
    if (hasComponent && control.overrides.size > 0) {
      const wanted = control.overrides.get(componentOf(child) ?? '');
      if (wanted !== undefined && child.level !== wanted) child.level = wanted;
    }
  };
  const root = pino(
    {
      level: config.log.level,
      base: { pid: process.pid, node: config.node?.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '********' },
      onChild,
    },
    pretty ?? destination,
  );
  control.root = root;
  Object.defineProperty(root, CONTROL, { value: control, enumerable: false });
  if (wantPretty && !pretty) root.debug('pino-pretty is not installed; logging JSON');
  return root;
}

/**
 * Changes the level at run time. Without `component`: the root and every child, and per-component
 * overrides are dropped. With `component`: only loggers whose `component` binding matches, now and
 * for children created later. Works when given any logger of the tree.
 */
export function setLogLevel(logger: Logger, level: LogLevel, component?: string): void {
  const control = controlOf(logger);
  if (!pino.levels.values[level] && level !== 'silent') throw new Error(`unknown log level "${level}"`);
  if (component === undefined) {
    control.overrides.clear();
    control.root.level = level;
  } else {
    control.overrides.set(component, level);
  }
  for (const ref of control.children) {
    const child = ref.deref();
    if (!child) continue;
    if (component === undefined) {
      if (child.level !== level) child.level = level;
    } else if (componentOf(child) === component && child.level !== level) {
      child.level = level;
    }
  }
}

/** The root level and the per-component overrides, for the admin API. */
export function getLogLevels(logger: Logger): LogLevels {
  const control = controlOf(logger);
  return { level: control.root.level as LogLevel, components: Object.fromEntries(control.overrides) };
}

/** `logger.child({ component })`, spelled once so component names stay consistent. */
export function componentLogger(logger: Logger, component: Component): Logger {
  return logger.child({ component });
}

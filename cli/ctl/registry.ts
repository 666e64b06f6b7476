import type { Client } from '../../src/index.js';
import type { Output } from './output.js';

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `count`. */
  name: string;
  type: 'string' | 'int' | 'boolean';
  /** Shown in --help. */
  description: string;
  /** Placeholder in --help, e.g. `N`. */
  value?: string;
  /** For int flags: smallest accepted value (default 1: "positive"). */
  min?: number;
}

/** Parsed command line handed to a command. */
export interface CommandContext {
  /** Positional arguments after the command words. */
  args: string[];
  /** Flag values by long name (ints already parsed and range-checked). */
  flags: Record<string, string | number | boolean | undefined>;
  json: boolean;
  /** `host:port` from --broker, GREGOR_BROKER or the default. */
  broker: string;
  out: Output;
  /** Connects on first use; closed by the runner after the command. */
  client(): Promise<Client>;
}

/** A gregorctl subcommand: `topics create`, `produce`, later `groups list`, `cluster status`... */
export interface CommandSpec {
  /** Command words, e.g. `topics create`. */
  name: string;
  summary: string;
  /** Positional arguments, e.g. `['<topic>']`. */
  args: string[];
  flags: FlagSpec[];
  /** Extra --help text (examples, output shape). */
  details?: string;
  /** Returns the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** A bad command line: printed as `gregorctl: <message>`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose --help to point at. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  {
    name: 'broker',
    type: 'string',
    value: 'HOST:PORT',
    description: 'broker to talk to (env GREGOR_BROKER, default 127.0.0.1:9440)',
  },
  { name: 'json', type: 'boolean', description: 'machine-readable JSON output' },
  { name: 'help', type: 'boolean', description: 'show help' },
];

const COMMANDS = new Map<string, CommandSpec>();

/** Adds a command; new command families (groups, cluster, metrics) register here. */
export function registerCommand(spec: CommandSpec): void {
  if (COMMANDS.has(spec.name)) throw new Error(`command "${spec.name}" registered twice`);
  COMMANDS.set(spec.name, spec);
}

/** Every registered command, in registration order. */
export function listCommands(): CommandSpec[] {
  return [...COMMANDS.values()];
}

/** The command named by the leading words of argv (longest match), and how many words it used. */
export function findCommand(words: string[]): { spec: CommandSpec; used: number } | undefined {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const spec = COMMANDS.get(words.slice(0, n).join(' '));
    if (spec) return { spec, used: n };
  }
  return undefined;
}

/** Commands whose name starts with `prefix` (for `gregorctl topics --help`). */
export function commandsUnder(prefix: string): CommandSpec[] {
  return listCommands().filter((c) => c.name === prefix || c.name.startsWith(`${prefix} `));
}

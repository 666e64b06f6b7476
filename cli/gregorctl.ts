#!/usr/bin/env node
/**
 * gregorctl: operate a GregorMQ broker from the shell. Subcommands live in cli/ctl/, one file per
 * family, and register themselves in the command registry (cli/ctl/registry.ts).
 *
 * Exit codes: 0 success, 1 the operation failed (broker error, unreachable broker, failed
 * messages), 2 bad command line.
 */
import { type Client, connect, isGregorError } from '../src/index.js';
import { formatFlags, parseArgs } from './ctl/args.js';
import './ctl/cluster.js';
import './ctl/consume.js';
import './ctl/groups.js';
import './ctl/metrics.js';
import { Output } from './ctl/output.js';
import './ctl/produce.js';
import './ctl/ring.js';
import {
  type CommandSpec,
  commandsUnder,
  findCommand,
  GLOBAL_FLAGS,
  listCommands,
  UsageError,
} from './ctl/registry.js';
import './ctl/topics.js';

/** Default broker address (DESIGN.md section 2). */
const DEFAULT_BROKER = '127.0.0.1:9440';

function mainHelp(): string {
  const cmds = listCommands();
  const width = Math.max(...cmds.map((c) => `${c.name} ${c.args.join(' ')}`.length));
  return [
    'gregorctl: operate a GregorMQ broker',
    '',
    'Usage: gregorctl <command> [arguments] [flags]',
    '',
    'Commands:',
    ...cmds.map((c) => `  ${`${c.name} ${c.args.join(' ')}`.padEnd(width)}  ${c.summary}`),
    '',
    'Global flags:',
    formatFlags(GLOBAL_FLAGS),
    '',
    "Run 'gregorctl <command> --help' for a command's flags.",
  ].join('\n');
}

function commandHelp(spec: CommandSpec): string {
  return [
    `gregorctl ${spec.name}: ${spec.summary}`,
    '',
    `Usage: gregorctl ${spec.name} ${spec.args.join(' ')} [flags]`.replace(/ {2,}/g, ' '),
    '',
    'Flags:',
    formatFlags([...spec.flags, ...GLOBAL_FLAGS]),
    ...(spec.details ? ['', spec.details] : []),
  ].join('\n');
}

function groupHelp(prefix: string, specs: CommandSpec[]): string {
  const width = Math.max(...specs.map((c) => `${c.name} ${c.args.join(' ')}`.length));
  return [
    `Usage: gregorctl ${prefix} <subcommand> [flags]`,
    '',
    'Subcommands:',
    ...specs.map((c) => `  ${`${c.name} ${c.args.join(' ')}`.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** Moves global flags written before the command (`gregorctl --broker b topics list`) after it. */
function hoistLeadingGlobals(argv: string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('--')) {
    const a = argv[i]!;
    const name = a.slice(2).split('=')[0]!;
    const spec = GLOBAL_FLAGS.find((f) => f.name === name);
    if (!spec || spec.name === 'help') break;
    lead.push(a);
    i++;
    if (spec.type !== 'boolean' && !a.includes('=') && i < argv.length) lead.push(argv[i++]!);
  }
  return [...argv.slice(i), ...lead];
}

/** Runs gregorctl with `argv` (without node and script); returns the exit code. */
export async function main(rawArgv: string[], out = new Output()): Promise<number> {
  const argv = hoistLeadingGlobals(rawArgv);
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  const found = findCommand(words);
  if (!found) {
    const help = argv.includes('--help') || argv.includes('-h');
    if (words.length === 0) {
      (help ? out.stdout : out.stderr).write(`${mainHelp()}\n`);
      return help ? 0 : 2;
    }
    const group = commandsUnder(words[0]!);
    if (group.length > 0 && words.length === 1) {
      (help ? out.stdout : out.stderr).write(`${groupHelp(words[0]!, group)}\n`);
      return help ? 0 : 2;
    }
    out.info(`gregorctl: unknown command "${words.join(' ')}"; run 'gregorctl --help' for the list`);
    return 2;
  }
  const { spec, used } = found;
  let client: Client | undefined;
  try {
    const parsed = parseArgs(argv.slice(used), spec.flags, spec.name);
    if (parsed.flags.help) {
      out.stdout.write(`${commandHelp(spec)}\n`);
      return 0;
    }
    const broker = (parsed.flags.broker as string | undefined) ?? process.env.GREGOR_BROKER ?? DEFAULT_BROKER;
    if (!/^(\[[^\]]+\]|[^:\s]+)(:\d{1,5})?$/.test(broker))
      throw new UsageError(`--broker must be host:port, got "${broker}"`, spec.name);
    const code = await spec.run({
      args: parsed.positionals,
      flags: parsed.flags,
      json: parsed.flags.json === true,
      broker,
      out,
      client: async () => {
        client ??= await connect({
          brokers: broker,
          clientId: 'gregorctl',
          connectTimeoutMs: 5000,
          reconnect: { initialDelayMs: 100, maxDelayMs: 2000, maxAttempts: 20 },
        });
        return client;
      },
    });
    await out.flush();
    return code;
  } catch (err) {
    await out.flush();
    if (err instanceof UsageError) {
      out.info(`gregorctl: ${err.message}`);
      out.info(`run 'gregorctl ${err.command ?? spec.name} --help' for usage`);
      return 2;
    }
    if (isGregorError(err)) {
      out.info(
        `gregorctl: ${err.code === 'CONNECTION_CLOSED' ? 'cannot reach broker: ' : `${err.code}: `}${err.message}`,
      );
      return 1;
    }
    out.info(`gregorctl: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gregorctl: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);

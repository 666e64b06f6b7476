import type { GroupDescription } from '../../src/index.js';
import { table } from './output.js';
import { type CommandContext, registerCommand, UsageError } from './registry.js';

function groupArg(ctx: CommandContext, command: string): string {
  const name = ctx.args[0];
  if (!name) throw new UsageError(`${command} needs a group id`, command);
  if (ctx.args.length > 1)
    throw new UsageError(`${command} takes one group id, got ${ctx.args.length} arguments`, command);
  return name;
}

function printDescription(ctx: CommandContext, d: GroupDescription): void {
  ctx.out.line(
    table(
      ['GROUP', 'MODE', 'STATE', 'GENERATION', 'MEMBERS'],
      [[d.groupId, d.mode, d.state, d.generation, d.members]],
    ),
  );
  ctx.out.line('');
  const owner = new Map<string, string>();
  for (const m of d.memberInfo)
    for (const tp of m.partitions) for (const p of tp.partitions) owner.set(`${tp.topic}/${p}`, m.memberId);
  ctx.out.line(
    table(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'PENDING', 'MEMBER'],
      (d.lag ?? []).map((l) => [
        l.topic,
        l.partition,
        l.committed < 0 ? '-' : l.committed,
        l.endOffset,
        l.lag,
        l.pending,
        owner.get(`${l.topic}/${l.partition}`) ?? '-',
      ]),
    ),
  );
}

registerCommand({
  name: 'groups list',
  summary: 'list consumer groups',
  args: [],
  flags: [],
  async run(ctx) {
    if (ctx.args.length > 0)
      throw new UsageError(`groups list takes no arguments, got "${ctx.args[0]}"`, 'groups list');
    const groups = await (await ctx.client()).groups.list();
    if (ctx.json) ctx.out.json(groups);
    else if (groups.length === 0) ctx.out.info('no groups');
    else
      ctx.out.line(
        table(
          ['GROUP', 'MODE', 'STATE', 'MEMBERS'],
          groups.map((g) => [g.groupId, g.mode, g.state, g.members]),
        ),
      );
    return 0;
  },
});

registerCommand({
  name: 'groups describe',
  summary: 'members, assignment and lag per partition of a group',
  args: ['<group>'],
  flags: [],
  async run(ctx) {
    const d = await (await ctx.client()).groups.describe(groupArg(ctx, 'groups describe'));
    if (ctx.json) ctx.out.json(d);
    else printDescription(ctx, d);
    return 0;
  },
});

registerCommand({
  name: 'groups reset-offsets',
  summary: "move a group's committed offsets on a topic",
  args: ['<group>'],
  flags: [
    { name: 'topic', type: 'string', value: 'T', description: 'topic whose offsets move (required)' },
    { name: 'to-earliest', type: 'boolean', description: 'to the log start' },
    { name: 'to-latest', type: 'boolean', description: 'to the log end (skip everything)' },
    {
      name: 'to-datetime',
      type: 'string',
      value: 'ISO',
      description: 'to the first message at or after this time',
    },
    { name: 'to-offset', type: 'int', value: 'N', min: 0, description: 'to this offset on every partition' },
    { name: 'partition', type: 'int', value: 'P', min: 0, description: 'only this partition' },
    { name: 'force', type: 'boolean', description: 'reset even while the group has live members' },
  ],
  details: 'Exactly one --to-* flag. Refused while the group has live members unless --force.',
  async run(ctx) {
    const cmd = 'groups reset-offsets';
    const group = groupArg(ctx, cmd);
    const topic = ctx.flags.topic as string | undefined;
    if (!topic) throw new UsageError('--topic is required', cmd);
    const picks = ['to-earliest', 'to-latest', 'to-datetime', 'to-offset'].filter(
      (f) => ctx.flags[f] !== undefined && ctx.flags[f] !== false,
    );
    if (picks.length !== 1)
      throw new UsageError(
        `give exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset (got ${picks.length})`,
        cmd,
      );
    let to: 'earliest' | 'latest' | Date | number;
    if (picks[0] === 'to-earliest') to = 'earliest';
    else if (picks[0] === 'to-latest') to = 'latest';
    else if (picks[0] === 'to-offset') to = ctx.flags['to-offset'] as number;
    else {
      const text = ctx.flags['to-datetime'] as string;
      to = new Date(text);
      if (Number.isNaN(to.getTime()))
        throw new UsageError(`--to-datetime "${text}" is not an ISO date/time`, cmd);
    }
    const partition = ctx.flags.partition as number | undefined;
    const result = await (await ctx.client()).groups.resetOffsets(group, topic, to, {
      force: ctx.flags.force === true,
      ...(partition === undefined ? {} : { partitions: [partition] }),
    });
    if (ctx.json) ctx.out.json(result);
    else
      ctx.out.line(
        table(
          ['TOPIC', 'PARTITION', 'NEW-OFFSET'],
          result.map((r) => [r.topic, r.partition, r.offset]),
        ),
      );
    return 0;
  },
});

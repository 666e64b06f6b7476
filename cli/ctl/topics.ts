import type { TopicConfig, TopicDescription } from '../../src/index.js';
import { formatBytes, formatDurationMs, table } from './output.js';
import { type CommandContext, registerCommand, UsageError } from './registry.js';

function topicArg(ctx: CommandContext, command: string): string {
  const name = ctx.args[0];
  if (!name) throw new UsageError(`${command} needs a topic name`, command);
  if (ctx.args.length > 1)
    throw new UsageError(`${command} takes one topic name, got ${ctx.args.length} arguments`, command);
  return name;
}

function configRow(t: TopicConfig): (string | number)[] {
  return [
    t.name,
    t.partitions,
    t.replicationFactor,
    t.kind,
    formatDurationMs(t.retentionMs),
    formatBytes(t.retentionBytes),
  ];
}

const CONFIG_HEADERS = ['TOPIC', 'PARTITIONS', 'RF', 'KIND', 'RETENTION', 'RETENTION-BYTES'];

function printDescription(ctx: CommandContext, d: TopicDescription): void {
  ctx.out.line(table(CONFIG_HEADERS, [configRow(d.config)]));
  ctx.out.line('');
  ctx.out.line(
    table(
      ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'START', 'END', 'MESSAGES'],
      d.partitions.map((p) => [
        p.partition,
        p.leader ?? '-',
        p.replicas.join(',') || '-',
        p.isr.join(',') || '-',
        p.logStartOffset,
        p.highWatermark,
        p.highWatermark >= 0 ? p.highWatermark - p.logStartOffset : 0,
      ]),
    ),
  );
}

registerCommand({
  name: 'topics list',
  summary: 'list topics',
  args: [],
  flags: [],
  async run(ctx) {
    if (ctx.args.length > 0)
      throw new UsageError(`topics list takes no arguments, got "${ctx.args[0]}"`, 'topics list');
    const topics = (await (await ctx.client()).admin.listTopics()).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    if (ctx.json) ctx.out.json(topics);
    else if (topics.length === 0) ctx.out.info('no topics');
    else ctx.out.line(table(CONFIG_HEADERS, topics.map(configRow)));
    return 0;
  },
});

registerCommand({
  name: 'topics create',
  summary: 'create a topic',
  args: ['<topic>'],
  flags: [
    { name: 'partitions', type: 'int', value: 'N', description: 'partition count (default 1)' },
    {
      name: 'replication-factor',
      type: 'int',
      value: 'N',
      description: 'copies of each partition (default 1)',
    },
    {
      name: 'retention-ms',
      type: 'int',
      value: 'MS',
      min: -1,
      description: 'delete data older than this; -1 keeps forever (default)',
    },
    {
      name: 'retention-bytes',
      type: 'int',
      value: 'BYTES',
      min: -1,
      description: 'keep at most this much per partition; -1 = no limit (default)',
    },
    { name: 'ephemeral', type: 'boolean', description: 'live fan-out only, nothing stored' },
    { name: 'if-not-exists', type: 'boolean', description: 'succeed if the topic already exists' },
  ],
  async run(ctx) {
    const name = topicArg(ctx, 'topics create');
    const f = ctx.flags;
    const d = await (await ctx.client()).admin.createTopic(
      {
        name,
        partitions: f.partitions as number | undefined,
        replicationFactor: f['replication-factor'] as number | undefined,
        retentionMs: f['retention-ms'] as number | undefined,
        retentionBytes: f['retention-bytes'] as number | undefined,
        kind: f.ephemeral ? 'ephemeral' : 'durable',
      },
      { ifNotExists: f['if-not-exists'] === true },
    );
    if (ctx.json) ctx.out.json(d);
    else
      ctx.out.info(
        `created topic "${name}" with ${d.config.partitions} partition${d.config.partitions === 1 ? '' : 's'}`,
      );
    return 0;
  },
});

registerCommand({
  name: 'topics describe',
  summary: 'show a topic and its partitions',
  args: ['<topic>'],
  flags: [],
  async run(ctx) {
    const d = await (await ctx.client()).admin.describeTopic(topicArg(ctx, 'topics describe'));
    if (ctx.json) ctx.out.json(d);
    else printDescription(ctx, d);
    return 0;
  },
});

registerCommand({
  name: 'topics delete',
  summary: 'delete a topic and its data',
  args: ['<topic>'],
  flags: [{ name: 'if-exists', type: 'boolean', description: 'succeed if the topic does not exist' }],
  async run(ctx) {
    const name = topicArg(ctx, 'topics delete');
    const deleted = await (await ctx.client()).admin.deleteTopic(name, {
      ifExists: ctx.flags['if-exists'] === true,
    });
    if (ctx.json) ctx.out.json({ topic: name, deleted });
    else ctx.out.info(deleted ? `deleted topic "${name}"` : `topic "${name}" did not exist`);
    return 0;
  },
});

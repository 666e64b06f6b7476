/**
 * `gregorctl cluster ring`: which nodes hold which partitions, each partition's preferred leader
 * and the node serving it now, and the load per node, as one node computes it from gossip
 * (`GET /v1/cluster/ring` on its HTTP port; same --http rules as `cluster nodes`).
 */
import { ERRORS, type ErrorCode, GregorError } from '../../src/index.js';
import type { RingBody } from '../../src/routing/attach.js';
import { HTTP_FLAG, httpAddress } from './cluster.js';
import { table } from './output.js';
import { registerCommand, UsageError } from './registry.js';

async function fetchRing(http: string): Promise<RingBody> {
  let res: Response;
  try {
    res = await fetch(`http://${http}/v1/cluster/ring`, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new GregorError('CONNECTION_CLOSED', `http://${http}/v1/cluster/ring: ${why}`);
  }
  if (res.status === 404)
    throw new GregorError(
      'TIMEOUT',
      `${http} has no ring yet (cluster routing is still starting); try again shortly`,
    );
  if (!res.ok) throw new GregorError('UNKNOWN', `GET http://${http}/v1/cluster/ring: HTTP ${res.status}`);
  return (await res.json()) as RingBody;
}

registerCommand({
  name: 'cluster ring',
  summary: 'partition placement: nodes, partitions, preferred leaders, load per node',
  args: [],
  flags: [HTTP_FLAG, { name: 'topic', type: 'string', value: 'NAME', description: 'only this topic' }],
  details: [
    'First table, one row per node: NAME (* = the node asked), REPLICAS and LEADERS placed on it by the',
    'ring (bounded loads: at most CAPACITY replicas), SERVING (partitions it serves now), CLIENT address.',
    'Second table, one row per partition: TOPIC, PARTITION, REPLICAS (ring order), PREFERRED leader and',
    'OWNER serving it; "(sticky)" marks a partition whose data stays on a node the ring no longer picks',
    '(RF=1, until replication can move it).',
    '--json prints {self, replicaCapacity, nodes: [{id,name,client,replicas,leaders,serving}],',
    'departed: [{id,name,joinedAt}], partitions: [{topic,partition,replicas,preferredLeader,owner,sticky}]}.',
    'DEPARTED lists nodes that left or stayed dead past the grace period: they hold nothing, but keep',
    'their place in the join order placement replays, so their leaving moved only what they held.',
    'Remove one for good with `gregorctl cluster forget NODE` (that rebalances the cluster).',
  ].join('\n'),
  async run(ctx) {
    if (ctx.args.length > 0)
      throw new UsageError(`cluster ring takes no arguments, got "${ctx.args[0]}"`, 'cluster ring');
    const body = await fetchRing(httpAddress(ctx, 'cluster ring'));
    const only = ctx.flags.topic as string | undefined;
    if (only !== undefined) body.partitions = body.partitions.filter((p) => p.topic === only);
    if (ctx.json) {
      ctx.out.json(body);
      return 0;
    }
    const nodes = [...body.nodes].sort((a, b) => a.name.localeCompare(b.name));
    ctx.out.line(`capacity: ${body.replicaCapacity} replicas per node`);
    ctx.out.line(
      table(
        ['NAME', 'REPLICAS', 'LEADERS', 'SERVING', 'CLIENT'],
        nodes.map((n) => [
          `${n.name}${n.name === body.self ? '*' : ''}`,
          n.replicas,
          n.leaders,
          n.serving,
          n.client ?? '-',
        ]),
      ),
    );
    if (body.departed?.length) {
      ctx.out.line(`departed: ${body.departed.map((d) => d.name).join(', ')}`);
    }
    ctx.out.line('');
    ctx.out.line(
      table(
        ['TOPIC', 'PARTITION', 'REPLICAS', 'PREFERRED', 'OWNER'],
        body.partitions.map((p) => [
          p.topic,
          p.partition,
          p.replicas.join(','),
          p.preferredLeader ?? '-',
          `${p.owner ?? '-'}${p.sticky ? ' (sticky)' : ''}`,
        ]),
      ),
    );
    await ctx.out.flush();
    return 0;
  },
});

registerCommand({
  name: 'cluster forget',
  summary: 'remove a departed node from the roster for good (placement rebalances)',
  args: ['NODE'],
  flags: [HTTP_FLAG],
  details: [
    'NODE is a node name or id listed as departed by `gregorctl cluster ring`. Placement keeps departed',
    'nodes in its join order so that a node leaving moves only its own replicas; forgetting one',
    'recomputes placement without it, which moves many partitions (like a reassignment in Kafka).',
    'Refused for a live member. Prints the forgotten node; --json prints {forgotten: {id,name,joinedAt}}.',
  ].join('\n'),
  async run(ctx) {
    if (ctx.args.length !== 1)
      throw new UsageError('cluster forget takes one NODE (name or id)', 'cluster forget');
    const http = httpAddress(ctx, 'cluster forget');
    let res: Response;
    try {
      res = await fetch(`http://${http}/v1/cluster/forget`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ node: ctx.args[0] }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new GregorError('CONNECTION_CLOSED', `http://${http}/v1/cluster/forget: ${why}`);
    }
    const body = (await res.json().catch(() => ({}))) as {
      forgotten?: { id: string; name: string };
      error?: { code?: ErrorCode; message?: string };
    };
    if (!res.ok) {
      const code = body.error?.code && body.error.code in ERRORS ? body.error.code : 'UNKNOWN';
      throw new GregorError(code, body.error?.message ?? `POST /v1/cluster/forget: HTTP ${res.status}`);
    }
    if (ctx.json) ctx.out.json(body);
    else
      ctx.out.line(`forgot ${body.forgotten?.name} (${body.forgotten?.id}); placement rebalances without it`);
    await ctx.out.flush();
    return 0;
  },
});

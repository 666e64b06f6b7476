/**
 * `gregorctl cluster ring`: which nodes hold which partitions, each partition's preferred leader
 * and the node serving it now, and the load per node, as one node computes it from gossip
 * (`GET /v1/cluster/ring` on its HTTP port; same --http rules as `cluster nodes`).
 */
import { GregorError } from '../../src/index.js';
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
    'partitions: [{topic,partition,replicas,preferredLeader,owner,sticky}]}.',
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

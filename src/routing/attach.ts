import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { GregorError } from '../errors.js';
import { PubSubForwarder } from '../interbroker/pubsub-forwarder.js';
import { attachRouting, type ClusterRouting } from './cluster-router.js';

/** Body of `GET /v1/cluster/ring` (what `gregorctl cluster ring` prints). */
export interface RingBody {
  /** Name of the node that answered. */
  self: string;
  /** Upper bound of replicas per node placement used (bounded loads). */
  replicaCapacity: number;
  /** Every member placement counted, with its load. */
  nodes: {
    id: string;
    name: string;
    client: string | null;
    replicas: number;
    leaders: number;
    serving: number;
  }[];
  /** Nodes gone (left, or dead past the grace period) that keep their place in the join order. */
  departed: { id: string; name: string; joinedAt: number }[];
  /** Every durable partition. */
  partitions: {
    topic: string;
    partition: number;
    /** Ring replicas by node name, preferred leader first. */
    replicas: string[];
    preferredLeader: string | null;
    /** Node serving it now (differs from the preferred leader while `sticky`). */
    owner: string | null;
    /** True while the data stays on a node the ring no longer picks (RF=1, no replication yet). */
    sticky: boolean;
  }[];
}

/** Builds the ring body from a routing view. */
export function ringBody(routing: ClusterRouting, selfName: string): RingBody {
  const v = routing.view();
  const serving = new Map<string, number>();
  for (const o of v.owners.values()) if (o.owner) serving.set(o.owner, (serving.get(o.owner) ?? 0) + 1);
  return {
    self: selfName,
    replicaCapacity: v.placement.replicaCapacity,
    nodes: v.members.map((m) => ({
      id: m.id,
      name: m.name,
      client: m.client ?? null,
      replicas: v.placement.loads.get(m.id)?.replicas ?? 0,
      leaders: v.placement.loads.get(m.id)?.leaders ?? 0,
      serving: serving.get(m.id) ?? 0,
    })),
    departed: routing.departed().map((d) => ({ id: d.id, name: d.name, joinedAt: d.joinedAt })),
    partitions: v.placement.partitions.map((a) => {
      const o = v.owners.get(`${a.topic}/${a.partition}`);
      return {
        topic: a.topic,
        partition: a.partition,
        replicas: a.replicas.map(routing.nameOf),
        preferredLeader: a.replicas[0] ? routing.nameOf(a.replicas[0]) : null,
        owner: o?.owner ? routing.nameOf(o.owner) : null,
        sticky: o?.sticky ?? false,
      };
    }),
  };
}

/** Options of attachClusterServices. */
export interface ClusterServicesOptions {
  dataDir: string | null;
  logger?: Logger;
  /** See RoutingOptions.deadGraceMs. */
  deadGraceMs?: number;
}

/** What attachClusterServices started. */
export interface ClusterServices {
  routing: ClusterRouting;
  pubsub: PubSubForwarder;
  stop(): Promise<void>;
}

/**
 * The broker binary's one call after the membership node is up: routing (topic gossip, placement,
 * ownership), cross-node ephemeral pub/sub over the interbroker channel, and `/v1/cluster/ring`.
 */
export async function attachClusterServices(
  broker: Broker,
  node: ClusterNode,
  o: ClusterServicesOptions,
): Promise<ClusterServices> {
  const routing = await attachRouting(broker, node, {
    dataDir: o.dataDir,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.deadGraceMs === undefined ? {} : { deadGraceMs: o.deadGraceMs }),
  });
  const pubsub = await PubSubForwarder.start({ node, topics: broker.topics, host: broker.options.host });
  routing.forwardPublish = (topic, partition, batch) => pubsub.forward(topic, partition, batch);
  broker.http.route('GET', '/v1/cluster/ring', () => ({ json: ringBody(routing, broker.options.nodeName) }));
  broker.http.route('POST', '/v1/cluster/forget', async (_req, _params, body) => {
    const node = (body as { node?: unknown } | undefined)?.node;
    if (typeof node !== 'string' || node.length === 0)
      throw new GregorError('INVALID_ARGUMENT', 'body must be {"node": "<name or id>"}');
    const e = await routing.forget(node);
    return { json: { forgotten: { id: e.id, name: e.name, joinedAt: e.joinedAt } } };
  });
  o.logger?.info({ interbrokerPort: pubsub.port }, 'cluster routing attached');
  return {
    routing,
    pubsub,
    async stop() {
      routing.stop();
      await pubsub.stop();
    },
  };
}

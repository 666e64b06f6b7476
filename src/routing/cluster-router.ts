import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { NodeInfo, PartitionOwnerInfo, ServiceRouter } from '../broker/broker-service.js';
import type { TopicDefinition, TopicSpec } from '../broker/topic-definition.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { GregorError } from '../errors.js';
import {
  computeOwnership,
  type EligibleMember,
  eligibleMembers,
  HELD_KEY_PREFIX,
  heldFromFacts,
  type OwnershipView,
  parseHostPort,
  trackDeaths,
} from './ownership.js';
import { ROSTER_KEY, Roster, type RosterEntry } from './roster.js';
import { TopicCatalog } from './topic-catalog.js';

/** Options of attachRouting. */
export interface RoutingOptions {
  /** Data dir for the cluster topic records (null: memory only). */
  dataDir: string | null;
  /** ms a convicted member keeps its partitions before placement drops it. Default 30,000. */
  deadGraceMs?: number;
  /** ms an admin change waits for every live member to agree. Default 5000. */
  agreementTimeoutMs?: number;
  logger?: Logger;
}

/** Cluster routing of one broker: topic gossip, placement, ownership. */
export interface ClusterRouting extends ServiceRouter {
  readonly catalog: TopicCatalog;
  /** The current view (members, placement, owners). */
  view(): OwnershipView;
  /** Member name of a node id. */
  nameOf(id: string): string;
  /** Resolves once the local logs match the current view. */
  settled(): Promise<void>;
  /** Roster members that are gone but keep their place in placement's join order. */
  departed(): RosterEntry[];
  /** Drops a departed node from the roster for good (see Roster.forget); placement rebalances. */
  forget(nameOrId: string): Promise<RosterEntry>;
  /** Detaches from the broker and the cluster node. */
  stop(): void;
}

const SELF_CHECK_MS = 1000;

/**
 * Wires routing into a running broker: starts the topic catalog, keeps placement and ownership up
 * to date from gossip (debounced on membership and fact events, and re-checked every second for
 * the dead-member grace period), opens only the partitions this node serves, publishes which
 * partitions hold data here (`held/<topic>` facts), and installs itself as the service's router.
 */
export async function attachRouting(
  broker: Broker,
  node: ClusterNode,
  o: RoutingOptions,
): Promise<ClusterRouting> {
  // Topic admin waits from here until routing is installed (see holdTopicAdmin).
  const releaseAdmin = broker.service.holdTopicAdmin();
  try {
    return await attach(broker, node, o);
  } finally {
    releaseAdmin();
  }
}

async function attach(broker: Broker, node: ClusterNode, o: RoutingOptions): Promise<ClusterRouting> {
  // Routing starts from a joined view. While this node is still JOINING it is not an eligible
  // owner of anything, so a first view taken then would close every partition it had been
  // serving as a single node, only to reopen them a moment later.
  await node.joined;
  const log = o.logger?.child({ component: 'routing' });
  const tm = broker.topics;
  const graceMs = o.deadGraceMs ?? 30_000;
  const deadSince = new Map<string, number>();
  const held = new Map<string, Set<number>>();
  const publishedHeld = new Map<string, string>();
  const watched = new Set<object>();
  let view: OwnershipView = computeOwnership([], [], new Map());
  let signature = '';
  let reconciling: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const publishHeld = () => {
    for (const [topic, set] of held) {
      const list = [...set].sort((a, b) => a - b);
      const sig = list.join(',');
      if (publishedHeld.get(topic) === sig) continue;
      publishedHeld.set(topic, sig);
      node.setLocalKey(`${HELD_KEY_PREFIX}${topic}`, list);
    }
    for (const topic of publishedHeld.keys()) {
      if (held.has(topic)) continue;
      publishedHeld.delete(topic);
      node.deleteLocalKey(`${HELD_KEY_PREFIX}${topic}`);
    }
  };
  const markHeld = (topic: string, p: number) => {
    let s = held.get(topic);
    if (!s) {
      s = new Set();
      held.set(topic, s);
    }
    if (s.has(p)) return;
    s.add(p);
    publishHeld();
    schedule();
  };
  // Which open partitions hold data; an empty one gets a listener for its first append.
  const watchOpen = () => {
    for (const p of tm.allPartitions()) {
      if (p.endOffset > 0) markHeld(p.topic, p.index);
      else if (!watched.has(p)) {
        watched.add(p);
        const off = p.onAppend(() => {
          off();
          markHeld(p.topic, p.index);
        });
      }
    }
  };

  const recompute = () => {
    if (stopped) return;
    roster.update();
    const members = eligibleMembers(node.members(), deadSince, Date.now(), graceMs);
    const departed = roster.departed(new Set(members.map((m) => m.id)));
    const defs = catalog.definitions();
    for (const t of [...held.keys()]) if (!defs.some((d) => d.name === t)) held.delete(t);
    publishHeld();
    const heldAll = heldFromFacts(node.members());
    const sig = JSON.stringify([
      members.map((m) => [m.id, m.zone, m.joinedAt, m.client ?? '', m.name]),
      departed.map((d) => [d.id, d.zone, d.joinedAt]),
      defs.map((d) => [d.name, d.partitions, d.durable, d.replicationFactor, d.createdAt]),
      [...heldAll].map(([k, s]) => [k, [...s].sort()]),
    ]);
    if (sig === signature) return;
    signature = sig;
    view = computeOwnership(members, defs, heldAll, departed);
    const self = node.id;
    const filter = (topic: string, p: number) => view.owners.get(`${topic}/${p}`)?.owner === self;
    const run = async () => {
      const { opened, closed } = await tm.reconcile(filter);
      if (opened.length || closed.length) log?.info({ opened, closed }, 'partition ownership changed');
      watchOpen();
    };
    reconciling = reconciling.then(run, run).catch((err) => log?.error({ err }, 'reconcile failed'));
  };
  const schedule = () => {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      recompute();
    }, 10);
  };

  const roster = await Roster.open(node, o.dataDir);
  const catalog = await TopicCatalog.start({
    node,
    topics: tm,
    dataDir: o.dataDir,
    ...(o.agreementTimeoutMs === undefined ? {} : { agreementTimeoutMs: o.agreementTimeoutMs }),
    ...(log ? { logger: log } : {}),
  });
  // Only now: watchOpen may schedule a recompute, which needs `schedule` and `catalog`.
  watchOpen();
  const unsub = [
    catalog.onChange(schedule),
    trackDeaths(node, deadSince, schedule),
    node.on('status-changed', schedule),
    node.on('member-joined', schedule),
    node.on('member-removed', schedule),
    node.on('member-restarted', schedule),
    node.on('joined', schedule),
    node.on('key-changed', (_id, key) => {
      if (key.startsWith(HELD_KEY_PREFIX) || key.startsWith('addr.') || key === 'name' || key === ROSTER_KEY)
        schedule();
    }),
  ];
  const ticker = setInterval(recompute, SELF_CHECK_MS);
  ticker.unref();
  recompute();
  await reconciling;

  const byId = (id: string): EligibleMember | undefined => view.members.find((m) => m.id === id);
  const nameOf = (id: string) => byId(id)?.name ?? node.member(id)?.name ?? id;

  const routing: ClusterRouting = {
    catalog,
    view: () => view,
    nameOf,
    settled: async () => {
      recompute();
      await reconciling;
    },
    departed: () => roster.departed(new Set(view.members.map((m) => m.id))),
    async forget(nameOrId) {
      const e = await roster.forget(nameOrId, new Set(view.members.map((m) => m.id)));
      log?.warn({ node: e.id, name: e.name }, 'node forgotten: placement rebalances without it');
      recompute();
      return e;
    },
    assertOwner(topic, partition) {
      const def = tm.has(topic) ? tm.definition(topic) : undefined;
      if (!def?.durable || partition < 0 || partition >= def.partitions) return;
      const o = view.owners.get(`${topic}/${partition}`);
      if (o?.owner !== node.id) {
        const who = o?.owner ? `node "${nameOf(o.owner)}"` : 'no node yet';
        throw new GregorError('NOT_OWNER', `${topic}/${partition} is served by ${who}, not this one`);
      }
    },
    nodes(): NodeInfo[] {
      const out: NodeInfo[] = [];
      for (const m of view.members) {
        const a = m.client ? parseHostPort(m.client) : undefined;
        if (a) out.push({ name: m.name, host: a.host, port: a.port });
      }
      return out;
    },
    owners(def: TopicDefinition): PartitionOwnerInfo[] {
      return Array.from({ length: def.partitions }, (_, p) => {
        const o = view.owners.get(`${def.name}/${p}`);
        return {
          owner: o?.owner ? nameOf(o.owner) : null,
          replicas: (o?.replicas ?? []).map(nameOf),
        };
      });
    },
    createTopic: (spec: TopicSpec) => catalog.create(spec),
    deleteTopic: (name: string) => catalog.delete(name),
    addPartitions: (name: string, count: number) => catalog.addPartitions(name, count),
    stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(ticker);
      for (const u of unsub) u();
      catalog.stop();
      broker.service.setRouter(undefined);
    },
  };
  broker.service.setRouter(routing);
  return routing;
}

import type { TopicManager } from '../broker/topic-manager.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { parseHostPort } from '../routing/ownership.js';
import { InterbrokerLink, InterbrokerServer } from './channel.js';

/** Gossip key: the port of this node's interbroker server (host = its client address host). */
export const IB_PORT_KEY = 'ib.port';
/** Gossip key: sorted names of ephemeral topics with subscribers on this node. */
export const INTEREST_KEY = 'pubsub.interest';

/** Options of startPubSubForwarder. */
export interface PubSubForwarderOptions {
  node: ClusterNode;
  topics: TopicManager;
  /** Host the interbroker server binds. Default '0.0.0.0'. */
  host?: string;
  /** Port; 0 (default) picks a free one, published by gossip. */
  port?: number;
  /** How often local interest is re-read, ms. Default 100. */
  interestCheckMs?: number;
}

/**
 * Cluster-wide ephemeral pub/sub the way NATS routes it: every node gossips which ephemeral topics
 * it has local subscribers for, and a batch published on one node goes, unchanged, over the plain
 * TCP channel only to the nodes that want it; the receiver fans it out to its local subscribers
 * and never forwards again (one hop, no loops).
 */
export class PubSubForwarder {
  private readonly links = new Map<string, InterbrokerLink>();
  /** topic -> member ids with subscribers for it. */
  private interest = new Map<string, string[]>();
  private published = '';
  private readonly unsub: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  /** Batches received from peers and published locally. */
  received = 0;

  private constructor(
    private readonly o: PubSubForwarderOptions,
    private readonly server: InterbrokerServer,
  ) {}

  /** Binds the channel, publishes its port and starts tracking interest. */
  static async start(o: PubSubForwarderOptions): Promise<PubSubForwarder> {
    let self: PubSubForwarder | undefined;
    const server = new InterbrokerServer(o.node.clusterName, (topic, partition, batch) => {
      if (!self) return;
      self.received++;
      // Local subscribers only: a forwarded batch is never forwarded again.
      const eph = o.topics.has(topic) ? o.topics.ephemeral(topic) : undefined;
      if (eph && partition < eph.partitions) eph.publish(partition, batch);
    });
    const port = await server.listen(o.port ?? 0, o.host ?? '0.0.0.0');
    self = new PubSubForwarder(o, server);
    o.node.setLocalKey(IB_PORT_KEY, port);
    self.unsub.push(
      o.node.on('key-changed', (_id, key) => {
        if (key === INTEREST_KEY || key === IB_PORT_KEY || key === 'addr.client') self!.rebuild();
      }),
      o.node.on('liveness-changed', () => self!.rebuild()),
      o.node.on('status-changed', () => self!.rebuild()),
      o.node.on('member-removed', () => self!.rebuild()),
      o.node.on('member-restarted', () => self!.rebuild()),
    );
    self.timer = setInterval(() => self!.checkLocalInterest(), o.interestCheckMs ?? 100);
    self.timer.unref();
    self.checkLocalInterest();
    self.rebuild();
    return self;
  }

  /** Port of the interbroker server. */
  get port(): number {
    return (this.o.node.self().facts[IB_PORT_KEY] as number) ?? 0;
  }

  private checkLocalInterest(): void {
    const tm = this.o.topics;
    const wanted: string[] = [];
    for (const d of tm.list()) {
      if (d.durable) continue;
      if ((tm.ephemeral(d.name)?.subscriberCount ?? 0) > 0) wanted.push(d.name);
    }
    const sig = wanted.join('\n');
    if (sig === this.published) return;
    this.published = sig;
    this.o.node.setLocalKey(INTEREST_KEY, wanted);
  }

  /** Rebuilds topic -> interested peers and the links to them from gossip. */
  private rebuild(): void {
    const interest = new Map<string, string[]>();
    const live = new Set<string>();
    for (const m of this.o.node.members()) {
      if (m.isSelf || m.status !== 'NORMAL' || m.liveness === 'dead') continue;
      const port = m.facts[IB_PORT_KEY];
      const client = m.addresses.client ? parseHostPort(m.addresses.client) : undefined;
      const topics = m.facts[INTEREST_KEY];
      if (typeof port !== 'number' || !client || !Array.isArray(topics)) continue;
      live.add(m.id);
      const link = this.links.get(m.id);
      if (!link || link.address.port !== port || link.address.host !== client.host) {
        link?.close();
        this.links.set(m.id, new InterbrokerLink({ host: client.host, port }, this.o.node.clusterName));
      }
      for (const t of topics) {
        if (typeof t !== 'string') continue;
        const list = interest.get(t);
        if (list) list.push(m.id);
        else interest.set(t, [m.id]);
      }
    }
    for (const [id, link] of this.links) {
      if (live.has(id)) continue;
      link.close();
      this.links.delete(id);
    }
    this.interest = interest;
  }

  /** Sends a published batch to every other node with subscribers for `topic`; returns how many. */
  forward(topic: string, partition: number, batch: Buffer): number {
    const peers = this.interest.get(topic);
    if (!peers) return 0;
    let n = 0;
    for (const id of peers) if (this.links.get(id)?.send(topic, partition, batch)) n++;
    return n;
  }

  /** Counters for logs and metrics. */
  stats(): { received: number; sent: number; dropped: number } {
    let sent = 0;
    let dropped = 0;
    for (const l of this.links.values()) {
      sent += l.sent;
      dropped += l.dropped;
    }
    return { received: this.received, sent, dropped };
  }

  /** Withdraws interest, closes links and the server. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const u of this.unsub) u();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.server.close();
  }
}

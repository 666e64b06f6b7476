import { codeForWire, GregorError } from '../errors.js';
import type { MetadataResponse, NodeInfo, TopicKind } from '../protocol/index.js';
import { ClientClosedError, ConnectionError } from './client-errors.js';
import { type BrokerAddress, formatAddress, type ResolvedConnectOptions } from './client-options.js';
import { Connection } from './connection.js';

/** What the client knows about one topic. */
export interface TopicRoute {
  name: string;
  kind: TopicKind;
  /** Leader node name per partition (index = partition); null while no leader is elected. */
  leaders: (string | null)[];
}

/** How long a metadata answer is trusted before a routine refresh, ms. */
const METADATA_MAX_AGE_MS = 60_000;

/**
 * The client's view of the cluster: bootstrap addresses, the nodes metadata names, one pooled
 * connection per node (shared by admin calls and producers), and a topic -> partition leader
 * cache that is refreshed on NOT_OWNER and on demand. Consumers open their own dedicated
 * connections through `dedicated()` so long polls and pushes never queue behind produce traffic.
 */
export class Cluster {
  private readonly nodes = new Map<string, BrokerAddress>();
  /** Pooled connection per node name (or per bootstrap address until its name is known). */
  private readonly pool = new Map<string, Connection>();
  private readonly bootstrapConns: Connection[] = [];
  private readonly routes = new Map<string, { route: TopicRoute | GregorError; at: number }>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly owned = new Set<Connection>();
  private closed = false;

  constructor(readonly options: ResolvedConnectOptions) {}

  /** Connects to the first bootstrap broker that answers; rejects naming every one that did not. */
  async bootstrap(): Promise<void> {
    const problems: string[] = [];
    for (const addr of this.options.brokers) {
      const conn = this.newConnection(addr);
      try {
        await conn.open();
        this.bootstrapConns.push(conn);
        if (conn.nodeName && !this.pool.has(conn.nodeName)) this.pool.set(conn.nodeName, conn);
        return;
      } catch (err) {
        conn.close();
        this.owned.delete(conn);
        if (err instanceof GregorError && !err.retriable) throw err;
        problems.push((err as Error).message);
      }
    }
    throw new ConnectionError(
      this.options.brokers.map(formatAddress).join(','),
      `cannot connect to any broker (${problems.join('; ')})`,
    );
  }

  private newConnection(address: BrokerAddress, maxInFlight?: number): Connection {
    const o = this.options;
    const conn = new Connection({
      address,
      clientId: o.clientId,
      connectTimeoutMs: o.connectTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      reconnect: o.reconnect,
      logger: o.logger,
      ...(maxInFlight === undefined ? {} : { maxInFlight }),
    });
    this.owned.add(conn);
    return conn;
  }

  /** A connection for control requests (metadata, admin): the first bootstrap connection. */
  any(): Connection {
    if (this.closed) throw new ClientClosedError('client');
    const c = this.bootstrapConns[0];
    if (!c) throw new ClientClosedError('client (not bootstrapped)');
    return c;
  }

  /** The address to dial for a node: a bootstrap address that turned out to be it, else what metadata advertises. */
  private addressOf(node: string): BrokerAddress {
    for (const c of this.bootstrapConns) {
      if (c.nodeName === node) {
        const i = this.bootstrapConns.indexOf(c);
        return this.options.brokers[i] ?? this.nodes.get(node)!;
      }
    }
    const a = this.nodes.get(node);
    if (!a) throw new GregorError('NOT_OWNER', `metadata names node "${node}" without an address`);
    return a;
  }

  /** The pooled connection to `node`. */
  connectionTo(node: string): Connection {
    if (this.closed) throw new ClientClosedError('client');
    let c = this.pool.get(node);
    if (!c) {
      for (const b of this.bootstrapConns) if (b.nodeName === node) c = b;
      c ??= this.newConnection(this.addressOf(node));
      this.pool.set(node, c);
    }
    return c;
  }

  /** A new connection to `node` owned by the caller (close it when done); closed with the client too. */
  dedicated(node: string): Connection {
    if (this.closed) throw new ClientClosedError('client');
    return this.newConnection(this.addressOf(node));
  }

  /** Forgets a dedicated connection after its owner closed it. */
  release(conn: Connection): void {
    conn.close();
    this.owned.delete(conn);
  }

  /** Cached route, fetched when missing or old; throws the topic's error (e.g. UNKNOWN_TOPIC). */
  async route(topic: string): Promise<TopicRoute> {
    const hit = this.routes.get(topic);
    if (!hit || Date.now() - hit.at > METADATA_MAX_AGE_MS) await this.refresh([topic]);
    const r = this.routes.get(topic)?.route;
    if (!r) throw new GregorError('UNKNOWN_TOPIC', `topic "${topic}" is not in the metadata answer`);
    if (r instanceof GregorError) throw r;
    return r;
  }

  /** Cached route without I/O, if any. */
  cachedRoute(topic: string): TopicRoute | undefined {
    const r = this.routes.get(topic)?.route;
    return r instanceof GregorError ? undefined : r;
  }

  /** Drops a topic's cached route (after NOT_OWNER, topic re-created...). */
  invalidate(topic: string): void {
    this.routes.delete(topic);
  }

  /** Fetches metadata for `topics` (all when null); concurrent refreshes of one topic share a request. */
  async refresh(topics: string[] | null): Promise<MetadataResponse> {
    const key = topics === null ? '\u0000all' : [...topics].sort().join('\u0000');
    const running = this.refreshing.get(key);
    if (running) {
      await running;
      return { nodes: [...this.nodes].map(([name, a]) => ({ name, ...a })), topics: [] };
    }
    let answer: MetadataResponse | undefined;
    const p = (async () => {
      answer = await this.any().request('METADATA', { topics });
      this.apply(answer);
    })();
    this.refreshing.set(key, p);
    try {
      await p;
    } finally {
      this.refreshing.delete(key);
    }
    return answer!;
  }

  private apply(md: MetadataResponse): void {
    for (const n of md.nodes as NodeInfo[]) this.nodes.set(n.name, { host: n.host, port: n.port });
    const now = Date.now();
    for (const t of md.topics) {
      if (t.errorCode !== 0) {
        const code = codeForWire(t.errorCode);
        const msg =
          code === 'UNKNOWN_TOPIC' ? `topic "${t.name}" does not exist` : `topic "${t.name}": ${code}`;
        this.routes.set(t.name, { route: new GregorError(code, msg), at: now });
        continue;
      }
      const leaders: (string | null)[] = [];
      for (const p of t.partitions) leaders[p.partition] = p.leader;
      for (let i = 0; i < leaders.length; i++) leaders[i] ??= null;
      this.routes.set(t.name, { route: { name: t.name, kind: t.kind, leaders }, at: now });
    }
  }

  /** The leader's pooled connection for a partition; NOT_OWNER (retriable) while there is none. */
  async leaderConnection(topic: string, partition: number): Promise<Connection> {
    const route = await this.route(topic);
    if (partition < 0 || partition >= route.leaders.length)
      throw new GregorError(
        'UNKNOWN_PARTITION',
        `topic "${topic}" has partitions 0-${route.leaders.length - 1}; got ${partition}`,
      );
    const leader = route.leaders[partition];
    if (!leader) throw new GregorError('NOT_OWNER', `${topic}/${partition} has no leader right now`);
    return this.connectionTo(leader);
  }

  /** Closes every connection. */
  close(): void {
    this.closed = true;
    for (const c of this.owned) c.close();
    this.owned.clear();
    this.pool.clear();
  }
}

/**
 * The real cluster transport: libp2p 3 with TCP, noise, yamux, identify and ping.
 *
 * Importing this module loads libp2p (~0.8 s, ~40 MB on the reference machine), so the broker
 * reaches it only through a dynamic `import()` in cluster-node.ts, after its client port is open.
 *
 * - Identity: an Ed25519 key created once in `<dataDir>/cluster/node-key` (protobuf, mode 0600),
 *   so the peer id survives restarts.
 * - Membership messages: length-prefixed frames on `/gregormq/<clusterName>/membership/1.0.0`,
 *   over one long-lived outbound stream per peer. Opening a stream per message (as before) cost
 *   each node 5-15 ms of CPU per gossip round, which showed up in every other latency on the node
 *   (docs/benchmarks.md, pub/sub). A stream that fails is dropped and the message is sent once more
 *   on a fresh one; the receiver reads frames until the stream ends, so a peer that still opens one
 *   stream per message is understood too.
 * - Cluster separation: the cluster name is part of the protocol id and of the mDNS service tag,
 *   so nodes of another cluster are neither discovered nor able to open our streams.
 * - Discovery: mDNS (libp2p 3 does not dial discovered peers itself, so we do), and seeds dialled
 *   by address with bounded exponential backoff, re-resolved on every attempt.
 * - Private network: `clusterKeyFile` enables @libp2p/pnet; a node with another key cannot finish
 *   a connection. pnet is known to break on large writes; membership messages stay far below.
 */

import './polyfills.js';
import { chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { Connection, Libp2p, PrivateKey, Stream } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { generateKey, preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { GregorError } from '../errors.js';
import type { ClusterLogger } from './membership.js';
import { DEFAULT_CLUSTER_PORT, parseSeed, resolveSeed, type Seed } from './seeds.js';
import {
  type ClusterTransport,
  type MessageHandler,
  PeerEventHub,
  type TransportEvents,
} from './transport.js';

/** Options of the libp2p transport. */
export interface Libp2pTransportOptions {
  /** Data directory; the node key lives in `<dataDir>/cluster/node-key`. */
  dataDir: string;
  /** Cluster name (validated by membership); part of the protocol id and mDNS tag. */
  clusterName: string;
  /** Listen host. Default '0.0.0.0'. */
  host?: string;
  /** Listen port. Default 9442; 0 picks a free port. */
  port?: number;
  /** mDNS discovery. Default true. Never enable it in tests outside a network namespace. */
  mdns?: boolean;
  /** Seeds as host:port (DNS names allowed). Default none. */
  seeds?: string[];
  /** Pre-shared key file (libp2p swarm key format) turning on a private network. */
  clusterKeyFile?: string;
  /** Multiaddrs to advertise instead of the listen addresses (NAT, containers). */
  announce?: string[];
  /** First seed retry delay (ms), doubled per failure. Default 1000. */
  seedRetryMinMs?: number;
  /** Longest seed retry delay, also the re-resolve period once connected (ms). Default 30000. */
  seedRetryMaxMs?: number;
  /** Timeout of one dial or message send (ms). Default 5000. */
  dialTimeoutMs?: number;
  /** Largest message accepted (bytes). Default 65536. */
  maxMessageBytes?: number;
  /** Optional logger. */
  log?: ClusterLogger;
}

/** Counters of the libp2p transport. */
export interface Libp2pTransportStats {
  seedDialAttempts: number;
  seedDialFailures: number;
  mdnsDiscoveries: number;
  sendFailures: number;
  /** Membership messages sent, and outbound membership streams opened for them. */
  messagesSent: number;
  streamsOpened: number;
  /** Membership messages received. */
  messagesReceived: number;
}

/** Protocol id of membership messages for a cluster. */
export function membershipProtocol(clusterName: string): string {
  return `/gregormq/${clusterName}/membership/1.0.0`;
}

/** mDNS service tag of a cluster. */
export function mdnsServiceTag(clusterName: string): string {
  return `_gregormq-${clusterName}._udp.local`;
}

/** Path of the node key inside a data dir. */
export function nodeKeyPath(dataDir: string): string {
  return join(dataDir, 'cluster', 'node-key');
}

/** Loads the node key, creating and persisting it on first start. */
export async function loadOrCreateNodeKey(dataDir: string): Promise<PrivateKey> {
  const path = nodeKeyPath(dataDir);
  try {
    const bytes = await readFile(path);
    try {
      return privateKeyFromProtobuf(bytes);
    } catch (err) {
      throw new GregorError('CORRUPT_LOG', `${path}: node key is not a libp2p private key`, { cause: err });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = await generateKeyPair('Ed25519');
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(privateKeyToProtobuf(key));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await chmod(path, 0o600);
  return key;
}

/** Writes a new random pre-shared key file (swarm key format) for `clusterKeyFile`. */
export async function writeClusterKeyFile(path: string): Promise<void> {
  const bytes = new Uint8Array(95);
  generateKey(bytes);
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(bytes);
  } finally {
    await fh.close();
  }
}

async function readClusterKey(path: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(path);
    if (!bytes.toString('utf8').startsWith('/key/swarm/psk/1.0.0/')) {
      throw new GregorError(
        'INVALID_CONFIG',
        `clusterKeyFile ${path}: not a libp2p swarm key (/key/swarm/psk/1.0.0/)`,
      );
    }
    return new Uint8Array(bytes);
  } catch (err) {
    if (err instanceof GregorError) throw err;
    throw new GregorError('INVALID_CONFIG', `clusterKeyFile ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

interface SeedState {
  seed: Seed;
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** The libp2p implementation of ClusterTransport; create it with `createLibp2pTransport`. */
export class Libp2pTransport implements ClusterTransport {
  readonly localId: string;
  /** Counters for metrics and tests. */
  readonly stats: Libp2pTransportStats = {
    seedDialAttempts: 0,
    seedDialFailures: 0,
    mdnsDiscoveries: 0,
    sendFailures: 0,
    messagesSent: 0,
    streamsOpened: 0,
    messagesReceived: 0,
  };
  private readonly events = new PeerEventHub();
  private readonly known = new Set<string>();
  private readonly seeds: SeedState[];
  private readonly protocol: string;
  private readonly dialTimeoutMs: number;
  private readonly maxBytes: number;
  private handler: MessageHandler | undefined;
  private running = false;
  /** The open (or opening) outbound membership stream of each peer. */
  private readonly outbound = new Map<string, Promise<Outbound>>();

  constructor(
    /** The libp2p node, for layers that need more than membership (gossipsub, later). */
    readonly node: Libp2p,
    private readonly opts: Libp2pTransportOptions,
  ) {
    this.localId = node.peerId.toString();
    this.protocol = membershipProtocol(opts.clusterName);
    this.dialTimeoutMs = opts.dialTimeoutMs ?? 5000;
    this.maxBytes = opts.maxMessageBytes ?? 65536;
    this.seeds = (opts.seeds ?? []).map((s) => ({
      seed: parseSeed(s),
      delayMs: opts.seedRetryMinMs ?? 1000,
      timer: undefined,
    }));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.node.handle(this.protocol, (stream, connection) => this.onStream(stream, connection), {
      maxInboundStreams: 64,
      maxOutboundStreams: 64,
    });
    this.node.addEventListener('peer:discovery', (evt) => {
      const id = evt.detail.id;
      if (id.equals(this.node.peerId)) return;
      this.stats.mdnsDiscoveries++;
      // libp2p 3 reports mDNS peers but does not connect to them: dial here.
      this.node
        .dial(id, { signal: AbortSignal.timeout(this.dialTimeoutMs) })
        .then(() => this.found(id.toString()))
        .catch((err: unknown) =>
          this.opts.log?.debug({ peer: id.toString(), err: String(err) }, 'mdns dial failed'),
        );
    });
    this.node.addEventListener('peer:connect', (evt) => {
      const id = evt.detail.toString();
      this.known.add(id);
      this.events.emit('connected', id);
    });
    this.node.addEventListener('peer:disconnect', (evt) => {
      this.outbound.delete(evt.detail.toString());
      this.events.emit('disconnected', evt.detail.toString());
    });
    await this.node.start();
    for (const s of this.seeds) this.scheduleSeed(s, 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const s of this.seeds) clearTimeout(s.timer);
    this.outbound.clear();
    await this.node.stop();
  }

  async send(peerId: string, message: Uint8Array): Promise<void> {
    try {
      await this.sendOn(peerId, message, true);
      this.stats.messagesSent++;
    } catch (err) {
      this.stats.sendFailures++;
      throw err;
    }
  }

  private async sendOn(peerId: string, message: Uint8Array, retry: boolean): Promise<void> {
    const out = await this.outboundTo(peerId);
    const write = () => out.lp.write(message, { signal: AbortSignal.timeout(this.dialTimeoutMs) });
    // One frame at a time per stream; a failed write does not stop the ones queued behind it.
    const done = out.tail.then(write, write);
    out.tail = done.catch(() => undefined);
    try {
      await done;
    } catch (err) {
      this.dropOutbound(peerId, out);
      if (!retry || !this.running) throw err;
      await this.sendOn(peerId, message, false);
    }
  }

  /** The peer's outbound stream, opened on first use and again after it failed or closed. */
  private async outboundTo(peerId: string): Promise<Outbound> {
    const cached = this.outbound.get(peerId);
    if (cached) {
      const out = await cached.catch(() => undefined);
      if (out && out.stream.status === 'open' && out.stream.writeStatus === 'writable') return out;
      if (this.outbound.get(peerId) === cached) this.outbound.delete(peerId);
      if (out) out.stream.abort(new Error('membership stream replaced'));
    }
    const opening = (async (): Promise<Outbound> => {
      this.stats.streamsOpened++;
      const stream = await this.node.dialProtocol(peerIdFromString(peerId), this.protocol, {
        signal: AbortSignal.timeout(this.dialTimeoutMs),
      });
      return { stream, lp: lpStream(stream, { maxDataLength: this.maxBytes }), tail: Promise.resolve() };
    })();
    this.outbound.set(peerId, opening);
    opening.catch(() => {
      if (this.outbound.get(peerId) === opening) this.outbound.delete(peerId);
    });
    return opening;
  }

  private dropOutbound(peerId: string, out: Outbound): void {
    void this.outbound
      .get(peerId)
      ?.then((cur) => {
        if (cur === out) this.outbound.delete(peerId);
      })
      .catch(() => undefined);
    if (out.stream.status === 'open') out.stream.abort(new Error('membership write failed'));
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.events.on(event, listener);
  }

  knownPeers(): string[] {
    return [...this.known];
  }

  connectedPeers(): string[] {
    return this.node.getPeers().map((p) => p.toString());
  }

  listenAddresses(): string[] {
    if (this.opts.announce && this.opts.announce.length > 0) return [...this.opts.announce];
    return this.node.getMultiaddrs().map((m) => m.toString());
  }

  addPeerAddresses(peerId: string, addresses: string[]): void {
    if (peerId === this.localId || addresses.length === 0) return;
    let multiaddrs: ReturnType<typeof multiaddr>[];
    try {
      multiaddrs = addresses.map((a) => multiaddr(a));
    } catch {
      return;
    }
    this.node.peerStore
      .merge(peerIdFromString(peerId), { multiaddrs })
      .catch((err: unknown) =>
        this.opts.log?.debug({ peer: peerId, err: String(err) }, 'peer store merge failed'),
      );
  }

  /** The TCP port actually bound (useful with port 0), or undefined. */
  boundPort(): number | undefined {
    for (const m of this.node.getMultiaddrs()) {
      const port = /\/tcp\/(\d+)/.exec(m.toString())?.[1];
      if (port) return Number(port);
    }
    return undefined;
  }

  private found(id: string): void {
    if (!this.running || id === this.localId) return;
    this.known.add(id);
    this.events.emit('discovered', id);
  }

  /** Reads frames until the sender closes the stream (or it breaks); each one is a message. */
  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    const lp = lpStream(stream, { maxDataLength: this.maxBytes });
    try {
      for (;;) {
        const data = await lp.read();
        this.stats.messagesReceived++;
        try {
          this.handler?.(from, data.subarray());
        } catch (err) {
          this.opts.log?.warn({ peer: from, err: String(err) }, 'membership message handler failed');
        }
      }
    } catch (err) {
      // The end of the stream is how a sender says it is done; anything else breaks the stream.
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private scheduleSeed(s: SeedState, delayMs: number): void {
    if (!this.running) return;
    s.timer = setTimeout(() => void this.dialSeed(s), delayMs);
    s.timer.unref();
  }

  private async dialSeed(s: SeedState): Promise<void> {
    if (!this.running) return;
    const maxDelay = this.opts.seedRetryMaxMs ?? 30_000;
    let ok = false;
    try {
      const addrs = await resolveSeed(s.seed);
      await Promise.all(
        addrs.map(async (a) => {
          this.stats.seedDialAttempts++;
          try {
            const conn = await this.node.dial(multiaddr(a), {
              signal: AbortSignal.timeout(this.dialTimeoutMs),
            });
            ok = true;
            this.found(conn.remotePeer.toString());
          } catch (err) {
            this.stats.seedDialFailures++;
            this.opts.log?.debug({ seed: s.seed.spec, addr: a, err: String(err) }, 'seed dial failed');
          }
        }),
      );
    } catch (err) {
      this.stats.seedDialFailures++;
      this.opts.log?.debug({ seed: s.seed.spec, err: String(err) }, 'seed did not resolve');
    }
    // Connected seeds are re-resolved at the slow pace (new pods behind a DNS name); failing ones back off.
    s.delayMs = ok ? maxDelay : Math.min(maxDelay, s.delayMs * 2);
    this.scheduleSeed(s, ok ? maxDelay : s.delayMs);
  }
}

/** One long-lived outbound membership stream and the tail of its write queue. */
interface Outbound {
  stream: Stream;
  lp: ReturnType<typeof lpStream<Stream>>;
  tail: Promise<unknown>;
}

/** Creates (not starts) the libp2p transport: loads the node key, the cluster key, and builds libp2p. */
export async function createLibp2pTransport(opts: Libp2pTransportOptions): Promise<Libp2pTransport> {
  const privateKey = await loadOrCreateNodeKey(opts.dataDir);
  const host = opts.host ?? '0.0.0.0';
  const port = opts.port ?? DEFAULT_CLUSTER_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GregorError('INVALID_CONFIG', `clusterPort ${port} must be 0-65535`);
  }
  for (const s of opts.seeds ?? []) parseSeed(s);
  const psk = opts.clusterKeyFile ? await readClusterKey(opts.clusterKeyFile) : undefined;
  const family = host.includes(':') ? 'ip6' : 'ip4';
  const node = await createLibp2p({
    privateKey,
    start: false,
    addresses: {
      listen: [`/${family}/${host}/tcp/${port}`],
      ...(opts.announce && opts.announce.length > 0 ? { announce: opts.announce } : {}),
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(psk ? { connectionProtector: preSharedKey({ psk }) } : {}),
    peerDiscovery:
      opts.mdns === false ? [] : [mdns({ serviceTag: mdnsServiceTag(opts.clusterName), interval: 1000 })],
    services: { identify: identify(), ping: ping() },
  });
  return new Libp2pTransport(node as unknown as Libp2p, opts);
}

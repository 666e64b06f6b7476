/**
 * An in-memory network of cluster transports for simulations and tests: hundreds of nodes in one
 * process, driven by a `VirtualScheduler`, with knobs for latency, message loss and partitions
 * between sets of nodes. Messages behave like datagrams: a lost or undeliverable message vanishes
 * silently, as a packet to a crashed host would.
 */

import type { VirtualClock, VirtualScheduler } from './clock.js';
import {
  type ClusterTransport,
  type MessageHandler,
  PeerEventHub,
  type TransportEvents,
} from './transport.js';

/** Knobs of a simulated network; every one can be changed while the simulation runs. */
export interface MemoryNetworkOptions {
  /** Drives delivery; every node's clock must come from the same scheduler. */
  scheduler: VirtualScheduler;
  /** One-way delay in ms before jitter. Default 1. */
  latencyMs?: number;
  /** Extra uniformly random delay in [0, jitterMs) ms. Default 1. */
  jitterMs?: number;
  /** Probability in [0, 1] that a message is lost. Default 0. */
  dropRate?: number;
  /** Random source for loss and jitter; pass `seededRandom(n)` for reproducible runs. */
  random?: () => number;
}

/** Counters of a network since it was created. */
export interface MemoryNetworkStats {
  /** Messages handed to `send`. */
  sent: number;
  /** Messages that reached a handler. */
  delivered: number;
  /** Messages lost to `dropRate`. */
  dropped: number;
  /** Messages blocked by a partition or sent to a node that is down. */
  undeliverable: number;
  /** Bytes handed to `send`. */
  bytes: number;
}

/** Options of one simulated node's transport. */
export interface MemoryTransportOptions {
  /** The node's clock; pausing it delays this node's deliveries too. */
  clock: VirtualClock;
  /** Node ids announced as discovered at start (the simulated `--seeds`). */
  seeds?: string[];
  /** When true, discovers every other node with `mdns` on, like a LAN. Default false. */
  mdns?: boolean;
}

/** A simulated network; create one transport per node with `createTransport`. */
export class MemoryNetwork {
  /** Running counters. */
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0, undeliverable: 0, bytes: 0 };
  latencyMs: number;
  jitterMs: number;
  dropRate: number;
  private readonly random: () => number;
  private readonly nodes = new Map<string, MemoryTransport>();
  /** Pairs "a\0b" that cannot talk, both directions stored. */
  private readonly blocked = new Set<string>();

  constructor(private readonly opts: MemoryNetworkOptions) {
    this.latencyMs = opts.latencyMs ?? 1;
    this.jitterMs = opts.jitterMs ?? 1;
    this.dropRate = opts.dropRate ?? 0;
    this.random = opts.random ?? Math.random;
  }

  /** Creates (but does not start) the transport of node `id`. */
  createTransport(id: string, options: MemoryTransportOptions): MemoryTransport {
    return new MemoryTransport(this, id, options);
  }

  /** Cuts every link between a node in `a` and a node in `b`. */
  partition(a: Iterable<string>, b: Iterable<string>): void {
    const bs = [...b];
    for (const x of a) {
      for (const y of bs) {
        this.blocked.add(`${x}\0${y}`);
        this.blocked.add(`${y}\0${x}`);
      }
    }
  }

  /** Restores every link cut by `partition`. */
  heal(): void {
    this.blocked.clear();
  }

  /** True when `id`'s transport is started. */
  isUp(id: string): boolean {
    return this.nodes.has(id);
  }

  /** Ids of started transports with mDNS on. */
  mdnsNodes(): string[] {
    return [...this.nodes.values()].filter((t) => t.mdns).map((t) => t.localId);
  }

  /** @internal Registers a started transport and announces it to mDNS peers. */
  attach(t: MemoryTransport): void {
    this.nodes.set(t.localId, t);
    if (!t.mdns) return;
    for (const other of this.nodes.values()) {
      if (other === t || !other.mdns) continue;
      other.announce(t.localId);
      t.announce(other.localId);
    }
  }

  /** @internal Removes a stopped transport. */
  detach(t: MemoryTransport): void {
    if (this.nodes.get(t.localId) === t) this.nodes.delete(t.localId);
  }

  /** @internal Schedules delivery of one message, applying loss, partitions and latency. */
  deliver(from: string, to: string, message: Uint8Array): void {
    this.stats.sent++;
    this.stats.bytes += message.byteLength;
    if (this.dropRate > 0 && this.random() < this.dropRate) {
      this.stats.dropped++;
      return;
    }
    const target = this.nodes.get(to);
    if (!target || this.blocked.has(`${from}\0${to}`)) {
      this.stats.undeliverable++;
      return;
    }
    const delay = this.latencyMs + (this.jitterMs > 0 ? this.random() * this.jitterMs : 0);
    target.clock.runAt(this.opts.scheduler.now() + delay, () => {
      // The receiver may have crashed or been cut off while the message was in flight.
      if (this.nodes.get(to) !== target || this.blocked.has(`${from}\0${to}`)) {
        this.stats.undeliverable++;
        return;
      }
      this.stats.delivered++;
      target.receive(from, message);
    });
  }
}

/** One simulated node's transport. */
export class MemoryTransport implements ClusterTransport {
  /** @internal */
  readonly clock: VirtualClock;
  /** @internal */
  readonly mdns: boolean;
  private readonly events = new PeerEventHub();
  private readonly known = new Set<string>();
  private readonly seeds: string[];
  private handler: MessageHandler | undefined;
  private running = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly localId: string,
    options: MemoryTransportOptions,
  ) {
    this.clock = options.clock;
    this.mdns = options.mdns ?? false;
    this.seeds = (options.seeds ?? []).filter((s) => s !== localId);
  }

  async start(): Promise<void> {
    this.running = true;
    this.network.attach(this);
    for (const s of this.seeds) this.announce(s);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.network.detach(this);
  }

  async send(peerId: string, message: Uint8Array): Promise<void> {
    if (!this.running) return;
    this.network.deliver(this.localId, peerId, message);
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
    return [...this.known].filter((id) => this.network.isUp(id));
  }

  listenAddresses(): string[] {
    return [`/memory/${this.localId}`];
  }

  addPeerAddresses(): void {
    // Every simulated node is reachable by id alone.
  }

  /** @internal Emits `discovered` for a peer on this node's clock, as a discovery service would. */
  announce(peerId: string): void {
    if (peerId === this.localId) return;
    this.clock.setTimeout(() => {
      if (!this.running) return;
      this.known.add(peerId);
      this.events.emit('discovered', peerId);
    }, 0);
  }

  /** @internal */
  receive(from: string, message: Uint8Array): void {
    if (!this.running) return;
    this.known.add(from);
    this.handler?.(from, message);
  }
}

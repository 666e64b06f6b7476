/**
 * The seam between membership and the network. Membership only needs to send a small message to a
 * peer id, receive messages, and hear about peers discovered out of band (seeds, mDNS). Two
 * implementations: `libp2p-transport.ts` for real nodes and `memory-transport.ts` for simulations
 * with latency, loss and partitions. Placement and routing later reuse the same peer ids.
 */

import { TypedEmitter } from './typed-emitter.js';

/** Called for every membership message that arrives; `from` is the authenticated sender id. */
export type MessageHandler = (from: string, message: Uint8Array) => void;

/** Events a transport emits about peers it learns of outside gossip. */
export interface TransportEvents {
  /** A peer was found by discovery (seed dial, mDNS); membership should gossip with it. */
  discovered: (peerId: string) => void;
  /** A connection to the peer is open. */
  connected: (peerId: string) => void;
  /** The last connection to the peer closed. */
  disconnected: (peerId: string) => void;
}

/** Sends and receives membership messages between cluster nodes. */
export interface ClusterTransport {
  /** This node's id: the libp2p peer id string, or the simulated node name. */
  readonly localId: string;
  /** Opens listeners and starts discovery. */
  start(): Promise<void>;
  /** Closes everything; pending sends fail. */
  stop(): Promise<void>;
  /**
   * Delivers one message to `peerId`. Resolves once it was handed to the network, rejects when the
   * peer cannot be reached. Messages are small (membership bounds them to `maxMessageBytes`).
   */
  send(peerId: string, message: Uint8Array): Promise<void>;
  /** Installs the single handler for incoming messages. */
  onMessage(handler: MessageHandler): void;
  /** Subscribes to a peer event; returns a function that unsubscribes. */
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void;
  /** Peers found by discovery or connected at least once (not necessarily members yet). */
  knownPeers(): string[];
  /** Peers with an open connection now. */
  connectedPeers(): string[];
  /** Addresses other nodes can dial this node at (multiaddrs for libp2p). */
  listenAddresses(): string[];
  /** Tells the transport where a peer can be dialled, as learned from gossip. */
  addPeerAddresses(peerId: string, addresses: string[]): void;
}

/** The listener registry both transports use. */
export class PeerEventHub extends TypedEmitter<TransportEvents> {}

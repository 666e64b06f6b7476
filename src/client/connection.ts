import { connect as netConnect, type Socket } from 'node:net';
import { GregorError, isGregorError } from '../errors.js';
import {
  type DeliveryPush,
  decodePush,
  decodeResponseAs,
  encodeRequest,
  type Frame,
  FrameDecoder,
  FrameError,
  frameKind,
  type HelloResponse,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type RequestInput,
  type RequestOp,
  type ResponseOf,
  type ResponseOp,
  type ServerLimits,
} from '../protocol/index.js';
import { ClientClosedError, ConnectionError, RequestTimeoutError } from './client-errors.js';
import {
  type BrokerAddress,
  backoffDelayMs,
  type ClientLogger,
  formatAddress,
  type ReconnectOptions,
} from './client-options.js';

/** SDK identity sent in HELLO. */
export const SOFTWARE = 'gregormq-js/0.1.0';

/** Options of one broker connection. */
export interface ConnectionOptions {
  address: BrokerAddress;
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  reconnect: ReconnectOptions;
  logger: ClientLogger;
  /** Cap on requests awaiting an answer, below the server's own limit from HELLO. */
  maxInFlight?: number;
}

/** One-way sends settled in one event-loop turn before the rest wait for the next turn. */
const ONE_WAY_SENDS_PER_TURN = 64;
/** ...or this long since the turn's first one, ms, whichever comes first. */
const ONE_WAY_TURN_BUDGET_MS = 1;

/** Both ops that answer: the ops `request()` accepts. */
type AnsweredOp = RequestOp & ResponseOp;
/** Ops sent without waiting for an answer: PRODUCE/PUBLISH with acks 0 and CREDIT. */
type OneWayOp = 'PRODUCE' | 'PUBLISH' | 'CREDIT';

interface Job {
  op: RequestOp;
  body: unknown;
  oneWay: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  /** Set once written (answered ops only). */
  correlationId?: number;
}

/**
 * One TCP connection to one broker, re-established on demand. Requests are pipelined and matched
 * to answers by correlation id; at most `min(maxInFlight, server limit)` await answers at once,
 * the rest wait in a local queue (so the client never makes the server stop reading). When the
 * socket drops, every request in flight fails with a retriable ConnectionError (its outcome is
 * unknown: the idempotent producer retries it safely) and the next request reconnects with
 * exponential backoff and jitter.
 */
export class Connection {
  /** `host:port` this connection dials. */
  readonly address: string;
  /** The broker's node name, known after the first HELLO. */
  nodeName: string | null = null;
  /** The broker's limits from HELLO. */
  limits: ServerLimits | null = null;

  private socket: Socket | null = null;
  private decoder = new FrameDecoder();
  private version = PROTOCOL_VERSION;
  private nextCorrelation = 1;
  private nextSubscription = 1;
  private readonly inFlight = new Map<number, Job>();
  private readonly queue: Job[] = [];
  private connecting: Promise<void> | null = null;
  private closed = false;
  private failures = 0;
  private lastError: Error | null = null;
  private serverError: GregorError | null = null;
  private epoch = 0;
  private readonly deliveries = new Map<number, (d: DeliveryPush) => void>();
  private readonly disconnectListeners = new Set<(err: Error) => void>();
  /** One-way sends settled in the current event-loop turn; -1 when no turn is open. */
  private oneWayThisTurn = -1;
  private oneWayTurnStartedAt = 0;
  /** One-way settlements held for the next turn, in send order. */
  private readonly oneWayHeld: { job: Job; err: Error | null }[] = [];

  constructor(private readonly o: ConnectionOptions) {
    this.address = formatAddress(o.address);
  }

  /** True while a socket is up and HELLO is done. */
  get connected(): boolean {
    return this.socket !== null;
  }

  /** Increments on every successful (re)connect: lets subscribers notice a new session. */
  get sessions(): number {
    return this.epoch;
  }

  /** Requests awaiting answers plus those waiting to be written. */
  get pending(): number {
    return this.inFlight.size + this.queue.length;
  }

  /** Connects now (one attempt) if not connected; rejects with the reason on failure. */
  async open(): Promise<void> {
    if (this.closed) throw new ClientClosedError(`connection to ${this.address}`);
    if (this.socket) return;
    if (this.connecting) await this.connecting;
    if (this.socket) return;
    const attempt = this.connectOnce();
    this.connecting = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      await attempt;
    } finally {
      this.connecting = null;
      this.pump();
    }
  }

  /** Sends a request and resolves with its decoded answer (or rejects with the broker's error). */
  request<K extends AnsweredOp>(
    op: K,
    body: RequestInput<K>,
    opts: { timeoutMs?: number } = {},
  ): Promise<ResponseOf<K>> {
    return this.enqueue(op, body, false, opts.timeoutMs) as Promise<ResponseOf<K>>;
  }

  /** Sends a request that gets no answer; resolves once its bytes are handed to the socket. */
  sendOneWay<K extends OneWayOp>(
    op: K,
    body: RequestInput<K>,
    opts: { timeoutMs?: number } = {},
  ): Promise<void> {
    return this.enqueue(op, body, true, opts.timeoutMs) as Promise<void>;
  }

  /** A subscription id not yet used on this connection. */
  allocateSubscriptionId(): number {
    const id = this.nextSubscription;
    this.nextSubscription = id >= 0xffff_fffe ? 1 : id + 1;
    return id;
  }

  /** Routes DELIVERY pushes for `subscriptionId` to `fn`; returns the function that stops it. */
  onDelivery(subscriptionId: number, fn: (d: DeliveryPush) => void): () => void {
    this.deliveries.set(subscriptionId, fn);
    return () => {
      if (this.deliveries.get(subscriptionId) === fn) this.deliveries.delete(subscriptionId);
    };
  }

  /** Calls `fn` each time the socket drops (subscriptions must be re-opened). */
  onDisconnect(fn: (err: Error) => void): () => void {
    this.disconnectListeners.add(fn);
    return () => this.disconnectListeners.delete(fn);
  }

  /** Closes for good: waiting and in-flight requests fail with CLIENT_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new ClientClosedError(`connection to ${this.address}`);
    for (const job of this.queue.splice(0)) this.settle(job, err);
    for (const job of this.inFlight.values()) this.settle(job, err);
    this.inFlight.clear();
    const s = this.socket;
    this.socket = null;
    if (s) {
      // end() flushes what is buffered (acks-0 produce data) before the FIN.
      s.end();
      setTimeout(() => s.destroy(), 2000).unref();
    }
  }

  /** Drops the socket as if the network failed (tests, and after a request timeout). */
  destroySocket(reason: string): void {
    this.lastError = new ConnectionError(this.address, reason);
    this.socket?.destroy();
  }

  private enqueue(op: RequestOp, body: unknown, oneWay: boolean, timeoutMs?: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new ClientClosedError(`connection to ${this.address}`));
    return new Promise((resolve, reject) => {
      const ms = timeoutMs ?? this.o.requestTimeoutMs;
      const job: Job = { op, body, oneWay, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
      job.timer = setTimeout(() => this.onTimeout(job, ms), ms);
      this.queue.push(job);
      this.pump();
    });
  }

  private settle(job: Job, err: Error | null, value?: unknown): void {
    clearTimeout(job.timer);
    if (err) job.reject(err);
    else job.resolve(value);
  }

  /**
   * Settles a one-way send once its bytes are handed to the socket. A write to a socket with room
   * completes at once and its callback runs on the same tick, so `await publish(..., { acks: 0 })`
   * in a loop never gave the event loop a turn: the process's own subscription sockets, timers
   * and other connections starved until the loop ended or the socket backed up (the pubsub bench
   * saw 380-760 ms stalls, and a subscriber in the same process could not return credit, so a
   * burst beyond its window was dropped). So a turn settles at most ONE_WAY_SENDS_PER_TURN sends
   * or ONE_WAY_TURN_BUDGET_MS worth; the rest settle, in order, on the next turn, after pending
   * I/O. The bytes are already written, so only the caller's await waits, never the message.
   */
  private settleOneWay(job: Job, err: Error | null): void {
    if (this.oneWayThisTurn < 0) {
      this.oneWayThisTurn = 0;
      this.oneWayTurnStartedAt = performance.now();
      setImmediate(() => this.nextOneWayTurn());
    }
    if (
      this.oneWayHeld.length === 0 &&
      this.oneWayThisTurn < ONE_WAY_SENDS_PER_TURN &&
      performance.now() - this.oneWayTurnStartedAt < ONE_WAY_TURN_BUDGET_MS
    ) {
      this.oneWayThisTurn++;
      this.settle(job, err);
    } else this.oneWayHeld.push({ job, err });
  }

  private nextOneWayTurn(): void {
    this.oneWayThisTurn = -1;
    for (const h of this.oneWayHeld.splice(0)) this.settle(h.job, h.err);
  }

  private onTimeout(job: Job, ms: number): void {
    const err = new RequestTimeoutError(`${job.op} to ${this.address} got no answer within ${ms} ms`);
    const i = this.queue.indexOf(job);
    if (i >= 0) {
      this.queue.splice(i, 1);
      job.reject(err);
      return;
    }
    if (job.correlationId !== undefined && this.inFlight.get(job.correlationId) === job) {
      this.inFlight.delete(job.correlationId);
      job.reject(err);
      // The broker still counts the request as in flight and may answer it late; a fresh socket
      // is the only way to be sure both sides agree again (Kafka clients do the same).
      this.destroySocket(err.message);
    }
  }

  private get maxInFlight(): number {
    const server = this.limits?.maxInFlightRequests ?? 1;
    return Math.max(1, Math.min(this.o.maxInFlight ?? server, server));
  }

  private pump(): void {
    const s = this.socket;
    if (!s) {
      if (this.queue.length > 0 && !this.connecting && !this.closed) this.startConnecting();
      return;
    }
    while (this.queue.length > 0) {
      const job = this.queue[0]!;
      if (!job.oneWay && this.inFlight.size >= this.maxInFlight) return;
      this.queue.shift();
      this.write(s, job);
    }
  }

  private allocateCorrelation(): number {
    const id = this.nextCorrelation;
    this.nextCorrelation = id >= 0xffff_fffe ? 1 : id + 1;
    return id;
  }

  private write(s: Socket, job: Job): void {
    const cid = this.allocateCorrelation();
    let parts: Buffer[];
    try {
      parts = encodeRequest(job.op, cid, job.body as never, this.version);
    } catch (err) {
      this.settle(job, err as Error);
      return;
    }
    let done: ((err?: Error | null) => void) | undefined;
    if (job.oneWay) {
      done = (err) =>
        this.settleOneWay(
          job,
          err ? new ConnectionError(this.address, `write failed: ${err.message}`, { cause: err }) : null,
        );
    } else {
      job.correlationId = cid;
      this.inFlight.set(cid, job);
    }
    if (parts.length === 1) s.write(parts[0]!, done);
    else {
      s.cork();
      for (let i = 0; i < parts.length; i++) s.write(parts[i]!, i === parts.length - 1 ? done : undefined);
      s.uncork();
    }
  }

  private startConnecting(): void {
    const run = async () => {
      while (!this.closed && this.queue.length > 0) {
        if (this.failures > 0) await sleep(backoffDelayMs(this.failures, this.o.reconnect));
        if (this.closed) return;
        try {
          await this.connectOnce();
          return;
        } catch (err) {
          this.failures++;
          this.lastError = err as Error;
          this.o.logger.debug?.(
            { broker: this.address, attempt: this.failures, err: (err as Error).message },
            'connect failed',
          );
          const max = this.o.reconnect.maxAttempts;
          if ((isGregorError(err) && !err.retriable) || (max !== undefined && this.failures >= max)) {
            for (const job of this.queue.splice(0)) this.settle(job, err as Error);
            this.failures = 0;
            return;
          }
        }
      }
    };
    this.connecting = run().finally(() => {
      this.connecting = null;
      this.pump();
    });
  }

  /** One TCP connect plus HELLO; on success the socket becomes this connection's. */
  private connectOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sock = netConnect({ host: this.o.address.host, port: this.o.address.port });
      sock.setNoDelay(true);
      const decoder = new FrameDecoder();
      const helloId = this.allocateCorrelation();
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new ConnectionError(
              this.address,
              `connect and HELLO took longer than ${this.o.connectTimeoutMs} ms`,
            ),
          ),
        this.o.connectTimeoutMs,
      );
      sock.once('connect', () => {
        // HELLO always travels in a version-1 frame so any two builds can negotiate.
        for (const p of encodeRequest(
          'HELLO',
          helloId,
          {
            minVersion: MIN_PROTOCOL_VERSION,
            maxVersion: PROTOCOL_VERSION,
            clientId: this.o.clientId,
            software: SOFTWARE,
          },
          1,
        ))
          sock.write(p);
      });
      sock.on('error', (err) => fail(new ConnectionError(this.address, err.message, { cause: err })));
      sock.on('close', () => fail(new ConnectionError(this.address, 'closed during HELLO')));
      const onData = (chunk: Buffer) => {
        decoder.push(chunk);
        let frame: Frame | undefined;
        try {
          frame = decoder.next();
        } catch (err) {
          fail(
            new ConnectionError(this.address, `bad frame during HELLO: ${(err as Error).message}`, {
              cause: err,
            }),
          );
          return;
        }
        if (!frame) return;
        let hello: HelloResponse;
        try {
          if (frameKind(frame.flags) === 'push') {
            const push = decodePush(frame);
            throw push.error ?? new GregorError('INVALID_FRAME', 'broker pushed data before HELLO');
          }
          if (frame.correlationId !== helloId)
            throw new GregorError('INVALID_FRAME', 'first answer is not the HELLO answer');
          hello = decodeResponseAs('HELLO', frame);
        } catch (err) {
          fail(
            isGregorError(err) && !err.retriable
              ? err
              : new ConnectionError(this.address, (err as Error).message),
          );
          return;
        }
        settled = true;
        clearTimeout(timer);
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        sock.off('data', onData);
        this.attach(sock, decoder, hello);
        resolve();
      };
      sock.on('data', onData);
    });
  }

  private attach(sock: Socket, decoder: FrameDecoder, hello: HelloResponse): void {
    this.socket = sock;
    this.decoder = decoder;
    decoder.maxFrameBytes = Math.max(decoder.maxFrameBytes, hello.limits.maxFrameBytes);
    this.version = hello.version;
    this.nodeName = hello.nodeName;
    this.limits = hello.limits;
    this.failures = 0;
    this.lastError = null;
    this.serverError = null;
    this.epoch++;
    this.o.logger.debug?.({ broker: this.address, node: hello.nodeName }, 'connected');
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => {
      this.lastError = new ConnectionError(this.address, err.message, { cause: err });
    });
    sock.on('close', () => this.onSocketClose(sock));
    // Frames that arrived in the HELLO answer's chunk.
    this.onData(Buffer.alloc(0));
    this.pump();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let i = 0; i < 1_000_000; i++) {
      let frame: Frame | undefined;
      try {
        frame = this.decoder.next();
      } catch (err) {
        if (err instanceof FrameError && !err.fatal) {
          const job = err.header ? this.inFlight.get(err.header.correlationId) : undefined;
          if (job && err.header) {
            this.inFlight.delete(err.header.correlationId);
            this.settle(job, err);
          }
          continue;
        }
        this.destroySocket(`unreadable stream from broker: ${(err as Error).message}`);
        return;
      }
      if (!frame) return;
      if (frameKind(frame.flags) === 'push') this.onPush(frame);
      else this.onResponse(frame);
    }
  }

  private onResponse(frame: Frame): void {
    const job = this.inFlight.get(frame.correlationId);
    if (!job) return; // timed out already
    this.inFlight.delete(frame.correlationId);
    try {
      this.settle(job, null, decodeResponseAs(job.op as AnsweredOp, frame));
    } catch (err) {
      this.settle(job, err as Error);
    }
    this.pump();
  }

  private onPush(frame: Frame): void {
    let push: ReturnType<typeof decodePush>;
    try {
      push = decodePush(frame);
    } catch (err) {
      this.o.logger.warn?.({ broker: this.address, err: (err as Error).message }, 'undecodable push ignored');
      return;
    }
    if (push.op === null) {
      // The broker says why it is about to close the connection.
      this.serverError = push.error;
      this.o.logger.info?.(
        { broker: this.address, err: push.error.message },
        'broker is closing the connection',
      );
      return;
    }
    if (push.op === 'DELIVERY') this.deliveries.get(push.body.subscriptionId)?.(push.body);
  }

  private onSocketClose(sock: Socket): void {
    if (this.socket !== sock) return;
    this.socket = null;
    const why = this.serverError
      ? `broker closed the connection: ${this.serverError.message}`
      : (this.lastError?.message.replace(`${this.address}: `, '') ?? 'connection closed by the broker');
    const err = new ConnectionError(this.address, why, {
      cause: this.serverError ?? this.lastError ?? undefined,
    });
    this.o.logger.debug?.({ broker: this.address, reason: why }, 'disconnected');
    const jobs = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const job of jobs) this.settle(job, err);
    for (const fn of [...this.disconnectListeners]) fn(err);
    // A drop is itself the first "failure": the next attempt waits a (short) backoff first.
    this.failures = Math.max(this.failures, 1);
    this.pump();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

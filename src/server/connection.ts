import type { Socket } from 'node:net';
import { GregorError, isGregorError } from '../errors.js';
import {
  decodeRequest,
  encodeConnectionError,
  encodeErrorResponse,
  encodePush,
  encodeResponse,
  type Frame,
  FrameDecoder,
  FrameError,
  type OpName,
  opLabel,
  PROTOCOL_VERSION,
  type PublishRequest,
  type ResponseOp,
  type SubscribeRequest,
  type SubscribeResponse,
} from '../protocol/index.js';
import { handleRequest, publishNow } from './request-handlers.js';
import type { ServerContext } from './server-context.js';
import { type Credit, type DeliverySink, EphemeralSubscription, LogSubscription } from './subscription.js';

/** Stop reading requests while this many response bytes wait in the socket (backpressure). */
const WRITE_HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** Most live subscriptions one connection may hold. */
const MAX_SUBSCRIPTIONS = 1024;

/**
 * One client connection: decodes frames, runs requests concurrently (pipelined, answered by
 * correlation id in completion order), and keeps memory bounded — at most
 * `maxInFlightPerConnection` requests run at once and reading stops while the socket's send
 * buffer is over WRITE_HIGH_WATER_BYTES, so a client that does not read its answers is throttled
 * instead of growing the broker.
 */
export class ClientConnection {
  private readonly decoder: FrameDecoder;
  private version = PROTOCOL_VERSION;
  private clientId = '';
  private inFlight = 0;
  /** PUBLISH requests in the general (async) path: while any is, later ones take it too (order). */
  private asyncPublishes = 0;
  private readonly waiting: Frame[] = [];
  private readonly subs = new Map<number, LogSubscription | EphemeralSubscription>();
  private readonly abort = new AbortController();
  private readonly drainWaiters: (() => void)[] = [];
  private closing = false;
  private idleSince = Date.now();
  private readonly settledWaiters: (() => void)[] = [];
  /** True from the first write of a tick until the nextTick that flushes them together. */
  private corkedThisTick = false;

  constructor(
    readonly socket: Socket,
    private readonly ctx: ServerContext,
    readonly id: number,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: ctx.maxFrameBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => ctx.logger.debug({ err, conn: id }, 'connection error'));
    socket.on('close', () => this.onClose());
    if (ctx.idleTimeoutMs > 0) {
      socket.setTimeout(ctx.idleTimeoutMs, () => {
        if (this.inFlight === 0 && this.subs.size === 0)
          this.fail(new GregorError('TIMEOUT', `connection idle for ${ctx.idleTimeoutMs} ms`));
      });
    }
  }

  /** Aborted when the connection closes: long polls stop waiting. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get pendingRequests(): number {
    return this.inFlight + this.waiting.length;
  }

  setVersion(version: number, clientId: string): void {
    this.version = version;
    this.clientId = clientId;
  }

  private onData(chunk: Buffer): void {
    this.idleSince = Date.now();
    this.decoder.push(chunk);
    for (let i = 0; i < 100_000 && !this.closing; i++) {
      let frame: Frame | undefined;
      try {
        frame = this.decoder.next();
      } catch (err) {
        if (err instanceof FrameError && !err.fatal && err.header) {
          this.ctx.logger.debug({ conn: this.id, err: err.message }, 'bad frame answered with an error');
          this.write(encodeErrorResponse(err.header.op, err.header.correlationId, err, this.version));
          continue;
        }
        this.fail(err);
        return;
      }
      if (!frame) break;
      if (this.inFlight >= this.ctx.maxInFlightPerConnection) {
        this.waiting.push(frame);
        this.socket.pause();
      } else this.dispatch(frame);
    }
  }

  private dispatch(frame: Frame): void {
    let op: OpName;
    let body: unknown;
    try {
      const msg = decodeRequest(frame);
      op = msg.op;
      body = msg.body;
    } catch (err) {
      this.ctx.onRequest?.(opLabel(frame.op), outcomeOf(err), 0);
      this.write(encodeErrorResponse(frame.op, frame.correlationId, err, this.version));
      return;
    }
    if (
      op === 'PUBLISH' &&
      this.asyncPublishes === 0 &&
      this.publishNow(frame.correlationId, body as PublishRequest)
    )
      return;
    if (op === 'PUBLISH') this.asyncPublishes++;
    this.inFlight++;
    this.ctx.onInFlight?.(1);
    const started = process.hrtime.bigint();
    const correlationId = frame.correlationId;
    handleRequest(op, body, this, this.ctx)
      .then(
        (response) => {
          this.ctx.onRequest?.(op, 'ok', Number(process.hrtime.bigint() - started) / 1e9);
          if (response !== undefined)
            this.write(encodeResponse(op as ResponseOp, correlationId, response as never, this.version));
        },
        (err: unknown) => {
          this.ctx.onRequest?.(op, outcomeOf(err), Number(process.hrtime.bigint() - started) / 1e9);
          if (!isGregorError(err))
            this.ctx.logger.error({ err, op, conn: this.id }, 'request failed unexpectedly');
          this.write(encodeErrorResponse(op, correlationId, err, this.version));
        },
      )
      .finally(() => {
        if (op === 'PUBLISH') this.asyncPublishes--;
        this.inFlight--;
        this.ctx.onInFlight?.(-1);
        this.idleSince = Date.now();
        while (
          this.waiting.length > 0 &&
          this.inFlight < this.ctx.maxInFlightPerConnection &&
          !this.closing
        ) {
          this.dispatch(this.waiting.shift()!);
        }
        this.maybeResume();
        if (this.inFlight === 0) for (const w of this.settledWaiters.splice(0)) w();
      });
  }

  /**
   * Answers a PUBLISH to an existing ephemeral topic on this tick (request-handlers publishNow);
   * false leaves it to the general path. Only taken while no earlier PUBLISH of this connection
   * is still in the general path, so a publisher's messages keep their order.
   */
  private publishNow(correlationId: number, body: PublishRequest): boolean {
    const started = performance.now();
    let subscribers: number | undefined;
    try {
      subscribers = publishNow(body, this.ctx);
    } catch (err) {
      this.ctx.onRequest?.('PUBLISH', outcomeOf(err), (performance.now() - started) / 1000);
      if (!isGregorError(err))
        this.ctx.logger.error({ err, op: 'PUBLISH', conn: this.id }, 'request failed unexpectedly');
      this.write(encodeErrorResponse('PUBLISH', correlationId, err, this.version));
      return true;
    }
    if (subscribers === undefined) return false;
    this.ctx.onRequest?.('PUBLISH', 'ok', (performance.now() - started) / 1000);
    if (body.acks !== 0) this.write(encodeResponse('PUBLISH', correlationId, { subscribers }, this.version));
    return true;
  }

  private maybeResume(): void {
    if (this.closing) return;
    if (
      this.waiting.length === 0 &&
      this.socket.writableLength < WRITE_HIGH_WATER_BYTES &&
      this.socket.isPaused()
    ) {
      this.socket.resume();
    }
  }

  /**
   * Writes a frame's buffers; pauses reading when the client falls behind. Every frame written
   * during one tick leaves in a single writev: a chunk of N PUBLISH requests (or a forwarded run
   * of batches) fans out into N DELIVERY frames, and one write syscall per frame made a broker
   * that had fallen behind (a GC pause, a busy CPU) slower to catch up than the work itself. The
   * cork is released on process.nextTick, before the event loop moves on, so nothing waits for a
   * timer or the next I/O.
   */
  write(parts: Buffer[]): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corkedThisTick) {
      this.corkedThisTick = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corkedThisTick = false;
        this.socket.uncork();
      });
    }
    for (const p of parts) this.socket.write(p);
    if (this.socket.writableLength >= WRITE_HIGH_WATER_BYTES) this.socket.pause();
  }

  private congested(): boolean {
    return this.socket.writableLength >= WRITE_HIGH_WATER_BYTES;
  }

  private onDrain(): void {
    for (const fn of this.drainWaiters.splice(0)) fn();
    this.maybeResume();
  }

  private sink(subscriptionId: number): DeliverySink {
    return {
      push: (partition, records, count) => {
        // Subscriptions bypass BrokerService.fetch, so their deliveries are counted here.
        this.ctx.onDelivered?.(this.subTopic.get(subscriptionId) ?? '', records.length, count);
        const hw = this.ctx.service.topics.ephemeral(this.subTopic.get(subscriptionId) ?? '')
          ? -1
          : this.highWatermark(subscriptionId, partition);
        this.write(
          encodePush(
            'DELIVERY',
            { subscriptionId, partition, highWatermark: hw, errorCode: 0, errorMessage: null, records },
            this.version,
          ),
        );
      },
      congested: () => this.congested(),
      onDrain: (fn) => this.drainWaiters.push(fn),
    };
  }

  private readonly subTopic = new Map<number, string>();

  private highWatermark(subscriptionId: number, partition: number): number {
    try {
      return this.ctx.service.topics.partition(this.subTopic.get(subscriptionId)!, partition).endOffset;
    } catch {
      return -1;
    }
  }

  /** Starts a live subscription (SUBSCRIBE). */
  async subscribe(req: SubscribeRequest): Promise<SubscribeResponse> {
    if (this.subs.has(req.subscriptionId)) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `subscription id ${req.subscriptionId} is already in use on this connection`,
      );
    }
    if (this.subs.size >= MAX_SUBSCRIPTIONS) {
      throw new GregorError(
        'INVALID_ARGUMENT',
        `a connection may hold at most ${MAX_SUBSCRIPTIONS} subscriptions`,
      );
    }
    const topics = this.ctx.service.topics;
    const def = topics.definition(req.topic);
    const wanted = req.partitions ?? Array.from({ length: def.partitions }, (_, i) => i);
    const eph = topics.ephemeral(req.topic);
    this.subTopic.set(req.subscriptionId, req.topic);
    const credit: Credit = { messages: req.credit.messages, bytes: req.credit.bytes };
    if (eph) {
      for (const p of wanted) if (p >= def.partitions) topics.partition(req.topic, p);
      const sub = new EphemeralSubscription(
        req.subscriptionId,
        eph,
        req.partitions ?? undefined,
        this.sink(req.subscriptionId),
      );
      sub.grant(credit);
      this.subs.set(req.subscriptionId, sub);
      return {
        subscriptionId: req.subscriptionId,
        partitions: wanted.map((partition) => ({ partition, startOffset: -1 })),
      };
    }
    const parts = await Promise.all(
      wanted.map(async (index) => {
        const partition = topics.partition(req.topic, index);
        const s = req.start;
        let nextOffset: number;
        if (s.kind === 'offset')
          nextOffset = Math.min(Math.max(s.offset, partition.startOffset), partition.endOffset);
        else if (s.kind === 'timestamp')
          nextOffset = await this.ctx.service.listOffset(req.topic, index, { timestamp: s.timestampMs });
        else nextOffset = await this.ctx.service.listOffset(req.topic, index, s.kind);
        return { partition, nextOffset };
      }),
    );
    if (this.closing) throw new GregorError('CONNECTION_CLOSED');
    const sub = new LogSubscription(
      req.subscriptionId,
      parts,
      this.sink(req.subscriptionId),
      this.ctx.logger,
    );
    this.subs.set(req.subscriptionId, sub);
    const response = {
      subscriptionId: req.subscriptionId,
      partitions: parts.map((p) => ({ partition: p.partition.index, startOffset: p.nextOffset })),
    };
    // Grant after the response is queued so the client sees SUBSCRIBE's answer before deliveries.
    queueMicrotask(() => sub.grant(credit));
    return response;
  }

  unsubscribe(id: number): void {
    const sub = this.subs.get(id);
    if (!sub) throw new GregorError('INVALID_ARGUMENT', `no subscription ${id} on this connection`);
    sub.close();
    this.subs.delete(id);
    this.subTopic.delete(id);
  }

  grant(id: number, credit: Partial<Credit>): void {
    const sub = this.subs.get(id);
    if (!sub) throw new GregorError('INVALID_ARGUMENT', `no subscription ${id} on this connection`);
    sub.grant(credit);
  }

  /** Closes the connection after telling the client why (fatal frame errors, shutdown). */
  fail(err: unknown): void {
    if (this.closing) return;
    this.ctx.logger.info(
      { conn: this.id, clientId: this.clientId, reason: err instanceof Error ? err.message : String(err) },
      'closing connection',
    );
    this.write(encodeConnectionError(err, this.version));
    this.shutdown();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Stops reading new requests and resolves once the in-flight ones have been answered. */
  async drain(timeoutMs: number): Promise<void> {
    this.socket.pause();
    this.waiting.length = 0;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.settledWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private shutdown(): void {
    this.closing = true;
    this.abort.abort();
    for (const s of this.subs.values()) s.close();
    this.subs.clear();
    this.waiting.length = 0;
  }

  private onClose(): void {
    this.shutdown();
    for (const fn of this.drainWaiters.splice(0)) fn();
    for (const w of this.settledWaiters.splice(0)) w();
  }

  /** ms since the last request arrived or finished. */
  get idleMs(): number {
    return Date.now() - this.idleSince;
  }
}

/** The metrics outcome of a failed request: the error code the client is sent. */
function outcomeOf(err: unknown): string {
  return isGregorError(err) ? err.code : 'UNKNOWN';
}

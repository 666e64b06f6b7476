import { connect, type Socket } from 'node:net';
import {
  decodePush,
  decodeResponse,
  encodeRequest,
  type Frame,
  FrameDecoder,
  frameKind,
  type PushMessage,
  type RequestInput,
  type RequestOp,
  type ResponseMessage,
} from '../../src/protocol/index.js';

/**
 * A bare protocol client for server tests: sends frames, collects responses by correlation id and
 * pushes in order. Deliberately independent of the SDK so server tests do not test the SDK.
 */
export class RawClient {
  private readonly decoder = new FrameDecoder();
  private readonly waiters = new Map<number, (r: ResponseMessage) => void>();
  readonly pushes: PushMessage[] = [];
  private nextId = 1;
  closed = false;
  private pushWaiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let f: Frame | undefined = this.decoder.next(); f; f = this.decoder.next()) {
        if (frameKind(f.flags) === 'push') {
          this.pushes.push(decodePush(f));
          for (const w of this.pushWaiters.splice(0)) w();
        } else {
          const r = decodeResponse(f);
          this.waiters.get(r.correlationId)?.(r);
          this.waiters.delete(r.correlationId);
        }
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.pushWaiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Sends a request and resolves with its response (success or error). */
  request<K extends RequestOp>(op: K, body: RequestInput<K>, timeoutMs = 10_000): Promise<ResponseMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${op} ${id}: no response within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      for (const b of encodeRequest(op, id, body)) this.socket.write(b);
    });
  }

  /** Sends a request that gets no answer (acks 0, CREDIT). */
  send<K extends RequestOp>(op: K, body: RequestInput<K>): void {
    for (const b of encodeRequest(op, this.nextId++, body)) this.socket.write(b);
  }

  /** Waits until `pred` holds over the pushes received so far, or the deadline passes. */
  async waitForPushes(pred: (p: PushMessage[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.pushes)) {
      if (this.closed || Date.now() > deadline)
        throw new Error(`condition on ${this.pushes.length} pushes not met`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.pushWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

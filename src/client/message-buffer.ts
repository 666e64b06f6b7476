import type { Message } from './message.js';

/** A run of messages handed over together; `onConsumed` runs when the app took the last one. */
export interface Chunk {
  messages: Message[];
  onConsumed?: () => void;
}

/**
 * The hand-over point between a consumer's network side (fetch loop or subscription pushes) and
 * the application's `for await`. Chunks keep their arrival order, so each partition's messages
 * come out in offset order. The network side bounds how much it puts here (credit windows or
 * fetching only while `bufferedMessages` is low), so this never grows without limit.
 */
export class MessageBuffer {
  private readonly chunks: Chunk[] = [];
  private first = 0;
  private pos = 0;
  private count = 0;
  private waiter: { resolve(r: IteratorResult<Message>): void; reject(e: Error): void } | null = null;
  private error: Error | null = null;
  private ended = false;
  private readonly spaceWaiters: (() => void)[] = [];

  /** Messages waiting to be taken. */
  get bufferedMessages(): number {
    return this.count;
  }

  /** True once ended or failed. */
  get finished(): boolean {
    return this.ended || this.error !== null;
  }

  /** Adds a chunk (an empty one just runs its callback). */
  push(chunk: Chunk): void {
    if (this.finished) return;
    if (chunk.messages.length === 0) {
      chunk.onConsumed?.();
      return;
    }
    this.chunks.push(chunk);
    this.count += chunk.messages.length;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: this.take()!, done: false });
    }
  }

  /** Ends the stream with an error: buffered messages are dropped and `next()` rejects with it. */
  fail(err: Error): void {
    if (this.finished) return;
    this.error = err;
    this.clear();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
    this.wakeSpace();
  }

  /** Ends the stream normally: pending and later `next()` calls resolve done. */
  end(): void {
    if (this.finished) return;
    this.ended = true;
    this.clear();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
    }
    this.wakeSpace();
  }

  /** The next message, waiting for one if none is buffered. */
  next(): Promise<IteratorResult<Message>> {
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    const m = this.take();
    if (m) return Promise.resolve({ value: m, done: false });
    if (this.waiter) return Promise.reject(new Error('next() called again before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Resolves once fewer than `limit` messages are buffered (or the stream finished). */
  waitForSpace(limit: number): Promise<void> | undefined {
    if (this.count < limit || this.finished) return undefined;
    return new Promise<void>((resolve) => this.spaceWaiters.push(resolve)).then(() =>
      this.waitForSpace(limit),
    );
  }

  private take(): Message | undefined {
    const chunk = this.chunks[this.first];
    if (!chunk) return undefined;
    const m = chunk.messages[this.pos++]!;
    this.count--;
    if (this.pos >= chunk.messages.length) {
      this.chunks[this.first] = undefined as unknown as Chunk;
      this.first++;
      this.pos = 0;
      if (this.first === this.chunks.length || this.first > 1024) {
        this.chunks.splice(0, this.first);
        this.first = 0;
      }
      chunk.onConsumed?.();
      this.wakeSpace();
    }
    return m;
  }

  private wakeSpace(): void {
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private clear(): void {
    this.chunks.length = 0;
    this.first = 0;
    this.pos = 0;
    this.count = 0;
  }
}

/** A live subscriber of an ephemeral topic. `deliver` returns false when it had to drop the batch. */
export interface EphemeralSubscriber {
  /** Partitions this subscriber wants; undefined = all. */
  partitions?: ReadonlySet<number>;
  deliver(partition: number, batch: Buffer): boolean;
}

/**
 * An ephemeral (non-persistent) topic: batches are handed to the subscribers connected right now
 * and then forgotten. At-most-once, like NATS core: a subscriber without room loses the batch
 * rather than growing broker memory.
 */
export class EphemeralTopic {
  private readonly subscribers = new Set<EphemeralSubscriber>();
  /** Batches published since start (for metrics). */
  published = 0;
  dropped = 0;

  constructor(
    readonly name: string,
    readonly partitions: number,
  ) {}

  subscribe(sub: EphemeralSubscriber): () => void {
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Fans a validated batch out to every interested subscriber; returns how many got it. */
  publish(partition: number, batch: Buffer): number {
    this.published++;
    let delivered = 0;
    for (const s of this.subscribers) {
      if (s.partitions && !s.partitions.has(partition)) continue;
      if (s.deliver(partition, batch)) delivered++;
      else this.dropped++;
    }
    return delivered;
  }

  close(): void {
    this.subscribers.clear();
  }
}

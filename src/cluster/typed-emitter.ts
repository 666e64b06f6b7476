/**
 * A minimal typed event emitter for the cluster modules. Node's EventEmitter would do, but a
 * listener that throws must not break gossip bookkeeping, and events here are few and synchronous.
 */

// biome-ignore lint/suspicious/noExplicitAny: listener signatures vary per event map.
type AnyListener = (...args: any[]) => void;

/** Emits events of the map `E` (event name -> listener signature). */
export class TypedEmitter<E extends { [K in keyof E]: AnyListener }> {
  private readonly listeners = new Map<keyof E, Set<AnyListener>>();
  /** Called with the error when a listener throws; defaults to ignoring it. */
  onListenerError: (err: unknown, event: keyof E) => void = () => {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof E>(event: K, listener: E[K]): () => void {
    const off = this.on(event, ((...args: unknown[]) => {
      off();
      listener(...args);
    }) as E[K]);
    return off;
  }

  /** Calls every listener of `event` in order of registration. */
  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(...args);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }

  /** Number of listeners of `event`. */
  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}

// A minimal typed event emitter: Node's EventEmitter types its events as
// `any[]`, which the project forbids, and we need only on/once/emit.

export type Listener<T> = (payload: T) => void;

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /**
   * @param onListenerError where an exception thrown by a listener goes; it
   * must not escape into the code that emitted (e.g. the MI read loop).
   */
  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  /** Subscribes; the returned function unsubscribes. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (e) {
        this.onListenerError(e);
      }
    }
  }
}

function reportListenerError(error: unknown): void {
  // stderr, not stdout: a debug adapter's stdout carries the protocol.
  process.emitWarning(
    `allocs MI listener threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
}

// What a hosted method learns about its caller, and how a wait of this process on one of its
// own objects holds the event loop. Host side (src/remote/host.ts builds the contexts).

/** What a hosted method learns about its caller (passed first when registered with `context: true`). */
export interface CallContext {
  /** The caller's connection: 0 for a call made inside the host's own process. */
  readonly connection: number;
  /**
   * Aborted when the caller's connection closes or the caller cancels this call. A method
   * that waits must stop waiting then, and must not hand anything over.
   */
  readonly signal: AbortSignal;
  /**
   * Run `fn` once when the caller's connection closes (its process died or dropped us).
   * Returns a function that unregisters it. Never runs for in-process calls.
   */
  onClose(fn: () => void): () => void;
  /**
   * A method that is about to wait calls this and releases what it returns when the wait
   * ends. For a call made inside the host's own process (`await q.get()` on a queue this
   * process created), it keeps the process alive while the wait lasts and another process
   * could still end it: one is connected to this host, or a handle of one of its objects is
   * on its way to one (a transit lease). An `await` on a wait nobody can end does not pin
   * the event loop. For a remote caller it does nothing: the caller's own connection keeps
   * the caller alive while it waits for the reply.
   */
  keepAlive(): () => void;
}

/**
 * Waits of this process on its own objects (CallContext.keepAlive of a local call), and what
 * holds the event loop for them: a ref'd interval doing nothing, alive while such waits are
 * pending and `reachable()` says another process could still end them (the host has an open
 * connection or an outstanding lease). The host calls `update()` wherever one of those changes.
 */
export class LocalWaits {
  readonly #reachable: () => boolean;
  #count = 0;
  #keeper: NodeTimeout | null = null;

  constructor(reachable: () => boolean) {
    this.#reachable = reachable;
  }

  /** CallContext.keepAlive of a local call: hold until the returned function is called. */
  readonly hold = (): (() => void) => {
    this.#count++;
    this.update();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#count--;
      this.update();
    };
  };

  update(): void {
    if (this.#count === 0 && this.#keeper === null) return;
    const want = this.#count > 0 && this.#reachable();
    if (want && this.#keeper === null) this.#keeper = setInterval(noop, 1 << 30);
    else if (!want && this.#keeper !== null) {
      clearInterval(this.#keeper);
      this.#keeper = null;
    }
  }
}

const noop = (): void => {};

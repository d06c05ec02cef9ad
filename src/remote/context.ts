// What a hosted method learns about its caller, and how a wait of this process on one of its
// own objects holds the event loop. Host side (src/remote/host.ts builds the contexts).

import { warn } from '../diagnostics.ts';

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
  keepAlive(what?: string): () => void;
}

/**
 * Waits of this process on its own objects (CallContext.keepAlive of a local call), and what
 * holds the event loop for them: a ref'd interval doing nothing, alive while such waits are
 * pending and `reachable()` says another process could still end them (the host has an open
 * connection or an outstanding lease). The host calls `update()` wherever one of those changes.
 *
 * A wait nobody can end does not pin the program: its event loop runs dry and Node ends it
 * (an ESM program with exit code 13, "unsettled top-level await"; a CommonJS one with 0, the
 * code after the await never running). So that such an ending is never silent, a
 * 'beforeExit' listener names the calls still waiting (warning MP_STRANDED_WAIT).
 */
export class LocalWaits {
  readonly #reachable: () => boolean;
  /** What is waiting, by call ('queue.get()' …), and how many of each. */
  readonly #waiting = new Map<string, number>();
  #count = 0;
  #keeper: NodeTimeout | null = null;

  constructor(reachable: () => boolean) {
    this.#reachable = reachable;
  }

  /** CallContext.keepAlive of a local call: hold until the returned function is called. */
  readonly hold = (what = 'a wait'): (() => void) => {
    this.#count++;
    this.#waiting.set(what, (this.#waiting.get(what) ?? 0) + 1);
    watchStranded(this);
    this.update();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#count--;
      const n = this.#waiting.get(what)! - 1;
      if (n === 0) this.#waiting.delete(what);
      else this.#waiting.set(what, n);
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

  /** The calls waiting now, as 'queue.get() (2)'. */
  describe(): string[] {
    return [...this.#waiting].map(([what, n]) => (n > 1 ? `${what} (${n})` : what));
  }
}

const noop = (): void => {};

/** Every LocalWaits that ever held a wait; checked when the event loop runs dry. */
const watched = new Set<WeakRef<LocalWaits>>();
let listening = false;
let warned = false;

function watchStranded(waits: LocalWaits): void {
  if (watched.size === 0 || ![...watched].some((r) => r.deref() === waits)) watched.add(new WeakRef(waits));
  if (listening) return;
  listening = true;
  process.on('beforeExit', () => {
    if (warned) return;
    const stranded: string[] = [];
    for (const ref of watched) stranded.push(...(ref.deref()?.describe() ?? []));
    if (stranded.length === 0) return;
    warned = true;
    warn(
      'MP_STRANDED_WAIT',
      `multiproc (pid ${process.pid}): the program has nothing left to do but ${stranded.join(', ')} on objects of this process, ` +
        'and no other process can reach them any more (none is connected, no handle of them is on its way), so the await can never settle ' +
        '(an ES module then ends with exit code 13). Start the process that should answer before awaiting, or give the wait a timeout.',
    );
  });
}

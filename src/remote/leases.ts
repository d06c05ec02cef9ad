// Transit leases of a host's objects. Host side: a Host owns one Leases.
//
// A lease keeps an object alive while its handle travels to another process (taken when the
// handle is serialized, claimed when the receiver takes a reference, or expired). Leases cost
// no timer each: a lease is an expiry time, leases of one object expiring in the same step
// (a second by default) share one record with a count, and one sweep timer per host runs
// while any lease is outstanding. So what a peer sending 'lease' messages makes the host hold
// is bounded by the number of objects (times timeout / step), not by the messages.

/** Leases of one object that expire at the same step: one record, however many. */
interface Record {
  /** performance.now() time at which these leases end. */
  readonly expires: number;
  count: number;
}

/** What Leases keeps on each object it tracks (the Host's entry carries it). */
export interface Leased {
  /** Transit leases, oldest first (expiry times only grow: the timeout is fixed per host). */
  readonly leases: Record[];
  /** Sum of the counts in `leases`. */
  leased: number;
}

/** The leases of one host's objects. */
export class Leases<E extends Leased> {
  readonly #timeout: number;
  readonly #step: number;
  readonly #onExpired: (entry: E) => void;
  readonly #onChange: () => void;
  /** Objects with outstanding leases: what the sweep looks at. */
  readonly #leased = new Set<E>();
  #sweeper: NodeTimeout | null = null;

  /**
   * @param timeout How long a lease lasts, ms.
   * @param onExpired Called for an object whose leases just ended (it may be released now).
   * @param onChange Called when whether any lease is outstanding may have changed.
   */
  constructor(timeout: number, onExpired: (entry: E) => void, onChange: () => void) {
    this.#timeout = timeout;
    this.#step = Math.min(1000, Math.max(10, Math.floor(timeout / 10)));
    this.#onExpired = onExpired;
    this.#onChange = onChange;
  }

  /** Some object has an outstanding lease. */
  get any(): boolean {
    return this.#leased.size > 0;
  }

  /**
   * One more lease on `entry`, ending `timeout` from now (rounded up to the step): counted
   * into the newest record when it ends at the same step, so a burst of leases is one
   * record. The sweep starts with the first outstanding lease.
   */
  add(entry: E): void {
    const step = this.#step;
    const expires = Math.ceil((performance.now() + this.#timeout) / step) * step;
    const last = entry.leases[entry.leases.length - 1];
    if (last !== undefined && last.expires === expires) last.count++;
    else entry.leases.push({ expires, count: 1 });
    entry.leased++;
    this.#leased.add(entry);
    if (this.#sweeper === null) {
      this.#sweeper = setInterval(() => this.#sweep(), step);
      // A lease is bookkeeping: it must never keep the host process alive.
      this.#sweeper.unref();
    }
    this.#onChange();
  }

  /** A process claimed a lease of `entry` (it holds a reference now): the oldest one goes. */
  claim(entry: E): void {
    const first = entry.leases[0];
    if (first === undefined) return;
    if (--first.count === 0) entry.leases.shift();
    if (--entry.leased === 0) this.#leased.delete(entry);
    this.#onChange();
  }

  /** Forget `entry`'s leases (it was released). */
  drop(entry: E): void {
    entry.leases.length = 0;
    entry.leased = 0;
    this.#leased.delete(entry);
  }

  /** Stop sweeping (the host closed). */
  stop(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  /** End the leases whose time has come; stop sweeping when none is left. */
  #sweep(): void {
    const now = performance.now();
    for (const entry of this.#leased) {
      let ended = false;
      while (entry.leases.length > 0 && entry.leases[0]!.expires <= now) {
        entry.leased -= entry.leases.shift()!.count;
        ended = true;
      }
      if (entry.leased === 0) this.#leased.delete(entry);
      if (ended) this.#onExpired(entry);
    }
    if (this.#leased.size === 0) this.stop();
    this.#onChange();
  }
}

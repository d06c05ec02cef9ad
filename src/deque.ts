// A double-ended queue on a ring buffer. Runs on every side; imports nothing.
//
// Used where a FIFO lives as long as its owner and must not grow with the number of items
// that ever passed through it: a queue's segments (src/queue/), the pool engine's batch queue
// (src/process/engine/engine.ts) and a worker's inbox (src/process/child.ts). An array used
// as a queue either shifts (O(n) per item once it is long) or keeps a moving head index and
// one slot per item until it is fully drained, which a busy long-lived owner never is. Here
// the storage is as large as the most items held at once, whatever went through.

/** A double-ended queue on a ring buffer: O(1) push, unshift, shift; O(n) removal inside. */
export class Deque<T> {
  /** The ring; its length is a power of two, so `& #mask` wraps an index. */
  #items: (T | undefined)[] = new Array(16);
  #mask = 15;
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** Double the ring, moving the items to its start in order. */
  #grow(): void {
    const old = this.#items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }

  /** Add `value` at the back. */
  push(value: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = value;
    this.#length++;
  }

  /** Add `value` at the front. */
  unshift(value: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = value;
    this.#length++;
  }

  /** Remove and return the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const value = this.#items[this.#head];
    // The slot is cleared so that the ring holds no reference to an item it gave away.
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return value;
  }

  /** The front item, or undefined when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** The item `index` places from the front (0 is the front), or undefined outside 0..length-1. */
  at(index: number): T | undefined {
    if (!(index >= 0 && index < this.#length)) return undefined;
    return this.#items[(this.#head + index) & this.#mask];
  }

  /** Index from the front of the first item `predicate` accepts, or -1. */
  findIndex(predicate: (value: T) => boolean): number {
    for (let i = 0; i < this.#length; i++) if (predicate(this.#items[(this.#head + i) & this.#mask] as T)) return i;
    return -1;
  }

  /**
   * Remove and return the item `index` places from the front (undefined outside
   * 0..length-1). The items behind it move up one place: O(length - index).
   */
  removeAt(index: number): T | undefined {
    if (!(index >= 0 && index < this.#length)) return undefined;
    if (index === 0) return this.shift();
    const items = this.#items;
    const mask = this.#mask;
    const value = items[(this.#head + index) & mask];
    for (let i = index; i < this.#length - 1; i++) items[(this.#head + i) & mask] = items[(this.#head + i + 1) & mask];
    this.#length--;
    items[(this.#head + this.#length) & mask] = undefined;
    return value;
  }

  /** Remove every item and give the storage back. */
  clear(): void {
    this.#items = new Array(16);
    this.#mask = 15;
    this.#head = 0;
    this.#length = 0;
  }
}

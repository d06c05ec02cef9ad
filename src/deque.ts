// A double-ended queue on a ring buffer. Runs on every side; imports nothing.
//
// Used where a FIFO lives as long as its owner and must not grow with the number of items
// that ever passed through it: a queue's segments (src/queue/queue.ts) and the pool engine's
// batch queue (src/process/engine.ts). An array used as a queue with a moving head index
// keeps one slot per item until it is fully drained, which a busy long-lived owner never is.
// Here the storage is as large as the most items held at once, whatever went through.

/** A double-ended queue on a ring buffer: O(1) push, unshift, shift. */
export class Deque<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  #grow(): void {
    const next = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = next;
    this.#head = 0;
  }

  push(value: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) % this.#items.length] = value;
    this.#length++;
  }

  unshift(value: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1 + this.#items.length) % this.#items.length;
    this.#items[this.#head] = value;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const value = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#length--;
    return value;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  clear(): void {
    this.#items = new Array(16);
    this.#head = 0;
    this.#length = 0;
  }
}

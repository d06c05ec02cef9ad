// Small helpers every side of the library uses: how a value is named in a message, the
// iterable and thenable tests, and the keep-alive timer. Runs on every side (parent, child,
// host, manager server); imports nothing, so any module may use it.

/**
 * A value as an error message shows it after "got": strings quoted (cut at 40 characters),
 * numbers, booleans, bigints and symbols as written, functions by name, arrays by length,
 * other objects by class. Never throws, whatever the value (a Proxy, a revoked one).
 *
 * @example
 * describe('abc');       // '"abc"'
 * describe(NaN);         // 'NaN'
 * describe([1, 2]);      // 'an array of length 2'
 * describe(new Map());   // 'an object (Map)'
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return `function ${value.name || '(anonymous)'}`;
  }
  if (value === null) return 'null';
  try {
    if (Array.isArray(value)) return `an array of length ${value.length}`;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null) return 'an object (null prototype)';
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function' && ctor.name) return `an object (${ctor.name})`;
    return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  } catch {
    // A revoked Proxy throws on every inspection.
    return 'an object';
  }
}

/**
 * A key as a message shows it, in full: strings quoted, bigints with their `n`, anything else
 * as String() gives it. For a missing dict key (KeyError) or a Map entry in a path (`.get("k")`).
 */
export function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'bigint') return `${key}n`;
  return String(key);
}

/** How a task function is named in messages: `pool.map(square)`; a non-function by its type. */
export function nameOf(fn: unknown): string {
  return typeof fn === 'function' ? fn.name || 'anonymous' : typeof fn;
}

/** Has `value` a `[Symbol.iterator]` method (array, Set, Map, generator, string object…)? */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** Has `value` a `[Symbol.asyncIterator]` method (async generator, readable stream…)? */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Is `value` a promise or promise-like (an object or function with a `then` method)? */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Resolve after the event loop has polled for I/O once: what the kernel already holds for
 * this process (a message, a peer's EOF) has then been read. An immediate alone can run
 * before the poll phase (when set from a microtask after it), so two are chained.
 */
export function pollOnce(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Keep the event loop alive until the returned function is called. For a wait that only
 * unref'd handles can end (every socket of a host is unref'd, a daemon process is): without
 * it, a program whose last step awaits such a wait could exit with the await unsettled.
 * Idempotent release.
 */
export function keepAlive(): () => void {
  // About 12 days per turn: the timer only needs to exist, never to fire usefully.
  let timer: NodeTimeout | null = setInterval(() => {}, 1 << 30);
  return () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
}

// Task functions for bench/node/plain.mjs: the same as tasks.ts, as plain JavaScript so that
// workers load them without a TypeScript loader.

/** Python's `noop`. */
export function noop() {
  return null;
}

/** Python's `ident`. */
export function ident(x) {
  return x;
}

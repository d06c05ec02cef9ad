// Task functions for bench/node/runtime.mjs (cases 6 and 8), as plain JavaScript so that
// workers of the compiled build load them without a TypeScript loader.

/** Python's `noop`. */
export function noop() {
  return null;
}

/** Python's `ident`. */
export function ident(x) {
  return x;
}

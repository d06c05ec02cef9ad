// Every message that crosses a process boundary, as typed unions. Runs on every side.
//
// Two channels carry messages:
//   parent <-> child   Node's IPC channel of a forked process (advanced serialization).
//                      ToChild / FromChild below.
//   proxy  <-> host    a framed, authenticated socket (src/remote/link.ts).
//                      ToHost / FromHost below; their byte layout is in src/remote/codec.ts.
// Every IPC message carries `mp: PROTOCOL`: anything else on the IPC channel is a user
// message and passes untouched, and a child of a different multiproc build fails loudly
// instead of misreading a message. A host link says PROTOCOL once, in its handshake greeting
// (a mismatch fails the connection), so its messages carry no brand. Requests carry a
// numeric `id`; replies echo it.
// This module imports nothing from the library but errors.ts (for decodeError).

import { errorClasses, MultiprocError, RemoteError, type MultiprocErrorCode } from './errors.ts';

/** Protocol brand and version; bump the number on any incompatible change. */
export const PROTOCOL = 'multiproc/2' as const;
export type Brand = { mp: typeof PROTOCOL };

// ---------------------------------------------------------------------------------------
// Errors on the wire

/** An error as a plain record: never a live Error object across processes. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** A multiproc error code when the error is one of ours (decoded back into its class). */
  mpCode?: MultiprocErrorCode;
  /** Own enumerable properties (`code`, `errno`, custom fields) that survive cloning. */
  props: Record<string, unknown>;
  cause?: WireError | { value: unknown };
  pid?: number;
}

/** Can `value` cross a process boundary (structured clone)? */
export function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Index of the first value that cannot be cloned, or -1: to name it in a SerializationError. */
export function findUncloneable(values: ArrayLike<unknown>): number {
  for (let i = 0; i < values.length; i++) if (!cloneable(values[i])) return i;
  return -1;
}

/** Where `findClassInstance` found a value whose class would not survive the crossing. */
export interface ClassInstanceFound {
  /**
   * Where it sits below the value searched, in JavaScript syntax: '' (the value itself),
   * '.point', '[3].items[0]', '["a b"]', '.get("key")' (a Map value), '.keys()[2]' (a Map
   * key), '.values()[1]' (a Map value under an object key, or a Set item).
   */
  path: string;
  /** Its class's name; '' for an anonymous class or a prototype without a constructor. */
  className: string;
  /**
   * Why it is refused and the fix, as a clause to follow "cannot be sent to …: ", e.g. "it
   * is an instance of class Point; structured clone would deliver a plain object, losing …".
   */
  reason: string;
}

/**
 * Prototypes of the built-ins that structured clone rebuilds as themselves and that hold no
 * user values to look into (Map, Set, arrays and plain objects are walked instead).
 */
const LEAF_PROTOTYPES: ReadonlySet<unknown> = new Set(
  [
    Date, RegExp, ArrayBuffer, globalThis.SharedArrayBuffer, DataView, Number, String, Boolean, BigInt,
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
    (globalThis as { Float16Array?: Function }).Float16Array,
    (globalThis as unknown as { Buffer?: Function }).Buffer,
  ]
    .filter((c): c is Function => typeof c === 'function')
    .map((c) => c.prototype as unknown),
);

/** Built-in constructors by name, to recognise objects of another realm (a vm context). */
const BUILTIN_NAMES: ReadonlySet<string> = new Set([
  'Object', 'Array', 'Map', 'Set', 'Date', 'RegExp', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Number', 'String', 'Boolean', 'BigInt',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
]);

type Walk = { allow: ((value: object) => boolean) | undefined; seen: Set<object> | null };
/** What a walk found: the class's name and the path to it, innermost segment first. */
type Hit = { className: string; keys: string[] };

/**
 * The first instance of a user class inside `value`, or null: a value that structured clone
 * would turn into a plain object, silently dropping its prototype (methods, getters,
 * `instanceof`) and its `#private` fields. Runs on every side; pure.
 *
 * Allowed, and walked into where they hold values: primitives, plain objects (prototype
 * `Object.prototype` or null), arrays, Map (keys and values), Set. Allowed as they are: Date,
 * RegExp, ArrayBuffer, SharedArrayBuffer, typed arrays, DataView, Buffer, boxed primitives,
 * Error and its subclasses (they cross as errors), the same built-ins of another realm (a
 * `vm` context), and whatever `allow` accepts. Anything else whose prototype is not one of
 * those is reported: a class instance (a user class, a subclass of Array or Map, a Node
 * class such as URL), or an object made with `Object.create(proto)`.
 *
 * Contract for callers: search the value exactly as it will be sent, after
 * `encodeHandles` (src/remote/handle.ts), where Queue, Lock and proxies have become plain
 * Handle records and pass; to search a value before encoding, pass `allow: isShareable`.
 * Functions, symbols and other values that cannot be cloned at all are not this function's
 * business: the clone itself fails on them (see `findUncloneable`). Cycles and shared
 * objects are fine. Cost: one visit per object reached; primitives, and objects with no
 * object inside, allocate nothing. Call it per argument or per item to know which one
 * failed: `path` is relative to `value`. A structure nested deeper than the stack allows is
 * reported as null (the clone then judges it).
 *
 * @example
 * findClassInstance({ at: new Point(1, 2) }); // { path: '.at', className: 'Point', reason: 'it is an instance of class Point; …' }
 */
export function findClassInstance(value: unknown, allow?: (value: object) => boolean): ClassInstanceFound | null {
  if (typeof value !== 'object' || value === null) return null;
  let hit: Hit | null;
  try {
    hit = visit(value, { allow, seen: null });
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
  if (hit === null) return null;
  const what = hit.className === '' ? 'an object with a prototype that is not Object.prototype (an anonymous class, or Object.create)' : `an instance of class ${hit.className}`;
  return {
    path: hit.keys.reverse().join(''),
    className: hit.className,
    reason:
      `it is ${what}; structured clone would deliver a plain object, losing its prototype, methods, getters and #private fields. ` +
      'Send plain data instead: an object literal with the fields needed (or what a toJSON()-style method returns), and rebuild the instance on the other side.',
  };
}

/** Check one object, and what it holds. */
function visit(v: object, walk: Walk): Hit | null {
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return visitObject(v as Record<string, unknown>, walk);
  if (proto === Array.prototype) return visitArray(v as unknown[], walk);
  if (proto === Map.prototype) return visitMap(v as Map<unknown, unknown>, walk);
  if (proto === Set.prototype) return visitSet(v as Set<unknown>, walk);
  if (LEAF_PROTOTYPES.has(proto) || v instanceof Error) return null;
  if (walk.allow?.(v)) return null;
  const foreign = builtinName(proto as object);
  if (foreign !== null) {
    if (foreign === 'Object') return visitObject(v as Record<string, unknown>, walk);
    if (foreign === 'Array' && Array.isArray(v)) return visitArray(v, walk);
    const tag = Object.prototype.toString.call(v);
    if (foreign === 'Map' && tag === '[object Map]') return visitMap(v as Map<unknown, unknown>, walk);
    if (foreign === 'Set' && tag === '[object Set]') return visitSet(v as Set<unknown>, walk);
    return null;
  }
  // An Error of another realm.
  if (Object.prototype.toString.call(v) === '[object Error]') return null;
  const ctor = Object.prototype.hasOwnProperty.call(proto, 'constructor') ? (proto as { constructor: unknown }).constructor : undefined;
  return { className: typeof ctor === 'function' ? ctor.name : '', keys: [] };
}

/**
 * The name of the built-in whose prototype `proto` is, in any realm, or null. A built-in's
 * prototype has its own `constructor`, a native function; a class's constructor is not.
 */
function builtinName(proto: object): string | null {
  const ctor = Object.prototype.hasOwnProperty.call(proto, 'constructor') ? (proto as { constructor: unknown }).constructor : undefined;
  if (typeof ctor !== 'function' || !BUILTIN_NAMES.has(ctor.name)) return null;
  return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor)) ? ctor.name : null;
}

/**
 * Visit child `c` of `parent`. Only a parent holding objects enters `seen` (an object with
 * none cannot be on a cycle), so a walk of flat records allocates nothing.
 */
function child(parent: object, c: object, walk: Walk): Hit | null {
  let seen = walk.seen;
  if (seen === null) seen = walk.seen = new Set();
  seen.add(parent);
  if (seen.has(c)) return null;
  return visit(c, walk);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const INDEX = /^(0|[1-9]\d*)$/;

function visitObject(obj: Record<string, unknown>, walk: Walk): Hit | null {
  for (const key in obj) {
    const c = obj[key];
    if (typeof c !== 'object' || c === null) continue;
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const hit = child(obj, c, walk);
    if (hit !== null) {
      hit.keys.push(Array.isArray(obj) && INDEX.test(key) ? `[${key}]` : IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
      return hit;
    }
  }
  return null;
}

function visitArray(arr: unknown[], walk: Walk): Hit | null {
  // A long array may be sparse (`a[1e9] = x`): its present elements are enumerated instead
  // of counting up to its length.
  if (arr.length > SPARSE_CHECK_LENGTH) return visitObject(arr as unknown as Record<string, unknown>, walk);
  for (let i = 0; i < arr.length; i++) {
    const c = arr[i];
    if (typeof c !== 'object' || c === null) continue;
    const hit = child(arr, c, walk);
    if (hit !== null) {
      hit.keys.push(`[${i}]`);
      return hit;
    }
  }
  return null;
}

const SPARSE_CHECK_LENGTH = 1 << 16;

function visitMap(map: Map<unknown, unknown>, walk: Walk): Hit | null {
  let i = 0;
  for (const [k, c] of map) {
    if (typeof k === 'object' && k !== null) {
      const hit = child(map, k, walk);
      if (hit !== null) {
        hit.keys.push(`.keys()[${i}]`);
        return hit;
      }
    }
    if (typeof c === 'object' && c !== null) {
      const hit = child(map, c, walk);
      if (hit !== null) {
        hit.keys.push(typeof k === 'object' && k !== null ? `.values()[${i}]` : `.get(${describeKey(k)})`);
        return hit;
      }
    }
    i++;
  }
  return null;
}

function visitSet(set: Set<unknown>, walk: Walk): Hit | null {
  let i = 0;
  for (const c of set) {
    if (typeof c === 'object' && c !== null) {
      const hit = child(set, c, walk);
      if (hit !== null) {
        hit.keys.push(`.values()[${i}]`);
        return hit;
      }
    }
    i++;
  }
  return null;
}

function describeKey(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'bigint') return `${k}n`;
  return String(k);
}

/** Turn anything thrown into a WireError (recursively for `cause`, depth-limited). */
export function encodeError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error) && !(typeof err === 'object' && err !== null && 'message' in err && 'name' in err)) {
    return { name: 'Error', message: `a non-Error value was thrown: ${describe(err)}`, props: { thrown: cloneable(err) ? err : String(err) }, pid: process.pid };
  }
  const e = err as Error & Record<string, unknown>;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'cause' || key === 'stack' || key === 'message' || key === 'name') continue;
    const v = e[key];
    props[key] = cloneable(v) ? v : String(v);
  }
  const wire: WireError = { name: String(e.name ?? 'Error'), message: String(e.message ?? ''), stack: typeof e.stack === 'string' ? e.stack : undefined, props, pid: process.pid };
  if (e instanceof MultiprocError) wire.mpCode = e.code;
  if (e.cause !== undefined && depth < 8) {
    wire.cause = e.cause instanceof Error ? encodeError(e.cause, depth + 1) : { value: cloneable(e.cause) ? e.cause : String(e.cause) };
  }
  return wire;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function decodeCause(cause: WireError['cause']): unknown {
  if (cause === undefined) return undefined;
  return 'value' in cause ? cause.value : decodeError(cause);
}

/**
 * Rebuild an error from the wire. multiproc's own errors come back as their class (an
 * `Empty` from a queue host is an `Empty` here); anything else becomes a `RemoteError`
 * carrying the original name, message, stack, own properties and cause.
 */
export function decodeError(wire: WireError): Error {
  const cause = decodeCause(wire.cause);
  if (wire.mpCode && wire.mpCode !== 'MP_REMOTE') {
    const Cls = errorClasses[wire.mpCode] as unknown as new (message: string, init?: unknown) => MultiprocError;
    const err = Object.create(Cls.prototype) as MultiprocError & Record<string, unknown>;
    // Rebuild without running constructors whose signatures differ; copy the facts over.
    const fresh = new MultiprocError(wire.mpCode, wire.message, cause === undefined ? undefined : { cause });
    Object.assign(err, fresh, wire.props);
    Object.defineProperty(err, Symbol.for('multiproc.error'), { value: wire.mpCode, enumerable: false });
    Object.defineProperty(err, 'name', { value: wire.name, enumerable: false, configurable: true, writable: true });
    Object.defineProperty(err, 'message', { value: wire.message, enumerable: false, configurable: true, writable: true });
    err.stack = wire.stack ?? `${wire.name}: ${wire.message}`;
    if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
    return err;
  }
  const err = new RemoteError(wire.message, { remoteName: wire.name, remoteStack: wire.stack, properties: wire.props, pid: wire.pid, cause });
  // Own properties (a custom `code`, `statusCode`…) are also readable on the error itself,
  // so `err.code === 'ENOENT'` style checks keep working; multiproc's `code` wins.
  for (const [k, v] of Object.entries(wire.props)) if (!(k in err)) (err as unknown as Record<string, unknown>)[k] = v;
  return err;
}

// ---------------------------------------------------------------------------------------
// Task references

/** How a child finds a function: by its source text, or by module URL and export name. */
export type FnSpec =
  | { kind: 'source'; source: string; name: string }
  | { kind: 'module'; url: string; exportName: string };

// ---------------------------------------------------------------------------------------
// Shared-object handles

/**
 * The serializable reference to an object hosted by some process (a Queue, a Lock, a
 * manager list). Crosses processes inside arguments; the receiver revives it into a proxy.
 * The `__mpHandle` key is a string, not a symbol, because symbol keys do not survive
 * structured clone.
 */
export interface Handle {
  __mpHandle: typeof PROTOCOL;
  /** What proxy to build: 'queue', 'lock', 'manager.list'… */
  kind: string;
  /** Where the host listens: a unix socket path, or TCP host and port. */
  address: string | { host: string; port: number };
  /** Object id inside that host. */
  id: string;
  /** Hex auth key the host's connections require. */
  authkey: string;
  /** Kind-specific facts (maxsize, duplex…) the proxy needs without a round trip. */
  meta?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// parent -> child (IPC)

/** Numbers packed as raw bytes: read by index, as an array would be. */
export type PackedNumbers = Int32Array | Float64Array;

/** Does `v` survive an Int32Array unchanged? (-0 does not: it would come back as 0.) */
export function isInt32(v: number): boolean {
  return (v | 0) === v && (v !== 0 || 1 / v > 0);
}

export type ToChild = Brand &
  (
    | {
        /** First message: who the child is and what to run before any task. */
        type: 'init';
        name: string;
        role: 'process' | 'worker';
        initializer?: FnSpec;
        initargs?: unknown[];
        /** Arguments contain handles to revive. */
        handles?: boolean;
      }
    | {
        /** Process target: run once, then exit with 0 (or 1 when it throws). */
        type: 'run';
        fn: FnSpec;
        args: unknown[];
        handles?: boolean;
      }
    | {
        /** Make `fn` callable as `key` in later `call` messages (sent once per worker). */
        type: 'define';
        key: number;
        fn: FnSpec;
      }
    | {
        /**
         * Run a batch: for each item call fn(item) (`spread: false`) or fn(...item)
         * (`spread: true`). Items run one after another; async tasks are awaited.
         */
        type: 'call';
        id: number;
        key: number;
        /**
         * Arguments, one per item. A batch of numbers may travel packed: an Int32Array when
         * every one is a 32-bit integer (and none is -0), otherwise a Float64Array.
         */
        items: unknown[] | PackedNumbers;
        spread: boolean;
        handles?: boolean;
      }
    | {
        /**
         * Take back batch `id` if it has not started: it waits in the child's inbox behind
         * the running batch (the parent pipelines up to two per worker). Handled on arrival,
         * not in inbox order, and answered with one 'dropped' unless the batch has finished
         * (its own reply went first). `steal`: the parent wants to run it on an idle worker,
         * which only helps while another batch runs here; a child that is free to start it
         * keeps it.
         */
        type: 'drop';
        id: number;
        steal?: boolean;
      }
  );

// ---------------------------------------------------------------------------------------
// child -> parent (IPC)

export type FromChild = Brand &
  (
    | { /** init finished, initializer (if any) ran. */ type: 'ready'; pid: number }
    | { /** the initializer threw; the child exits after sending this. */ type: 'init-failed'; error: WireError }
    | { /** a batch finished: one value per item. */ type: 'result'; id: number; values: unknown[] }
    | {
        /**
         * A batch finished and every value is a number: 'result' with the values packed
         * (raw bytes on the wire; every JS number, -0 and NaN included, survives a
         * Float64Array; an Int32Array carries 32-bit integers in half the bytes).
         */
        type: 'numbers';
        id: number;
        values: PackedNumbers;
      }
    | {
        /**
         * A batch failed at item `index`: `values` holds results of the items before it.
         * The rest of the batch was not run.
         */
        type: 'error';
        id: number;
        index: number;
        values: unknown[];
        error: WireError;
      }
    | {
        /**
         * The answer to a 'drop' of batch `id`. `taken`: it was removed before it started and
         * will never run. Otherwise it is running (or it was a `steal` the child declined):
         * its own 'result'/'error' reply follows.
         */
        type: 'dropped';
        id: number;
        taken: boolean;
      }
    | { /** the Process target finished or threw (then `error` is set). */ type: 'done'; error?: WireError }
  );

/** True when `m` is one of ours (branded), not a user message on the same channel. */
export function isBranded(m: unknown): m is Brand & { type: string } {
  return typeof m === 'object' && m !== null && (m as { mp?: unknown }).mp === PROTOCOL;
}

/** Thrown for a branded message of another protocol version (a different multiproc build). */
export function checkVersion(m: unknown): void {
  if (typeof m === 'object' && m !== null && typeof (m as { mp?: unknown }).mp === 'string') {
    const mp = (m as { mp: string }).mp;
    if (mp.startsWith('multiproc/') && mp !== PROTOCOL) {
      throw new Error(`multiproc protocol mismatch: this side speaks ${PROTOCOL}, the other ${mp}; both processes must load the same multiproc version`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// proxy -> host and host -> proxy (framed socket). Owned by src/queue/; see host.ts.
//
// After the handshake (src/remote/link.ts) every frame is one v8-serialized message of
// these unions. A proxy calls a method of a hosted object by name; the host replies with the
// value the method returned (or resolved to) or the error it threw. `id` 0 asks for no reply
// (acknowledgements and other one-way notes); any other id is echoed by exactly one reply.
// `handles: true` says the sender found shareable objects in `args` / `value`, so the
// receiver must revive handles there (src/remote/handle.ts); otherwise it skips that walk.

export type ToHost =
  (
    | {
        /** Call `method` of hosted object `obj` with `args`. */
        type: 'call';
        id: number;
        obj: string;
        method: string;
        args: unknown[];
        handles?: boolean;
      }
    | {
        /** The caller gave up on request `id` (its AbortSignal fired): abort the call's signal. */
        type: 'cancel';
        id: number;
      }
    | {
        /**
         * This connection holds one more reference to `obj`. `claim: true` converts one of the
         * object's transit leases (taken when its handle was serialized) into this reference.
         */
        type: 'incref';
        obj: string;
        claim: boolean;
      }
    | { /** This connection drops one reference to `obj`. */ type: 'decref'; obj: string }
    | {
        /**
         * A proxy of `obj` serialized its handle for a third process: keep the object alive
         * (one transit lease) until that process claims it or the lease expires.
         */
        type: 'lease';
        obj: string;
      }
  );

export type FromHost =
  (
    | { /** Request `id` returned `value`. */ type: 'result'; id: number; value: unknown; handles?: boolean }
    | { /** Request `id` failed. */ type: 'error'; id: number; error: WireError }
  );

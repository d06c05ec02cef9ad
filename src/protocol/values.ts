// What may cross a process boundary: structured clone's rules, the class instances it
// would flatten silently, and the one wording of the SerializationError for a value that
// cannot cross. Runs on every side; the checks run where the user calls, so a bad value is a
// SerializationError naming the argument, never a dead worker. Imports only src/errors.ts
// and src/util.ts.

import { SerializationError } from '../errors.ts';
import { describeKey } from '../util.ts';

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

/**
 * What every "cannot be sent" message ends with: what crosses and what does not. One
 * sentence for arguments, items, results and return values alike.
 */
export const CROSSING_RULE =
  'Values cross by structured clone: plain data, Map, Set, Date, typed arrays, Buffers, Errors and multiproc handles (Queue, Lock, manager proxies) do; ' +
  'functions, symbols, sockets and class instances with private state do not.';

/**
 * The SerializationError for a value that structured clone refused (a function, a symbol, a
 * socket…), in the one wording of the library: "`what`: `subject` cannot be sent to
 * `destination` (the clone's complaint). CROSSING_RULE". `argIndex` goes to the error's
 * field; `cause` is the clone's own error.
 *
 * @example
 * unsendable('queue.put()', 'the item', 'another process', err, 0);
 */
export function unsendable(what: string, subject: string, destination: string, cause: unknown, argIndex?: number): SerializationError {
  const complaint = (cause as Error | undefined)?.message ?? String(cause);
  return new SerializationError(`${what}: ${subject} cannot be sent to ${destination} (${complaint}). ${CROSSING_RULE}`, { argIndex, cause });
}

/**
 * `unsendable` for a list whose clone failed as a whole (arguments, a batch of items): names
 * the first value that cannot be cloned by `noun` and its index from `offset` ("argument 1",
 * "input item 3"), or "an argument" when each clones alone (the list failed for another
 * reason); `argIndex` is that index.
 */
export function unsendableAmong(what: string, values: ArrayLike<unknown>, noun: string, destination: string, cause: unknown, offset = 0): SerializationError {
  const i = findUncloneable(values);
  if (i === -1) return unsendable(what, `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`, destination, cause);
  return unsendable(what, `${noun} ${offset + i}`, destination, cause, offset + i);
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

/**
 * The first value of `values` holding a class instance (see findClassInstance, same contract),
 * with its index, or null. A value that is not an object costs one typeof.
 */
export function firstClassInstance(values: ArrayLike<unknown>, allow?: (value: object) => boolean): { index: number; found: ClassInstanceFound } | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'object' || v === null) continue;
    const found = findClassInstance(v, allow);
    if (found) return { index: i, found };
  }
  return null;
}

/**
 * The SerializationError for a class instance that findClassInstance found, in the one
 * wording of the library: "`what`: `subject` (`root` + path) cannot be sent to `destination`:
 * reason", the parenthesis only when the instance sits inside the value.
 *
 * @example
 * classInstanceError('pool.apply(add)', 'argument 1', 'args[1]', found, 'a worker', 1);
 * // pool.apply(add): argument 1 (args[1].at) cannot be sent to a worker: it is an instance of class Point; …
 */
export function classInstanceError(what: string, subject: string, root: string, found: ClassInstanceFound, destination: string, argIndex?: number): SerializationError {
  return new SerializationError(`${what}: ${subject}${found.path ? ` (${root}${found.path})` : ''} cannot be sent to ${destination}: ${found.reason}`, { argIndex });
}

/**
 * Throw the SerializationError of the first argument that cannot cross: a class instance
 * (which would arrive as a plain object) or a value structured clone refuses. For arguments
 * checked once, before anything is sent or forked (Process.start, a pool's initargs):
 * `values` as they will be sent (handles encoded), `list` names them in a path
 * ("args[1].at"), `destination` is where they go ("another process", "the workers").
 */
export function assertSendable(what: string, values: readonly unknown[], destination: string, list = 'args'): void {
  const hit = firstClassInstance(values);
  if (hit) throw classInstanceError(what, `argument ${hit.index}`, `${list}[${hit.index}]`, hit.found, destination, hit.index);
  try {
    structuredClone(values);
  } catch (err) {
    throw unsendableAmong(what, values, 'argument', destination, err);
  }
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


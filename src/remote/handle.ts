// Handles: how a shared object (Queue, Lock, manager proxy…) crosses a process boundary.
// Runs on every side.
//
// Sending side: `encodeHandles(args)` replaces every shareable object found in the value
// (arrays, plain objects, Map and Set, recursively) by its `Handle` record. Receiving side:
// `reviveHandles(value)` replaces every Handle record by a working proxy, built by the
// reviver registered for its `kind`. Queue, sync and manager modules register their revivers
// at import time; src/process/child.ts imports them all, so a child can revive any kind.
//
// Both walks cost a scan of the value, so they are skipped when they cannot find anything:
// the sender only scans once some shareable object exists in this process, and tells the
// receiver (`handles: true` on the message) whether a scan is needed there.

import { dirname, extname, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArg } from '../errors.ts';
import { PROTOCOL, type Handle } from '../protocol/index.ts';
import { moduleFile, ownLibraryRoot } from '../runtime.ts';
import { formatAddress } from './address.ts';

/** Implemented by every object that can be passed to another process as a handle. */
export const toHandle = Symbol.for('multiproc.toHandle');
export interface Shareable {
  [toHandle](): Handle;
}

type Reviver = (handle: Handle) => unknown;
// One table per copy of the library: when a process loads two copies (the ESM and the CJS
// build, or src/ under tsx beside dist/), each revives handles into its own classes, bound
// to its own host and connections. A shared table would let the last copy loaded take over
// the other's handles.
const revivers = new Map<string, Reviver>();
/** The module that registers each kind's reviver, named in the handles this process makes. */
const reviverModules = new Map<string, string>();

/**
 * The root of this copy of the library (src/ under tsx, dist/esm or dist/cjs once built): a
 * handle may make this process import a reviver module only from below it, so a peer cannot
 * name a file of its choosing.
 */
const libraryRoot = ownLibraryRoot();
const libraryExtension = extname(moduleFile());

/**
 * A real dynamic import(). Written through Function because the CommonJS build would
 * otherwise compile `import(url)` into `require(url)`, which cannot load ES modules.
 */
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

const STATE_KEY = Symbol.for('multiproc.handleState');
const state = ((globalThis as Record<symbol, unknown>)[STATE_KEY] ??= { shareables: 0 }) as { shareables: number };

/**
 * Register how to build a proxy for handles of `kind`. Later registrations replace earlier
 * ones. `module` is the file that makes this call (moduleFile() there): handles of `kind`
 * name it, so a process that receives one without having loaded it (a child given a queue
 * or a manager proxy) imports it first (loadRevivers). That is how a child revives every
 * kind without src/process importing src/queue or src/manager: the revivers register
 * themselves.
 */
export function registerReviver(kind: string, reviver: Reviver, module?: string): void {
  revivers.set(kind, reviver);
  if (module !== undefined) reviverModules.set(kind, relative(libraryRoot, module).split(sep).join('/').replace(/\.[cm]?[jt]s$/, ''));
}

/** The module (relative to the library root, without extension) handles of `kind` name for their reviver. */
export function reviverModuleOf(kind: string): string | undefined {
  return reviverModules.get(kind);
}

/**
 * Import the reviver modules that handles inside `value` name and this process has not
 * loaded (see registerReviver). A name that does not resolve inside this copy of the
 * library is ignored: reviving that handle then fails with "no reviver", as before.
 */
export async function loadRevivers(value: unknown): Promise<void> {
  const wanted = new Set<string>();
  walk(
    value,
    (v) => {
      if (!isHandle(v)) return undefined;
      if (!revivers.has(v.kind) && typeof v.reviver === 'string') wanted.add(v.reviver);
      return v;
    },
    new Map(),
  );
  for (const name of wanted) {
    const file = resolve(libraryRoot, `${name}${libraryExtension}`);
    if (!file.startsWith(libraryRoot + sep) || name.includes('..')) continue;
    await importModule(pathToFileURL(file).href);
  }
}

/** reviveHandles, at once when every kind in `value` has its reviver here, else after loading their modules (a promise). */
export function reviveHandlesSoon<T>(value: T): T | Promise<T> {
  let missing = false;
  walk(
    value,
    (v) => {
      if (!isHandle(v)) return undefined;
      if (!revivers.has(v.kind)) missing = true;
      return v;
    },
    new Map(),
  );
  return missing ? reviveHandlesAsync(value) : reviveHandles(value);
}

/** reviveHandles, after loading the reviver modules it needs (see loadRevivers). */
export async function reviveHandlesAsync<T>(value: T): Promise<T> {
  await loadRevivers(value);
  return reviveHandles(value);
}

/** Called by every shareable's constructor (and by revivers) so senders know to scan. */
export function noteShareable(): void {
  state.shareables++;
}

export function isShareable(value: unknown): value is Shareable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Shareable>)[toHandle] === 'function';
}

export function isHandle(value: unknown): value is Handle {
  return typeof value === 'object' && value !== null && (value as { __mpHandle?: unknown }).__mpHandle === PROTOCOL;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Replace shareable objects inside `value` by handles. Returns the value (copied only along
 * the paths that changed) and whether any handle was written.
 */
export function encodeHandles<T>(value: T): { value: T; handles: boolean } {
  if (state.shareables === 0) return { value, handles: false };
  const found = { any: false };
  const out = walk(value, (v) => (isShareable(v) ? ((found.any = true), v[toHandle]()) : undefined), new Map());
  return { value: out as T, handles: found.any };
}

/**
 * Replace handle records inside `value` by proxies. `keep`, when given, is asked first for
 * each handle and may return what to put in its place instead of a proxy (a host keeps the
 * handles it must not connect to as opaque values); undefined means revive it.
 */
export function reviveHandles<T>(value: T, keep?: (handle: Handle) => unknown): T {
  return walk(
    value,
    (v) => {
      if (!isHandle(v)) return undefined;
      const kept = keep?.(v);
      if (kept !== undefined) return kept;
      const reviver = revivers.get(v.kind);
      if (!reviver) throw invalidArg(`received a handle of kind '${v.kind}' but no reviver is registered for it; import the module that defines it`);
      return reviver(v);
    },
    new Map(),
  ) as T;
}

/**
 * Copy-on-write walk: `swap` returns a replacement for a value, or undefined to descend.
 * Only arrays, plain objects, Maps and Sets are descended into; `seen` handles cycles.
 */
function walk(value: unknown, swap: (v: object) => unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  const replaced = swap(value);
  if (replaced !== undefined) {
    seen.set(value, replaced);
    return replaced;
  }
  seen.set(value, value);
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item !== 'object' || item === null) continue;
      const next = walk(item, swap, seen);
      if (next !== item) {
        copy ??= value.slice();
        copy[i] = next;
      }
    }
    if (copy) seen.set(value, copy);
    return copy ?? value;
  }
  if (value instanceof Map) {
    let changed = false;
    const entries: [unknown, unknown][] = [];
    for (const [k, v] of value) {
      const nk = walk(k, swap, seen);
      const nv = walk(v, swap, seen);
      if (nk !== k || nv !== v) changed = true;
      entries.push([nk, nv]);
    }
    const out = changed ? new Map(entries) : value;
    seen.set(value, out);
    return out;
  }
  if (value instanceof Set) {
    let changed = false;
    const items: unknown[] = [];
    for (const v of value) {
      const nv = walk(v, swap, seen);
      if (nv !== v) changed = true;
      items.push(nv);
    }
    const out = changed ? new Set(items) : value;
    seen.set(value, out);
    return out;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | null = null;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const item = obj[key];
    if (typeof item !== 'object' || item === null) continue;
    const next = walk(item, swap, seen);
    if (next !== item) {
      copy ??= { ...obj };
      copy[key] = next;
    }
  }
  if (copy) seen.set(value, copy);
  return copy ?? value;
}

/**
 * A handle that arrived in call arguments but points at a host this process must not connect
 * to on a peer's word (see the header): kept as an opaque value. It is sent on as exactly
 * the handle it was (the process that receives it connects there itself); here it has no
 * methods, and it does not keep its object alive (the sender's transit lease does, for
 * leaseTimeout).
 */
export class ForeignHandle implements Shareable {
  /** The handle as received. */
  readonly handle: Handle;
  constructor(handle: Handle) {
    this.handle = handle;
    noteShareable();
  }
  [toHandle](): Handle {
    return this.handle;
  }
  toString(): string {
    const address = typeof this.handle.address === 'string' || (typeof this.handle.address === 'object' && this.handle.address !== null) ? formatAddress(this.handle.address) : String(this.handle.address);
    return `<ForeignHandle ${String(this.handle.kind)} '${String(this.handle.id)}' at ${address}>`;
  }
}

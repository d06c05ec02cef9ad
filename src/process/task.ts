// Task references: how a function reaches another process. Parent side.
//
// Two ways, as DESIGN.md §2 fixes:
//   by source   a plain function; its source text (`fn.toString()`) is evaluated in the child.
//               It must be self-contained: parameters, globals, require(), await import().
//   by module   tasks(url).name: the child imports the module once and calls the export.
// Both become an FnSpec (src/protocol/child.ts) before they cross.

import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArg, SerializationError } from '../errors.ts';
import type { FnSpec } from '../protocol/index.ts';
import { sourceOrigin } from './origin.ts';

const REF = Symbol.for('multiproc.taskRef');

/** Brand carried by module references (the functions `tasks(url)` hands out). */
export interface TaskRefBrand {
  readonly [REF]: { url: string; exportName: string };
}

/** A function that runs in a worker: sent by source, or a reference from `tasks(url)`. */
export type Task<A extends unknown[] = any[], R = unknown> = (...args: A) => R | Promise<R>;

/** The exports of module `M` that are functions, as typed task references. */
export type TaskModule<M> = {
  readonly [K in keyof M as M[K] extends (...args: any[]) => unknown ? K : never]: M[K] & TaskRefBrand;
};

function toUrl(moduleUrl: string | URL): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl !== 'string' || moduleUrl === '') throw invalidArg('tasks() expects a file URL (new URL("./work.js", import.meta.url)) or an absolute file path');
  if (moduleUrl.startsWith('file:')) return moduleUrl;
  if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href;
  throw invalidArg(
    `tasks() got the relative path ${JSON.stringify(moduleUrl)}; a worker cannot know what it is relative to. ` +
      'Pass new URL("./work.js", import.meta.url) in ESM, or path.join(__dirname, "work.js") in CommonJS.',
  );
}

/**
 * Typed references to the functions a module exports, to run in workers by module rather
 * than by source. The worker imports the module once and calls the export, so the function
 * may use anything in its module (imports, constants, helpers).
 *
 * Python: the pickled-by-name module-level function (`pool.map(work.square, xs)`).
 *
 * @example
 * const work = tasks<typeof import('./work.js')>(new URL('./work.js', import.meta.url));
 * const squares = await pool.map(work.square, [1, 2, 3]);
 */
export function tasks<M>(moduleUrl: string | URL): TaskModule<M> {
  const url = toUrl(moduleUrl);
  const cache = new Map<string, Function>();
  return new Proxy({} as TaskModule<M>, {
    get(_target, prop) {
      if (typeof prop !== 'string') return undefined;
      // `then` must stay undefined, or `await tasks(...)` would treat the object as a thenable.
      if (prop === 'then') return undefined;
      let ref = cache.get(prop);
      if (!ref) {
        const exportName = prop;
        ref = function taskReference(): never {
          throw invalidArg(`tasks(...).${exportName} is a reference to run in a worker (pool.apply(ref, args)); it cannot be called directly`);
        };
        Object.defineProperty(ref, 'name', { value: exportName });
        Object.defineProperty(ref, REF, { value: { url, exportName } });
        cache.set(prop, ref);
      }
      return ref;
    },
  });
}

/** Is `fn` a module reference made by `tasks()`? */
export function isTaskRef(fn: unknown): fn is TaskRefBrand {
  return typeof fn === 'function' && (fn as Partial<TaskRefBrand>)[REF] !== undefined;
}

const specCache = new WeakMap<Function, FnSpec>();

/**
 * The FnSpec for a task. Throws TypeError (MP_INVALID_ARG) for a non-function and
 * SerializationError for a function that cannot be sent by source (native, bound).
 */
export function toFnSpec(fn: unknown, what = 'task'): FnSpec {
  if (typeof fn !== 'function') throw invalidArg(`${what} must be a function or a tasks(url) reference, got ${fn === null ? 'null' : typeof fn}`);
  const cached = specCache.get(fn);
  if (cached) return cached;
  let spec: FnSpec;
  if (isTaskRef(fn)) {
    spec = { kind: 'module', ...fn[REF] };
  } else {
    const text = Function.prototype.toString.call(fn);
    const source = sourceOf(fn, text, what);
    const origin = sourceOrigin(text, source, toFnSpec);
    spec = origin ? { kind: 'source', source, name: fn.name || 'anonymous', origin } : { kind: 'source', source, name: fn.name || 'anonymous' };
  }
  specCache.set(fn, spec);
  return spec;
}

/** The text of `fn` (`text`, its toString) as an expression a worker can evaluate. */
function sourceOf(fn: Function, text: string, what: string): string {
  const name = fn.name || 'anonymous';
  let src = text;
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    const why = name.startsWith('bound ')
      ? 'a bound function has no source to send; send the unbound function and pass the bound values as arguments'
      : 'a built-in function has no source to send; wrap it, e.g. (x) => Math.sqrt(x)';
    throw new SerializationError(`${what} ${name}() cannot be sent to a worker: ${why}`);
  }
  if (/^class\b/.test(src)) throw invalidArg(`${what} ${name} is a class; pass a function (a class cannot be called without new)`);
  // Method shorthand (`{ square(x) { … } }.square`) prints as `square(x) { … }`, which is not
  // an expression; make it one. Getters/setters and computed names are refused.
  if (!/^(async\s+)?(function\b|\(|[\w$]+\s*=>|async\s*\()/.test(src)) {
    const m = /^(async\s+)?(\*\s*)?([\w$]+)\s*\(/.exec(src);
    if (!m) throw new SerializationError(`${what} ${name}() cannot be sent by source (unrecognised form); move it to a module and pass tasks(url).${name}`);
    src = `${m[1] ?? ''}function${m[2] ? '*' : ''} ${m[3]}${src.slice(m[0].length - 1)}`;
  }
  return src;
}

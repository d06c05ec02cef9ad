// The task loader: turns an FnSpec (src/protocol/child.ts) back into a function, in the
// process that runs it. Runs wherever a function sent from another process is called: a
// worker or Process (src/process/child.ts, for tasks, targets, initializers and Process
// subclasses) and the manager server (src/manager/server.ts, for typeid factories). One
// loader, so a function loads the same way, and fails with the same explanation, wherever it
// was sent.
//
//   by source   the text is evaluated as an expression, in a scope that provides `require`
//               (resolving from the working directory) and esbuild's `__name` helper
//   by module   the module is imported (a real import(), also from the CommonJS build) and
//               the export read; a CommonJS module's exports may sit under `default`
//
// TypeScript modules: a child of a parent under tsx whose own entry is compiled JavaScript
// starts without tsx (src/process/spawn.ts hands its flags over instead, runtime.loaders).
// They are registered here, once, in the order node would have, right before the first
// import of a .ts/.mts/.cts/.tsx module; by-source functions and JavaScript modules never
// pay for them.

import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { invalidArg } from '../errors.ts';
import type { FnSpec } from '../protocol/index.ts';
import { runtime } from '../runtime.ts';

/** A loaded function. */
export type LoadedFn = (...args: unknown[]) => unknown;

/**
 * A real dynamic import(). Written through Function because the CommonJS build would
 * otherwise compile `import(url)` into `require(url)`, which cannot load ES modules or file
 * URLs.
 */
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>;

/** `require` for by-source functions: resolves from the working directory, like a script there. */
const taskRequire = nodeModule.createRequire(join(process.cwd(), '[multiproc task]'));

/**
 * esbuild (which tsx uses) rewrites nested named functions and classes as
 * `__name(fn, "fn")`; by-source functions written in .ts files carry those calls, so the
 * evaluation scope provides the helper.
 */
function __name<T>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

/** The name a function goes by in messages: its own name (by source) or its export name. */
export function taskName(spec: FnSpec): string {
  return spec.kind === 'source' ? spec.name : spec.exportName;
}

/**
 * Load the function `spec` names. Throws TypeError (MP_INVALID_ARG) when the source does not
 * evaluate to a function or the module has no such exported function, prefixed with
 * `subject` when given ("the factory of typeid 'counter': …"); whatever evaluating the
 * source or importing the module throws (a SyntaxError, a module that fails at import).
 *
 * Importing a user module runs its top level; while it does, `runtime.importing` is raised,
 * and starting a pool or a process is refused (src/process/spawn.ts): that is what turns an
 * unguarded module into a clear error instead of a fork bomb.
 */
export async function loadFunction(spec: FnSpec, subject?: string): Promise<LoadedFn> {
  const prefix = subject === undefined ? '' : `${subject}: `;
  if (spec.kind === 'source') {
    const factory = new Function('require', '__name', `return (${spec.source}\n);`) as (r: unknown, n: unknown) => unknown;
    const fn = factory(taskRequire, __name);
    if (typeof fn !== 'function') throw invalidArg(`${prefix}the source of ${spec.name}() did not evaluate to a function`);
    return fn as LoadedFn;
  }
  const fn = exportOf(await importTaskModule(spec.url), spec.exportName);
  if (typeof fn !== 'function') {
    throw invalidArg(`${prefix}${spec.url} has no exported function '${spec.exportName}' (found ${typeof fn}); check the export name`);
  }
  return fn as LoadedFn;
}

/** The export `name` of `mod`; a CommonJS module imported from ESM exposes its exports under `default`. */
function exportOf(mod: Record<string, unknown>, name: string): unknown {
  const value = mod[name];
  if (value !== undefined) return value;
  const cjs = mod.default;
  if ((typeof cjs === 'object' || typeof cjs === 'function') && cjs !== null) {
    const inner = (cjs as Record<string, unknown>)[name];
    if (inner !== undefined) return inner;
  }
  // `export default class Worker …`: the default export, when it bears the name.
  if (typeof cjs === 'function' && cjs.name === name) return cjs;
  return undefined;
}

/** A module that needs a TypeScript loader, by its extension. */
const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;

let registering: Promise<void> | null = null;

/** Register the loaders the parent handed over (runtime.loaders), once, as node would have at start. */
function registerDeferredLoaders(): Promise<void> {
  registering ??= (async () => {
    for (const loader of runtime.loaders) {
      if (loader.kind === 'require') taskRequire(loader.specifier);
      else if (loader.kind === 'import') await importModule(loader.specifier);
      // module.register (Node >= 20.6; a namespace import, so that older 20.x still load this file).
      else nodeModule.register(loader.specifier);
    }
  })();
  return registering;
}

/**
 * Import a user's module (a task module, a Process subclass's module), with the deferred
 * TypeScript loaders registered first when it is a TypeScript file. While it imports,
 * `runtime.importing` is raised (see loadFunction). A JavaScript module that imports
 * TypeScript files fails with node's ERR_UNKNOWN_FILE_EXTENSION, explained.
 */
export async function importTaskModule(url: string): Promise<Record<string, unknown>> {
  const deferred = runtime.loaders.length > 0;
  if (deferred && TYPESCRIPT.test(new URL(url).pathname)) await registerDeferredLoaders();
  runtime.importing++;
  try {
    return await importModule(url);
  } catch (err) {
    if (deferred && registering === null && (err as { code?: unknown } | null)?.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new TypeError(
        `${url} imports a TypeScript file, but this worker did not start tsx: a child of a compiled multiproc registers the parent's TypeScript loader only before it imports a TypeScript task module. ` +
          'Name the task by a .ts module, or give every child the loader through the environment (NODE_OPTIONS="--import tsx").',
        { cause: err },
      );
    }
    throw err;
  } finally {
    runtime.importing--;
  }
}

/**
 * Load the class `exportName` of module `url` (a Process subclass, src/process/child.ts).
 * Throws TypeError (MP_INVALID_ARG) saying how to fix it when the module has no such export.
 */
export async function loadClass(url: string, exportName: string, what: string): Promise<Function> {
  const cls = exportOf(await importTaskModule(url), exportName);
  if (typeof cls !== 'function') {
    throw invalidArg(
      `${what}: ${url} has no export named ${exportName} (found ${typeof cls}). A child process finds a Process subclass by the module that defines it and its name, as Python does: ` +
        `export it from that module, at its top level (export class ${exportName} extends Process { … }).`,
    );
  }
  return cls;
}

/** Where a loaded function runs, for `explain`'s message. */
export interface LoadSite {
  /** How the message names the function. @default `${name}()` */
  subject?: string;
  /** The process it was sent to: 'the worker', 'the manager process'. */
  place: string;
  /** What to do instead, given the variable it reads and the function's name. */
  remedy(variable: string, name: string): string;
}

/** Where tasks, Process targets and initializers run. */
export const WORKER_SITE: LoadSite = {
  place: 'the worker',
  remedy: (variable, name) =>
    `Pass \`${variable}\` as an argument (or require/import it inside the function), or move ${name} to a module and pass tasks(url).${name}.`,
};

/**
 * A by-source function that reads a variable of the scope it was written in fails where it
 * runs with "x is not defined": say what happened and how to fix it (a ReferenceError whose
 * cause is the original and whose stack keeps the original frames). Any other error, and any
 * error of a function loaded by module, is returned as it is.
 */
export function explain(err: unknown, spec: FnSpec, site: LoadSite): unknown {
  if (spec.kind !== 'source' || !(err instanceof ReferenceError)) return err;
  const m = /^([\w$]+) is not defined$/.exec(err.message);
  if (!m) return err;
  const variable = m[1]!;
  const better = new ReferenceError(
    `${site.subject ?? `${spec.name}()`} was sent to ${site.place} by source, but reads \`${variable}\` from the scope it was written in, which does not exist in ${site.place}. ` +
      site.remedy(variable, spec.name),
    { cause: err },
  );
  better.stack = `${better.name}: ${better.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return better;
}

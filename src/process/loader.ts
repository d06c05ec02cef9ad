// The task loader: turns an FnSpec (src/protocol/child.ts) back into a function, in the
// process that runs it. Runs wherever a function sent from another process is called: a
// worker or Process (src/process/child.ts, for tasks, targets and initializers) and the
// manager server (src/manager/server.ts, for typeid factories). One loader, so a function
// loads the same way, and fails with the same explanation, wherever it was sent.
//
//   by source   the text is evaluated as an expression, in a scope that provides `require`
//               (resolving from the working directory) and esbuild's `__name` helper
//   by module   the module is imported (a real import(), also from the CommonJS build) and
//               the export read; a CommonJS module's exports may sit under `default`

import { createRequire } from 'node:module';
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
const taskRequire = createRequire(join(process.cwd(), '[multiproc task]'));

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
  runtime.importing++;
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(spec.url);
  } finally {
    runtime.importing--;
  }
  let fn = mod[spec.exportName];
  // A CommonJS module imported from ESM exposes its exports under `default`.
  if (fn === undefined && typeof mod.default === 'object' && mod.default !== null) fn = (mod.default as Record<string, unknown>)[spec.exportName];
  if (typeof fn !== 'function') {
    throw invalidArg(`${prefix}${spec.url} has no exported function '${spec.exportName}' (found ${typeof fn}); check the export name`);
  }
  return fn as LoadedFn;
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

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
//
// Compiled twins: a child of a parent that runs the library from its TypeScript sources
// runs the compiled build instead when it is fresh (src/process/spawn.ts; the 'init'
// message's `sourceRoot` says so). There, a module of the library's sources is imported as
// its compiled twin (the manager server's module needs no loader then), and the deferred
// loaders come with a resolve hook (src/process/twin-hook.ts) that does the same for the
// library's sources a user's TypeScript module imports: one copy of the library per child.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArg, SerializationError } from '../errors.ts';
import type { FnSpec } from '../protocol/index.ts';
import { ownLibraryRoot, runtime } from '../runtime.ts';
import type { TwinRoots } from './twin-hook.ts';

/** A loaded function. */
export type LoadedFn = (...args: unknown[]) => unknown;

/**
 * Set by the bundled child entry (dist/cjs/process/child-bundle.js, written by
 * src/build/bundle-child.mjs), which runs this module compiled by node:vm: code compiled
 * there, and functions it makes with new Function, cannot import() on Node 20 (no module
 * loader without a flag), so the entry, a module node loaded itself, lends both.
 */
const realm = (globalThis as Record<symbol, ChildRealm | undefined>)[Symbol.for('multiproc.childRealm')];

interface ChildRealm {
  importModule(url: string): Promise<Record<string, unknown>>;
  newFunction(...args: string[]): Function;
}

/**
 * A real dynamic import(). Written through Function because the CommonJS build would
 * otherwise compile `import(url)` into `require(url)`, which cannot load ES modules or file
 * URLs; the bundled entry's own (see realm) where there is one.
 */
const importModule = realm?.importModule ?? (new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>);

/** new Function, made where the function's code may import() (see realm). */
const makeFunction = realm?.newFunction ?? ((...args: string[]) => new Function(...args));

/**
 * node:module, loaded on first need: loading it costs a child ~0.5 ms of its start (it brings
 * the internals of node's ES module loader and of source maps with it), and most workers never
 * need it (a by-source task that calls no require(), no deferred loader). Synchronous through
 * process.getBuiltinModule (Node >= 20.16); on older versions, loadFunction and the loaders'
 * registration (both async) import it first (nodeModuleReady).
 */
let nodeModule: typeof import('node:module') | undefined;

function nodeModuleNow(): typeof import('node:module') {
  nodeModule ??= process.getBuiltinModule?.('node:module');
  if (nodeModule === undefined) throw new Error('multiproc internal error: node:module used before nodeModuleReady()');
  return nodeModule;
}

/** What to wait for before nodeModuleNow() can answer: undefined where it can now (process.getBuiltinModule, or loaded). */
function nodeModuleReady(): Promise<void> | undefined {
  if (nodeModule !== undefined || process.getBuiltinModule !== undefined) return undefined;
  return import('node:module').then((m) => {
    nodeModule = m;
  });
}

let madeTaskRequire: NodeRequire | undefined;
const realTaskRequire = (): NodeRequire => (madeTaskRequire ??= nodeModuleNow().createRequire(join(process.cwd(), '[multiproc task]')));

/**
 * `require` for by-source functions: resolves from the working directory, like a script there.
 * The real one is made on its first use (see nodeModule); `resolve`, `cache`, `main` and
 * `extensions` are the real one's.
 */
const taskRequire = Object.defineProperties(function require(id: string): unknown {
  return realTaskRequire()(id);
}, {
  resolve: { get: () => realTaskRequire().resolve, enumerable: true },
  cache: { get: () => realTaskRequire().cache, enumerable: true },
  main: { get: () => realTaskRequire().main, enumerable: true },
  extensions: { get: () => realTaskRequire().extensions, enumerable: true },
}) as NodeRequire;

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
    const waiting = nodeModuleReady();
    if (waiting !== undefined) await waiting;
    const fn = compileSource(spec)(taskRequire, __name);
    if (typeof fn !== 'function') throw invalidArg(`${prefix}the source of ${spec.name}() did not evaluate to a function`);
    return readsOwnThis(spec.source) ? fn.bind(lostObject(spec.name)) : (fn as LoadedFn);
  }
  const fn = exportOf(await importTaskModule(spec.url), spec.exportName);
  if (typeof fn !== 'function') {
    throw invalidArg(`${prefix}${spec.url} has no exported function '${spec.exportName}' (found ${typeof fn}); check the export name`);
  }
  return fn as LoadedFn;
}

/**
 * Compile a by-source function so that its stack frames name where it came from instead of
 * "eval at loadFunction". A `//# sourceURL` comment names the code (vm.compileFunction could
 * too, but on Node 20 its functions cannot `import()` without an experimental flag). When the
 * sender found the text in its file (spec.origin.line), frames show that file at the real
 * line and column; otherwise they show `<file>#<name>` with lines counted from the function's
 * first line.
 */
function compileSource(spec: Extract<FnSpec, { kind: 'source' }>): (r: unknown, n: unknown) => unknown {
  const origin = spec.origin;
  if (!origin) return makeFunction('require', '__name', `return (${spec.source}\n);`) as (r: unknown, n: unknown) => unknown;
  // V8 ignores a sourceURL with white space in it; a file: URL has none.
  const file = /\s/.test(origin.file) ? pathToFileURL(origin.file).href : origin.file;
  const { line, column } = origin;
  if (line !== undefined && column !== undefined && line >= 4) {
    // new Function puts the body on the third line of the function it builds: blank lines
    // bring the source's first line to its own line number, spaces to its column.
    const body = `return (${'\n'.repeat(line - 3)}${' '.repeat(column - 1)}${spec.source}\n);\n//# sourceURL=${file}`;
    return makeFunction('require', '__name', body) as (r: unknown, n: unknown) => unknown;
  }
  // As the default of a third parameter, the source starts on the first line. `(0, …)` keeps
  // an anonymous function from taking the parameter's name.
  return makeFunction('require', '__name', `__fn = (0, ${spec.source}\n)`, `return __fn;\n//# sourceURL=${file}#${spec.name.replace(/\s+/g, '_')}`) as (r: unknown, n: unknown) => unknown;
}

/**
 * Does a by-source function read its own `this`? Arrow functions have none of their own;
 * for the others, a `this` anywhere in the text is enough to bind a guard (a nested function
 * or class keeps its own `this`, which the guard does not touch).
 */
function readsOwnThis(source: string): boolean {
  return !/^(async\s*)?(\(|[\w$]+\s*=>)/.test(source) && /\bthis\b/.test(source);
}

/**
 * The `this` of a by-source function that is not an arrow: a method sent alone
 * (`pool.map(obj.mul, xs)`) has lost its object, and would silently compute with
 * `undefined` fields. Any use of it throws a SerializationError that says so.
 */
function lostObject(name: string): object {
  const fail = (what: string): never => {
    throw new SerializationError(
      `${name}() reads this${what}, but it was sent to the worker by source, alone: a method loses its object when it crosses ` +
        "(Python pickles a bound method's object with it; only a function's text crosses here). " +
        `Pass what it needs as arguments, e.g. pool.starmap((x, factor) => x * factor, xs.map((x) => [x, obj.factor])), ` +
        `or export a function from a module and pass tasks(url).${name}.`,
    );
  };
  const key = (p: string | symbol) => (typeof p === 'string' ? `.${p}` : '');
  return new Proxy(Object.create(null), {
    get: (_t, p) => fail(key(p)),
    set: (_t, p) => fail(key(p)),
    has: (_t, p) => fail(key(p)),
    deleteProperty: (_t, p) => fail(key(p)),
    ownKeys: () => fail(''),
  });
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

/**
 * This process runs the compiled build in place of the library's sources at `sourceRoot`
 * (see the header), set by src/process/child.ts from the 'init' message: the build user code
 * imports (runtime.libraryRoot, set first), else this copy's own. The roots live in the
 * runtime record, which every copy of the library in this process shares: the child entry
 * may be another build's than the one user code imports, whose loader also imports modules
 * (the manager server's typeid factories), and the children user code forks are told of the
 * sources too (compiledTwinsOf).
 */
export function useCompiledTwins(sourceRoot: string | undefined): void {
  runtime.twins = sourceRoot === undefined ? null : { sourceRoot, compiledRoot: runtime.libraryRoot ?? ownLibraryRoot() };
}

/** The sources this process runs the compiled twin of, handed on to the children it forks (src/process/spawn.ts). */
export function compiledTwinsOf(): string | undefined {
  return runtime.twins?.sourceRoot;
}

/** The twin roots of the runtime record, with the URLs the twin hook compares (null: no twins). */
function twinsNow(): (TwinRoots & { compiledRoot: string }) | null {
  const t = runtime.twins;
  if (t === null) return null;
  const dirUrl = (dir: string) => pathToFileURL(join(dir, '/')).href;
  return { compiledRoot: t.compiledRoot, source: dirUrl(t.sourceRoot), compiled: dirUrl(t.compiledRoot) };
}

/**
 * Import module `name` ('remote/handle', no extension) of the compiled build at `root`
 * (dist/esm), with a real import(): from the CommonJS child entry too.
 */
export function importLibraryModule(root: string, name: string): Promise<Record<string, unknown>> {
  return importModule(pathToFileURL(join(root, `${name}.js`)).href);
}

/**
 * The registration of the deferred loaders, once per process whichever copy of the library
 * does it (keyed by Symbol.for, as the runtime record): two copies that import TypeScript
 * modules (the child entry's, the manager server's) must not register tsx twice.
 */
const REGISTERING = Symbol.for('multiproc.loadersRegistering');
const shared = globalThis as Record<symbol, Promise<void> | undefined>;
const registered = (): boolean => shared[REGISTERING] !== undefined;

/**
 * Register the loaders the parent handed over (runtime.loaders), once, as node would have at
 * start; then, in a process that runs compiled twins, the hook that resolves the library's
 * sources to them (registered last, it runs first: src/process/twin-hook.ts).
 */
function registerDeferredLoaders(): Promise<void> {
  return (shared[REGISTERING] ??= (async () => {
    await nodeModuleReady();
    const { register } = nodeModuleNow();
    for (const loader of runtime.loaders) {
      if (loader.kind === 'require') taskRequire(loader.specifier);
      else if (loader.kind === 'import') await importModule(loader.specifier);
      // module.register (Node >= 20.6; read from the namespace, so that older 20.x still load this file).
      else register(loader.specifier);
    }
    const twins = twinsNow();
    if (twins) {
      // The hook of the compiled build the sources map to (an ES module, as register() needs).
      const hook = join(twins.compiledRoot, 'process', 'twin-hook.js');
      register(pathToFileURL(hook), { data: { source: twins.source, compiled: twins.compiled } satisfies TwinRoots });
    }
  })());
}

/**
 * Import a user's module (a task module, a Process subclass's module), with the deferred
 * TypeScript loaders registered first when it is a TypeScript file. While it imports,
 * `runtime.importing` is raised (see loadFunction). A JavaScript module that imports
 * TypeScript files fails with node's ERR_UNKNOWN_FILE_EXTENSION, explained.
 */
export async function importTaskModule(url: string): Promise<Record<string, unknown>> {
  // A module of the library's own sources (the manager server's) is its compiled twin here,
  // which needs no loader. The mapping is loaded only by a child that runs compiled twins.
  const twins = twinsNow();
  if (twins) url = (await import('./twin-hook.ts')).compiledTwin(url, twins) ?? url;
  const deferred = runtime.loaders.length > 0;
  if ((deferred || twins) && TYPESCRIPT.test(new URL(url).pathname)) await registerDeferredLoaders();
  runtime.importing++;
  try {
    return await importModule(url);
  } catch (err) {
    if (deferred && !registered() && (err as { code?: unknown } | null)?.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new TypeError(
        `${url} imports a TypeScript file, but this worker did not start tsx: a child of a compiled multiproc registers the parent's TypeScript loader only before it imports a TypeScript task module. ` +
          'Name the task by a .ts module, or give every child the loader through the environment (NODE_OPTIONS="--import tsx")' +
          (twins ? ", or have the children of a parent that runs the library's sources start from those sources too (MULTIPROC_CHILD_FROM_SOURCE=1)." : '.'),
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
  /**
   * What to do instead, given the variable it reads, the function's name, and whether the
   * variable is called (a function, which cannot be passed as a value).
   */
  remedy(variable: string, name: string, called: boolean): string;
}

/** Where tasks, Process targets and initializers run. */
export const WORKER_SITE: LoadSite = {
  place: 'the worker',
  remedy: (variable, name, called) => {
    const fn = name === 'anonymous' ? 'the function' : name;
    const ref = `tasks(url).${name === 'anonymous' ? '<its export name>' : name}`;
    return called
      ? `\`${variable}\` is called, so it is a function, and a function cannot be passed as an argument: export ${fn} and ${variable} from a module ` +
          `(there they can call each other) and pass ${ref}, or define ${variable} inside ${fn}.`
      : `Workers do not see values the parent set: they start fresh, not as a copy of the parent (Python's fork start method). ` +
          `Pass \`${variable}\` as an argument, or once per worker with initializer/initargs (README: "Data every worker needs"), ` +
          `or require/import it inside the function, or export ${fn} from a module and pass ${ref}.`;
  },
};

/**
 * A by-source function that reads a variable of the scope it was written in fails where it
 * runs with "x is not defined": say what happened and how to fix it (a ReferenceError whose
 * cause is the original and whose stack keeps the original frames). So for one that imports
 * a TypeScript file where the parent's TypeScript loader is deferred and not registered yet
 * (node's ERR_UNKNOWN_FILE_EXTENSION; a TypeError). Any other error, and any error of a
 * function loaded by module, is returned as it is.
 */
export function explain(err: unknown, spec: FnSpec, site: LoadSite): unknown {
  const twins = runtime.twins !== null;
  if (spec.kind === 'source' && (err as { code?: unknown } | null)?.code === 'ERR_UNKNOWN_FILE_EXTENSION' && (runtime.loaders.length > 0 || twins) && !registered()) {
    const better = new TypeError(
      `${site.subject ?? `${spec.name}()`} was sent to ${site.place} by source and imports a TypeScript file, but ${site.place} did not start tsx: ` +
        "a child that runs compiled JavaScript registers its parent's TypeScript loader only before it imports a TypeScript task module. " +
        'Import that file in a task module and pass tasks(url), or give every child the loader through the environment (NODE_OPTIONS="--import tsx")' +
        (twins ? ", or have the children of a parent that runs the library's sources start from those sources too (MULTIPROC_CHILD_FROM_SOURCE=1)." : '.'),
      { cause: err },
    );
    better.stack = `${better.name}: ${better.message}\n${((err as Error).stack ?? '').split('\n').slice(1).join('\n')}`;
    return better;
  }
  if (spec.kind !== 'source' || !(err instanceof ReferenceError)) return err;
  const m = /^([\w$]+) is not defined$/.exec(err.message);
  if (!m) return err;
  const variable = m[1]!;
  const better = new ReferenceError(
    `${site.subject ?? `${spec.name}()`} was sent to ${site.place} by source, but reads \`${variable}\` from the scope it was written in, which does not exist in ${site.place}. ` +
      site.remedy(variable, spec.name, new RegExp(`(?<![\\w$.])${variable.replace(/\$/g, '\\$')}\\s*\\(`).test(spec.source)),
    { cause: err },
  );
  better.stack = `${better.name}: ${better.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return better;
}

// A module resolve hook (node:module register) for a child that runs the compiled build in
// place of the library's TypeScript sources. Runs in node's module loader thread, not in the
// child's main thread, so it imports nothing and keeps no state but the two roots it is given.
//
// Why: a parent that runs the library from src/*.ts under tsx forks the compiled child entry
// (dist/cjs/process/child.js, or dist/esm's) when dist/ was built from the current sources
// (src/process/spawn.ts), so that a child starts without tsx. A user's TypeScript module that
// the child imports (a task module, a Process subclass's module, an initializer's) may itself
// import the library by its sources (`../src/index.ts`), as the repository's tests and
// examples do. Loaded as written, that would be a second copy of the library beside the
// compiled one the child runs, each with its own module state (handle revivers, hosts, the
// shareable marks the encoder scans for): a Queue revived by one copy is no Queue to the
// other. This hook resolves every such import to its compiled twin instead: one copy per
// child.
//
// src/process/loader.ts registers it after the parent's TypeScript loader (tsx), so it runs
// first in the chain: it lets the rest of the chain (tsx, then node) resolve the specifier,
// and swaps a result below the source root that ends in .ts (.mts, .cts) for the file of the
// same path below the compiled root, ending in .js (.mjs, .cjs).

/** The roots, as file URLs ending in '/': the library's sources, and the build the child runs. */
export interface TwinRoots {
  source: string;
  compiled: string;
}

interface Resolved {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}

type NextResolve = (specifier: string, context?: unknown) => Promise<Resolved>;

let roots: TwinRoots | undefined;

/** Receives the `data` of register(): the roots. */
export function initialize(data: TwinRoots): void {
  roots = data;
}

/** The compiled twin of `url` when it names a TypeScript file below the source root, else null. */
export function compiledTwin(url: string, twins: TwinRoots): string | null {
  if (!url.startsWith(twins.source)) return null;
  const m = /^([^?#]*)\.([cm]?)ts([?#].*)?$/.exec(url.slice(twins.source.length));
  return m ? `${twins.compiled}${m[1]}.${m[2]}js${m[3] ?? ''}` : null;
}

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<Resolved> {
  const resolved = await nextResolve(specifier, context);
  const twin = roots ? compiledTwin(resolved.url, roots) : null;
  // The format tsx gave the TypeScript file is dropped: node reads the twin's from its
  // package.json, as for any .js file.
  return twin === null ? resolved : { ...resolved, url: twin, format: undefined };
}

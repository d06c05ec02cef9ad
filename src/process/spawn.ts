// The only call to child_process.fork. Parent side.
//
// Every multiproc child runs src/process/child.ts (child.js once built) with advanced
// serialization (structured clone: Map, Set, Date, BigInt, typed arrays, cycles), inherits
// stdout/stderr (a task's console.log shows up, as in Python), the environment and
// process.execArgv, so a parent started with `--import ./instrument.js` or V8 flags gives
// its children the same. One exception: a TypeScript loader (tsx) is not started in the
// child when the child entry is compiled JavaScript; it is handed over in the 'init'
// message and registered by the child only before it imports a TypeScript module
// (src/process/loader.ts), so a by-source task or a `.js` module costs no loader.
//
// The ES module build forks the CommonJS build's child entry (dist/cjs/process/child.js),
// which node loads faster; the child loads what it shares with user code from the build
// user code imports (see cjsEntry). Both builds fork that entry bundled with the modules it
// requires at start, compiled with a code cache (dist/cjs/process/child-bundle.js, see
// bundledEntry), when the build has one.
//
// The library run from its TypeScript sources (src/*.ts under tsx: the repository's tests,
// examples and benches) forks the compiled child entry (dist/cjs/process/child.js, or
// dist/esm's) when dist/ was built from the current sources (findStaleTwin), so its children
// start without tsx too: tsx costs a child a loader thread and esbuild, ~250-400 ms, several
// times the rest of its start. The child is told where the sources are ('init' sourceRoot)
// and imports them as their compiled twins, so it holds one copy of the library
// (src/process/twin-hook.ts). A stale or missing build, or MULTIPROC_CHILD_FROM_SOURCE=1
// (to debug the child's own code from its sources), keeps the source entry, each child
// starting tsx; NODE_DEBUG=multiproc says which entry was chosen and why.
//
// Whoever calls spawnChild owns the child and must reap it. Two last resorts end a child
// its owner did not: when this process exits, every child still alive is killed here; and
// when this process dies without running any code (SIGKILL, a crash), the watcher does it.
//
// The watcher: one tiny `/bin/sh` per forking process (about 2 MB, no isolate), started with
// the first child. It reads "+ pid" / "- pid" lines on a pipe from this process, and when
// the pipe reaches end-of-file (this process is gone: the kernel closed its end, however it
// died) it gives the children a moment to leave by themselves (a child that can run code
// leaves on 'disconnect') and SIGKILLs those still registered, including one stuck in a
// CPU-bound task, which can run no code of its own to notice. Options measured before this
// one (issue 15): a watchdog worker_thread in every child (a second V8 isolate: ~10 MB and
// 35-50 ms of CPU per worker), a node watcher per parent (~40 MB once), a check from the
// child's event loop (blind while a task spins).

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { debug } from '../diagnostics.ts';
import { InvalidStateError } from '../errors.ts';
import { PROTOCOL, type DeferredLoader, type ToChild } from '../protocol/index.ts';
import { moduleFile, ownLibraryRoot, runtime } from '../runtime.ts';
import { compiledTwinsOf } from './loader.ts';

const here = moduleFile();
/** This copy's own child entry: child.ts beside spawn.ts under tsx, child.js beside spawn.js in dist/. */
export const childEntry = join(dirname(here), `child${extname(here)}`);
/** This copy's child entry is compiled JavaScript: it needs no TypeScript loader to start. */
const compiledEntry = !/\.[cm]?ts$/.test(childEntry);

/**
 * Set (to anything but '' or '0') in the environment of a process that runs the library from
 * its TypeScript sources: its children start from the sources too, each with tsx, instead of
 * from the compiled build (to debug the child's own code, or step through it in its .ts file).
 */
export const FROM_SOURCE_ENV = 'MULTIPROC_CHILD_FROM_SOURCE';

/** What spawnChild forks, chosen once, at the first fork (forkedEntry). */
interface Entry {
  file: string;
  /** `file` is compiled JavaScript: tsx is deferred (splitExecArgv). */
  compiled: boolean;
  /** The library's sources, when `file` is the compiled twin of their child entry. */
  sourceRoot?: string;
  /** The build user code imports (dist/esm), when `file` is another build's entry (dist/cjs, see cjsEntry). */
  libraryRoot?: string;
}

let entry: Entry | undefined;

function forkedEntry(): Entry {
  entry ??= chooseEntry();
  return entry;
}

/**
 * This copy's own child entry; or, for a copy run from its TypeScript sources, the compiled
 * twin of it when the build beside the sources (dist/esm) is fresh, which costs a walk of
 * src/ and two stats per module (1.5-5 ms for the library's 70 modules), once per process.
 */
function chooseEntry(): Entry {
  const own: Entry = { file: childEntry, compiled: compiledEntry };
  if (compiledEntry) return cjsEntry(own, ownLibraryRoot());
  const forced = process.env[FROM_SOURCE_ENV];
  if (forced !== undefined && forced !== '' && forced !== '0') {
    debug('children start from the TypeScript sources (%s), each with tsx, as %s=%s asks', childEntry, FROM_SOURCE_ENV, forced);
    return own;
  }
  const sourceRoot = ownLibraryRoot();
  const compiledRoot = join(dirname(sourceRoot), 'dist', 'esm');
  const t0 = performance.now();
  const stale = findStaleTwin(sourceRoot, compiledRoot);
  const ms = (performance.now() - t0).toFixed(1);
  if (stale !== null) {
    debug('children start from the TypeScript sources (%s), each with tsx: the compiled build is not fresh (%s; checked in %s ms). `npm run build` makes it so', childEntry, stale, ms);
    return own;
  }
  const chosen = cjsEntry({ file: join(compiledRoot, 'process', 'child.js'), compiled: true, sourceRoot }, compiledRoot);
  debug('children start from the compiled build %s, built from the current sources (checked in %s ms): tsx only before they import a TypeScript module', chosen.file, ms);
  return chosen;
}

/**
 * The CommonJS build's child entry (dist/cjs/process/child.js) in place of `entry`, the ES
 * module build's (dist/esm, at `root`), when that build is there and no older: `entry`
 * otherwise, and for a copy that is not an ES module build.
 *
 * Why: node loads an ES module entry through its ES module loader, which costs a child
 * 10-16 ms more than `require` of the same nine modules (issue 15, timestamps in the child
 * from its main module's start to its first message handled: 19-26 ms vs 8.5-10 ms, on the
 * 2-core VM without NODE_EXTRA_CA_CERTS). A task module by import() pays the ES module
 * loader's start then, as a bare child importing it would (bench case 10). What a
 * child shares with user code is not in those modules: the runtime record and the exit
 * hooks live on globalThis for every copy (src/runtime.ts), errors are recognised across
 * copies (src/errors.ts), and handles, the classes they revive into and the twin hook are
 * loaded from `root`, named in 'init' (`libraryRoot`): a task module that imports the ES
 * module build sees a Queue it was passed as an instance of its own Queue class.
 *
 * "No older" (see olderBuild): `npm run build` writes dist/esm, then dist/cjs; a CommonJS
 * build older than the ES module one (only dist/esm rebuilt) may not speak its protocol, so
 * it is not used.
 */
function cjsEntry(entry: Entry, root: string): Entry {
  if (basename(root) === 'cjs') return bundledEntry(entry);
  if (basename(root) !== 'esm') return entry;
  const cjsRoot = join(dirname(root), 'cjs');
  const file = join(cjsRoot, 'process', 'child.js');
  const cjs = statSync(file, { throwIfNoEntry: false });
  const esm = statSync(entry.file, { throwIfNoEntry: false });
  // Without its package.json ({ "type": "commonjs" }), a .js file of dist/cjs would load as an ES module.
  if (!cjs || !esm || olderBuild(cjs, esm) || !statSync(join(cjsRoot, 'package.json'), { throwIfNoEntry: false })) {
    debug('children start from the ES module entry %s: the CommonJS build beside it %s', entry.file, cjs ? 'is older' : 'is missing');
    return entry;
  }
  return bundledEntry({ ...entry, file, libraryRoot: root }, cjs);
}

/**
 * The bundled child entry beside the CommonJS one (child-bundle.js, written by `npm run
 * build`: src/build/bundle-child.mjs) in place of `entry`, when it and the body it compiles
 * are there and it is no older; `entry` otherwise. The same modules compiled as one script,
 * with a V8 code cache, start a child 3-4 ms sooner (see that script). "No older" (see
 * olderBuild): tsc rewrites child.js on every build, so a bundle older than it was made from
 * an earlier build and may not match the modules beside it. `plain` is entry.file's stat when
 * the caller has it.
 */
function bundledEntry(entry: Entry, plain = statSync(entry.file, { throwIfNoEntry: false })): Entry {
  const dir = dirname(entry.file);
  const file = join(dir, 'child-bundle.js');
  const bundle = statSync(file, { throwIfNoEntry: false });
  // The entry compiles the body beside it (its code cache is optional).
  const why = !bundle
    ? 'is missing'
    : !plain || olderBuild(bundle, plain)
      ? 'is older'
      : statSync(join(dir, 'child-bundle.body.js'), { throwIfNoEntry: false })
        ? null
        : 'has no body';
  if (why !== null) {
    debug('children start from %s: the bundled entry beside it %s', entry.file, why);
    return entry;
  }
  return { ...entry, file };
}

/**
 * How much earlier than another file of the same build a file may have been written. Not 0:
 * npm writes an installed package's files in the tarball's order, milliseconds apart (it
 * keeps no mtimes: dist/cjs lands before dist/esm, child-bundle.js before child.js), so
 * files of one `npm run build` can look older than one another by that much; a file left
 * from an earlier build is older by the time between that build and the next (a whole build
 * takes 1-2 s here, a person or a script that runs one step alone takes longer).
 */
const SAME_BUILD_MS = 2_000;

/** `file` was written before `than` by more than the files of one build are apart (SAME_BUILD_MS). */
function olderBuild(file: { mtimeMs: number }, than: { mtimeMs: number }): boolean {
  return file.mtimeMs < than.mtimeMs - SAME_BUILD_MS;
}

/**
 * Why the compiled build at `compiledRoot` is not the build of the TypeScript sources at
 * `sourceRoot`, or null when it is: every module below `sourceRoot` (`x.ts`, `.mts`, `.cts`;
 * declarations and the top `types/` folder aside) has its twin at the same path below
 * `compiledRoot` (`x.js`, `.mjs`, `.cjs`), last written no earlier than the source was
 * (tsc rewrites every output it emits). A source changed since the build, or added, makes it
 * stale; so does a build that is missing.
 */
export function findStaleTwin(sourceRoot: string, compiledRoot: string): string | null {
  const walk = (dir: string): string | null => {
    let entries;
    try {
      entries = readdirSync(join(sourceRoot, dir), { withFileTypes: true });
    } catch (err) {
      return `${join(sourceRoot, dir)} cannot be read (${(err as NodeJS.ErrnoException).code})`;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (dir === '' && e.name === 'types') continue;
        const stale = walk(join(dir, e.name));
        if (stale !== null) return stale;
        continue;
      }
      const m = /^(.*)\.([cm]?)ts$/.exec(e.name);
      if (!m || !e.isFile() || /\.d$/.test(m[1]!)) continue;
      const source = join(sourceRoot, dir, e.name);
      const twin = join(compiledRoot, dir, `${m[1]}.${m[2]}js`);
      const built = statSync(twin, { throwIfNoEntry: false });
      if (!built) return `${twin} is missing`;
      const written = statSync(source, { throwIfNoEntry: false });
      if (written && built.mtimeMs < written.mtimeMs) return `${source} changed after ${twin} was built`;
    }
    return null;
  };
  return walk('');
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() only sends the signal, which is all we can
  // do here. Children also exit by themselves when the IPC channel closes (child.ts). The
  // watcher is told to forget them (they are dead now), so it has nothing to do when this
  // process's end closes its pipe.
  process.on('exit', () => {
    for (const child of live) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (child.pid !== undefined) tellWatcher('-', child.pid);
    }
  });
}

// ---------------------------------------------------------------------------------------
// The watcher (see the header)

/** Seconds a child has, after its parent died, to leave by itself before the watcher kills it. */
const WATCHER_GRACE_S = 0.1;

/**
 * The watcher's program. `pids` holds the registered pids between spaces (" 12 345 "), so
 * that " 12 " is found and cut without matching " 123 ". Signals a terminal or a process
 * group sends (Ctrl-C, a hang-up) are ignored: the watcher must outlive this process to do
 * its job, and it ends by itself when this process's end of the pipe closes. The grace
 * before SIGKILL lets a responsive child leave through its 'disconnect' handler (sending
 * what it buffered); `sleep` with a fraction is not POSIX, hence the whole-second fallback.
 */
const WATCHER_SCRIPT = `trap '' HUP INT TERM QUIT PIPE
pids=' '
while read -r op pid; do
  case $op in
    +) pids="$pids$pid " ;;
    -) case $pids in *" $pid "*) pids="\${pids%% $pid *} \${pids#* $pid }" ;; esac ;;
  esac
done
[ "$pids" = ' ' ] && exit 0
sleep ${WATCHER_GRACE_S} 2>/dev/null || sleep 1
kill -9 $pids 2>/dev/null
exit 0`;

interface Watcher {
  process: ChildProcess;
  write(line: string): void;
}

/** undefined: not started (or gone: started again with the next child); null: cannot run here. */
let watcher: Watcher | null | undefined;

function startWatcher(): Watcher | null {
  if (process.platform === 'win32') return null;
  let proc: ChildProcess;
  try {
    proc = spawn('/bin/sh', ['-c', WATCHER_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
  } catch {
    return null;
  }
  const stdin = proc.stdin as (NonNullable<ChildProcess['stdin']> & { unref?(): void }) | null;
  if (proc.pid === undefined || !stdin) {
    // No shell (ENOENT arrives as an 'error' event): children then rely on 'disconnect'.
    proc.on('error', () => {});
    return null;
  }
  const w: Watcher = {
    process: proc,
    // A line is a few bytes on an empty pipe: libuv writes it at once, even from an 'exit'
    // handler. A watcher killed from outside makes the write fail (EPIPE): ignored, and a
    // new watcher is started with the next child.
    write: (line) => void stdin.write(line),
  };
  stdin.on('error', () => {});
  proc.on('error', () => {});
  proc.once('exit', () => {
    if (watcher === w) watcher = undefined;
  });
  // Neither the watcher nor its pipe keeps this process alive.
  proc.unref();
  stdin.unref?.();
  return w;
}

/** Register (`+`) or forget (`-`) a child with the watcher. */
function tellWatcher(op: '+' | '-', pid: number): void {
  if (op === '+' && watcher === undefined) {
    watcher = startWatcher();
    // A replacement (the previous one was killed) learns every child still alive.
    if (watcher) for (const child of live) if (child.pid !== undefined && child.pid !== pid) watcher.write(`+ ${child.pid}\n`);
  }
  watcher?.write(`${op} ${pid}\n`);
}

/** The watcher's pid, or undefined when none runs (for tests). */
export function watcherPid(): number | undefined {
  return watcher?.process.pid;
}

/** Refuse to fork while a child is importing a task module: that is a fork bomb in waiting. */
export function assertMayFork(what: string): void {
  if (runtime.child && runtime.importing > 0) {
    throw new InvalidStateError(
      `${what} was started while a worker was importing a task module (pid ${process.pid}). ` +
        'The module starts processes at its top level; guard that code with `if (isMainProcess()) { ... }`, ' +
        "as Python's `if __name__ == '__main__':` guard, so workers that import it do not start processes too.",
    );
  }
}

/** Flags that name a program or a mode of their own; a child given them would not run child.js. */
const NOT_INHERITED_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const NOT_INHERITED = /^(-i|--interactive|-c|--check|--test|--test-.*|--watch|--watch-path.*|--input-type=.*|--eval=.*|--print=.*|--(inspect|debug)(-brk|-port|-wait)?(=.*)?)$/;
/** Flags that load a module before the entry, with the kind of load each one is. */
const LOADER_FLAGS: Record<string, DeferredLoader['kind']> = {
  '-r': 'require',
  '--require': 'require',
  '--import': 'import',
  '--loader': 'loader',
  '--experimental-loader': 'loader',
};
/** A specifier that names tsx: `tsx`, `tsx/esm`, or a file of an installed tsx (what the tsx command passes). */
const TSX = /^tsx(\/|$)|[\\/]node_modules[\\/]tsx[\\/]/;

/** What a child is given of this process's execArgv: its own flags, and the loaders it registers only when needed. */
export interface ChildArgv {
  argv: string[];
  deferred: DeferredLoader[];
}

/**
 * The parent's execArgv, split for a child. Dropped: what would stop the child from running
 * child.js (`node -e "code"` puts the code itself in execArgv, and a child inheriting it
 * would run the parent's script again: a fork bomb; debugger flags would fight over one
 * inspector port). Kept: V8 options and loaders (`--import`, `--require`, `--loader`), so a
 * parent started with an instrumentation preload has children with it too.
 *
 * tsx is the exception when `compiled` (the child entry is JavaScript): starting it costs a
 * child a loader thread and esbuild, several times what the rest of its start costs, and a
 * by-source task or a `.js` module needs none of it. Its flags move to `deferred`, resolved
 * here against the working directory (as node resolves them at start), for the child to
 * register before it imports a TypeScript module (src/process/loader.ts). A flag whose module
 * does not resolve is kept as it is. When the library itself runs from its TypeScript
 * sources with a stale build (or MULTIPROC_CHILD_FROM_SOURCE), the child entry is a .ts
 * file and needs tsx at start: everything is kept, and `--import tsx` added if missing. So
 * it is when another loader flag names a TypeScript file (`--import ./instrument.ts`): the
 * child loads it at start, and needs tsx before it.
 */
export function splitExecArgv(execArgv: readonly string[] = process.execArgv, compiled = compiledEntry): ChildArgv {
  if (compiled && loadsTypeScriptAtStart(execArgv)) compiled = false;
  const argv: string[] = [];
  const deferred: DeferredLoader[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (NOT_INHERITED_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (NOT_INHERITED.test(arg)) continue;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const kind = LOADER_FLAGS[flag];
    if (kind === undefined) {
      argv.push(arg);
      continue;
    }
    const specifier = eq === -1 ? execArgv[++i] : arg.slice(eq + 1);
    if (specifier === undefined) break;
    const resolved = compiled && TSX.test(specifier) ? resolveLoader(kind, specifier) : null;
    if (resolved !== null) deferred.push({ kind, specifier: resolved });
    else argv.push(flag, specifier);
  }
  if (!compiled && !argv.some((arg) => arg.includes('tsx'))) argv.push('--import', 'tsx');
  return { argv, deferred };
}

/** Does a loader flag of `execArgv` other than tsx's name a TypeScript file? */
function loadsTypeScriptAtStart(execArgv: readonly string[]): boolean {
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    if (LOADER_FLAGS[eq === -1 ? arg : arg.slice(0, eq)] === undefined) continue;
    const specifier = eq === -1 ? execArgv[++i] : arg.slice(eq + 1);
    if (specifier !== undefined && !TSX.test(specifier) && /\.(?:[cm]?ts|tsx)$/.test(specifier)) return true;
  }
  return false;
}

/** The parent's execArgv as a child gets it (see splitExecArgv). */
export function childExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  return splitExecArgv(execArgv).argv;
}

/**
 * `specifier` of a loader flag, resolved as node resolves it at start (from the working
 * directory): a URL for `--import`/`--loader`, a path for `--require`; null when it does not
 * resolve.
 */
function resolveLoader(kind: DeferredLoader['kind'], specifier: string): string | null {
  const cwd = process.cwd();
  try {
    if (/^(file|data|node):/.test(specifier)) return specifier;
    const path = isAbsolute(specifier) || /^\.\.?[\\/]/.test(specifier) ? resolve(cwd, specifier) : createRequire(join(cwd, '[multiproc]')).resolve(specifier);
    return kind === 'require' ? path : pathToFileURL(path).href;
  } catch {
    return null;
  }
}

let forChildren: ChildArgv | undefined;

/**
 * This process's split (computed once) for the entry it forks, plus the loaders it was itself
 * handed and passes on. A process running the library's sources has a TypeScript loader
 * somewhere; when it is not on the command line (NODE_OPTIONS, or registered in-process), a
 * child of the compiled twin is handed `--import tsx`, as a child of the sources is given it.
 */
function childArgv(): ChildArgv {
  if (!forChildren) {
    const { compiled, sourceRoot } = forkedEntry();
    const execArgv = sourceRoot !== undefined && !process.execArgv.some((arg) => arg.includes('tsx')) ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
    const own = splitExecArgv(execArgv, compiled);
    const deferred = [...runtime.loaders];
    for (const l of own.deferred) if (!deferred.some((d) => d.kind === l.kind && d.specifier === l.specifier)) deferred.push(l);
    forChildren = { argv: own.argv, deferred };
  }
  return forChildren;
}

/** The first message to a child. */
export type InitMessage = Extract<ToChild, { type: 'init' }>;
/** The fields of an 'init' message its sender chooses (who the child is, its initializer). */
export type InitFields = Omit<InitMessage, 'mp' | 'type' | 'parent' | 'loaders' | 'sourceRoot' | 'libraryRoot'>;

/**
 * The 'init' message for a child this process forked: `fields`, plus what every child learns
 * from its parent (the parent's name for parentProcess(), the loaders handed over, and the
 * library's sources when the child runs their compiled twin: chosen here, or handed on by a
 * child that runs it itself).
 */
export function initMessage(fields: InitFields): InitMessage {
  const { deferred } = childArgv();
  const init: InitMessage = { mp: PROTOCOL, type: 'init', ...fields, parent: runtime.name };
  if (deferred.length > 0) init.loaders = deferred;
  const sourceRoot = forkedEntry().sourceRoot ?? compiledTwinsOf();
  if (sourceRoot !== undefined) init.sourceRoot = sourceRoot;
  const libraryRoot = forkedEntry().libraryRoot;
  if (libraryRoot !== undefined) init.libraryRoot = libraryRoot;
  return init;
}

export interface SpawnOptions {
  /** Extra environment for the child (merged over process.env). */
  env?: Record<string, string | undefined>;
  /**
   * Give the child a byte channel (src/process/byte-channel.ts): a duplex stdio 'pipe' on
   * file descriptor 4, `child.stdio[4]` here. Pool workers only.
   */
  bytes?: boolean;
}

/**
 * Fork a multiproc child. The caller sends the `init` message (initMessage()) and owns the
 * process. Throws InvalidStateError when called from a worker that is importing a task module.
 */
export function spawnChild(what: string, options: SpawnOptions = {}): ChildProcess {
  assertMayFork(what);
  installExitHook();
  const child = fork(forkedEntry().file, [], {
    serialization: 'advanced',
    stdio: options.bytes ? ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'] : ['inherit', 'inherit', 'inherit', 'ipc'],
    env: options.env ? { ...process.env, ...options.env } : process.env,
    execArgv: childArgv().argv,
  });
  // A spawn failure (EAGAIN, ENOMEM) arrives as 'error'; the owner listens for 'exit' and
  // 'error' both; this listener keeps an unowned error from crashing the parent.
  child.on('error', () => {});
  const pid = child.pid;
  if (pid === undefined) return child;
  live.add(child);
  tellWatcher('+', pid);
  child.once('exit', () => {
    live.delete(child);
    tellWatcher('-', pid);
  });
  return child;
}

/** Children forked by this process that have not exited yet (for tests and leak checks). */
export function liveChildren(): readonly ChildProcess[] {
  return [...live];
}

/**
 * Is `pid` a running process? Signal 0 probes without sending anything. A zombie (dead,
 * not yet reaped by whoever adopted it) counts as gone: on Linux /proc tells us so.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Format: "pid (comm) S ...": the state letter follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

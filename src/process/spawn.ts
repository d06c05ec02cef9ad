// The only call to child_process.fork. Parent side.
//
// Every multiproc child runs src/process/child.ts (child.js once built) with advanced
// serialization (structured clone: Map, Set, Date, BigInt, typed arrays, cycles), inherits
// stdout/stderr (a task's console.log shows up, as in Python), and inherits process.execArgv,
// so a parent running under tsx gives its children the same loader and `.ts` task modules
// load. Whoever calls spawnChild owns the child and must reap it; as a last resort every
// child still alive when this process exits is killed here.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { InvalidStateError } from '../errors.ts';
import { moduleFile, runtime } from '../runtime.ts';

const here = moduleFile();
/** child.ts beside spawn.ts under tsx, child.js beside spawn.js in dist/. */
export const childEntry = join(dirname(here), `child${extname(here)}`);

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() only sends the signal, which is all we can
  // do here. Children also exit by themselves when the IPC channel closes (child.ts).
  process.on('exit', () => {
    for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
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

/**
 * The parent's execArgv, without what would stop the child from running child.js:
 * `node -e "code"` puts the code itself in execArgv (a child inheriting it would run the
 * parent's script again: a fork bomb), and debugger flags would fight over one inspector
 * port. Loaders (`--import tsx`, `--require`, `--loader`) and V8 options are kept, so a
 * parent under tsx has children under tsx. When the library itself runs from its
 * TypeScript sources (its own tests, or a parent that registered tsx in-process with
 * `-r tsx`), the child entry is a .ts file and needs tsx too: it is added when missing.
 */
export function childExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const argv: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    if (arg === '-r' || arg === '--require') {
      // `-r` is kept with its value: preloads such as tsx's preflight are loaders.
      argv.push(arg, execArgv[++i]);
      continue;
    }
    if (NOT_INHERITED_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (NOT_INHERITED.test(arg)) continue;
    argv.push(arg);
  }
  if (childEntry.endsWith('.ts') && !argv.some((arg) => arg.includes('tsx'))) argv.push('--import', 'tsx');
  return argv;
}

export interface SpawnOptions {
  /** Extra environment for the child (merged over process.env). */
  env?: Record<string, string | undefined>;
}

/**
 * Fork a multiproc child. The caller sends the `init` message and owns the process.
 * Throws InvalidStateError when called from a worker that is importing a task module.
 */
export function spawnChild(what: string, options: SpawnOptions = {}): ChildProcess {
  assertMayFork(what);
  installExitHook();
  const child = fork(childEntry, [], {
    serialization: 'advanced',
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: options.env ? { ...process.env, ...options.env } : process.env,
    execArgv: childExecArgv(),
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  // A spawn failure (EAGAIN, ENOMEM) arrives as 'error'; the owner listens for 'exit' and
  // 'error' both; this listener keeps an unowned error from crashing the parent.
  child.on('error', () => {});
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

// Where a host's unix socket lives, and cleaning up after it. Host side.
//
// A default host listens at <os.tmpdir()>/multiproc-<pid>-XXXXXX/host.sock: a fresh directory
// only this user can enter (mkdtemp makes it 0700; a chmod makes sure of it under any umask)
// and a socket of mode 0600 inside it. Both are removed by the host's close() and by the
// 'cleanup' exit hook (src/runtime.ts: process.exit(), the event loop ending, an uncaught
// exception), after the connections wrote what they held. A process killed by a signal runs
// no code, so the first default host of any later process sweeps the directories (and the
// socket files of the older layout, straight in tmpdir) whose owner pid is gone. An explicit
// path chosen by the user keeps its place and mode, and is removed the same ways once this
// host has bound it.

import { chmodSync, mkdtempSync, rmdirSync, unlinkSync } from 'node:fs';
import { readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debug } from '../diagnostics.ts';
import { onExit } from '../runtime.ts';

/** A socket file this process must remove: `remove()` does it now (idempotent) and cancels the exit hook. */
export interface SocketFile {
  readonly path: string;
  remove(): void;
}

function removing(path: string, dir: string | null): SocketFile {
  let done = false;
  const remove = (): void => {
    if (done) return;
    done = true;
    try {
      unlinkSync(path);
    } catch {}
    if (dir !== null) {
      try {
        rmdirSync(dir);
      } catch {}
    }
  };
  const unhook = onExit('cleanup', remove);
  return {
    path,
    remove() {
      remove();
      unhook();
    },
  };
}

/** A fresh private directory for a default host's socket; the directory is removed at exit from now on. */
export function privateSocketPath(): SocketFile {
  const dir = mkdtempSync(join(tmpdir(), `multiproc-${process.pid}-`));
  chmodSync(dir, 0o700);
  return removing(join(dir, SOCKET_NAME), dir);
}

/** A socket this host bound at a path the user chose: removed at close and exit (not its directory). */
export function boundSocket(path: string): SocketFile {
  return removing(path, null);
}

/** Owner only, whatever the umask: the second lock after the private directory. */
export function restrictSocket(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch {
    // Not bound: the server's 'error' event reports why.
  }
}

/** The socket inside a default host's private directory. */
const SOCKET_NAME = 'host.sock';
/** A default host's directory: mkdtemp adds 6 characters to `multiproc-<pid>-`. */
const STALE_DIR = /^multiproc-([1-9]\d*)-[A-Za-z0-9]{6}$/;
/** A socket file of the layout before private directories. */
const STALE_SOCKET = /^multiproc-([1-9]\d*)-[0-9a-f]{12}\.sock$/;
let swept = false;

function ownerGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: alive, another user's. Only "no such process" proves the owner gone.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Remove what hosts of dead processes left in os.tmpdir(): their private directories (and
 * socket files of the older layout). A host removes its own at exit, but a process killed by
 * a signal cannot; once per process, the first default-path host removes those whose owner
 * pid is gone. A live process's are never touched (the pid in the name is its owner's), and a
 * directory holding anything but our socket is left alone (not ours after all: another
 * program's `mkdtemp('multiproc-12-')`).
 */
export async function sweepStaleSockets(): Promise<void> {
  if (swept) return;
  swept = true;
  try {
    const dir = tmpdir();
    for (const name of await readdir(dir)) {
      const m = STALE_DIR.exec(name) ?? STALE_SOCKET.exec(name);
      if (!m || !ownerGone(Number(m[1]))) continue;
      const path = join(dir, name);
      if (name.endsWith('.sock')) {
        await unlink(path).catch(() => {});
        continue;
      }
      try {
        const inside = await readdir(path);
        if (inside.length !== 1 || inside[0] !== SOCKET_NAME || !(await stat(join(path, SOCKET_NAME))).isSocket()) continue;
        await unlink(join(path, SOCKET_NAME));
        await rmdir(path);
        debug('removed %s, left by process %s that is gone', path, m[1]);
      } catch {
        // Another process swept it first, or it is not ours to remove.
      }
    }
  } catch {
    // Housekeeping only: an unreadable tmpdir changes nothing for this host.
  }
}


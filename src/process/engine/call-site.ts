// Where the user made a call that sends work to a worker. Parent side.
//
// A task that throws in a worker comes back with the worker's stack, which shows where the
// task ran (for a function sent by source, inside code the worker evaluated) but not which
// line of the user's program sent it. Two ways to find that line:
//   at the call   the engine captures the caller's stack when a job is created, and appends
//                 the user's frames to a failed batch's error under a marker line. Used by
//                 the faces whose result is a handle read elsewhere (submit's Future,
//                 applyAsync's AsyncResult) and by the per-list calls (map, imap, ...).
//   at the await  Pool.apply hands its promise to the program's `await`. Capturing a stack
//                 costs ~10 µs on Node 20 (whatever the frame limit), an eighth of a whole
//                 apply round trip, so apply captures nothing up front: its promise passes
//                 a failure through `rethrowAtAwait`, which runs as a reaction of that promise
//                 and so sees, through V8's async stack trace, the async functions awaiting
//                 it: `at async main (file:line)`, the line of `await pool.apply(...)`.
//                 A promise nobody awaits yet when it fails gets no marker.
// Frames of this library and of Node itself are left out either way.

import { ownLibraryRoot } from '../../runtime.ts';

/** The marker line between the remote stack and the caller's frames. */
export const SENT_FROM = '    --- sent by the call at ---';

/** Errors of sites without a capture, to be annotated where the program awaits them. */
const atAwait = new WeakSet<Error>();

/** A call site, captured when the call is made (formatted only when an error needs it) or read at its await. */
export class CallSite {
  readonly #holder: { stack?: string } | null;

  /**
   * Capture the stack of the current call, from above `below` (the face method called);
   * `below` null: capture nothing now, the error is annotated by `rethrowAtAwait`.
   */
  constructor(below: Function | null) {
    if (below === null) {
      this.#holder = null;
      return;
    }
    this.#holder = {};
    Error.captureStackTrace(this.#holder, below);
  }

  /**
   * Append the caller's frames to `err`'s stack (once): the remote stack shows where the task
   * ran, these lines which call of the program sent it. A site without a capture marks `err`
   * for `rethrowAtAwait` instead.
   */
  annotate(err: Error): Error {
    if (this.#holder === null) {
      atAwait.add(err);
      return err;
    }
    return appendFrames(err, this.#holder.stack);
  }
}

/**
 * The rejection handler of a promise whose site is read at its await: annotates an error its
 * CallSite marked with the frames awaiting the promise, and rethrows it.
 */
export function rethrowAtAwait(err: unknown): never {
  if (err instanceof Error && atAwait.delete(err)) {
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, rethrowAtAwait);
    appendFrames(err, holder.stack);
  }
  throw err;
}

/** The user's frames of a captured stack (the library's and Node's left out), one per line. */
function userFrames(stack: string | undefined): string {
  const out: string[] = [];
  const root = ownLibraryRoot();
  for (const line of (stack ?? '').split('\n').slice(1)) {
    if (line.includes(root) || line.includes('(node:') || line.includes(' node:') || line.endsWith('(<anonymous>)')) continue;
    out.push(line);
  }
  return out.join('\n');
}

function appendFrames(err: Error, stack: string | undefined): Error {
  const frames = userFrames(stack);
  if (frames === '' || typeof err.stack !== 'string' || err.stack.includes(SENT_FROM)) return err;
  try {
    err.stack = `${err.stack}\n${SENT_FROM}\n${frames}`;
  } catch {
    // A frozen error keeps its stack.
  }
  return err;
}

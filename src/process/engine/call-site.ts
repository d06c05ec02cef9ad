// Where the user made a call that sends work to a worker. Parent side.
//
// A task that throws in a worker comes back with the worker's stack, which shows where the
// task ran (for a function sent by source, inside code the worker evaluated) but not which
// line of the user's program sent it. The engine captures the caller's stack when a job is
// created (cheap: V8 formats a captured stack only when it is read) and, when a batch fails,
// appends the user's frames to the error's stack under a marker line. Frames of this library
// and of Node itself are left out.

import { LIBRARY_ROOT } from '../../runtime.ts';

/** The marker line between the remote stack and the caller's frames. */
export const SENT_FROM = '    --- sent by the call at ---';

/** A captured call site, formatted only when an error needs it. */
export class CallSite {
  readonly #holder: { stack?: string } = {};

  /** Capture the stack of the current call, from above `below` (the face method called). */
  constructor(below: Function) {
    Error.captureStackTrace(this.#holder, below);
  }

  /** The user's frames (the library's and Node's left out), one per line, or '' when none. */
  frames(): string {
    const stack = this.#holder.stack ?? '';
    const out: string[] = [];
    for (const line of stack.split('\n').slice(1)) {
      if (line.includes(LIBRARY_ROOT) || line.includes('(node:') || line.includes(' node:') || line.endsWith('(<anonymous>)')) continue;
      out.push(line);
    }
    return out.join('\n');
  }

  /**
   * Append the caller's frames to `err`'s stack (once): the remote stack shows where the task
   * ran, these lines which call of the program sent it.
   */
  annotate(err: Error): Error {
    const frames = this.frames();
    if (frames === '' || typeof err.stack !== 'string' || err.stack.includes(SENT_FROM)) return err;
    try {
      err.stack = `${err.stack}\n${SENT_FROM}\n${frames}`;
    } catch {
      // A frozen error keeps its stack.
    }
    return err;
  }
}

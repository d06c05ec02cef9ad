// multiprocessing.connection.wait(): which of several objects can be read without waiting.
// Proxy side: runs in any process, over Connections of a Pipe (wherever it is hosted) or of a
// Listener/Client socket, and Listeners (a connection is waiting to be accepted).
//
// An object takes part by implementing `[readyWhen](timeout, signal)`: resolve true as soon
// as it is ready, false when `timeout` passes first, and stop waiting (rejecting) when
// `signal` fires. wait() asks every object at once with one AbortController, stops the others
// when the first says true, then asks each once more without waiting, so that it returns every
// object ready at that moment (as Python's does), not only the first. Nothing here knows what
// the objects are, so other kinds (a Process's sentinel) can join by implementing the method.

import { invalidArg } from '../errors.ts';
import { checkTimeout } from '../options.ts';
import { pollOnce } from '../util.ts';

/** The method wait() calls on each object (see the header). */
export const readyWhen = Symbol.for('multiproc.readyWhen');

/** What wait() accepts: an object that can say when it is ready to be read. */
export interface Waitable {
  [readyWhen](timeout: number | undefined, signal?: AbortSignal): Promise<boolean>;
}

function isWaitable(value: unknown): value is Waitable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Waitable>)[readyWhen] === 'function';
}

/** The objects of `list` ready now (each asked without waiting), in the order given. */
async function readyNow<T extends Waitable>(list: readonly T[]): Promise<T[]> {
  const ready = await Promise.all(list.map((o) => o[readyWhen](0)));
  return list.filter((_, i) => ready[i]);
}

/**
 * Wait until at least one of `objects` can be read without waiting, or `timeout` ms pass;
 * resolve with those ready (empty when the timeout passed). A Connection is ready when a
 * message is waiting or the other end closed (recv() then reports EOF); a Listener when a
 * connection is waiting to be accepted.
 * Python: multiprocessing.connection.wait(object_list, timeout=None) — async; timeout in ms;
 * takes Connections and Listeners (Python: connections, sockets and Process sentinels).
 * Rejects with TypeError (MP_INVALID_ARG) for an object it cannot wait on, QueueClosed for a
 * closed Connection, InvalidStateError for a closed Listener.
 *
 * @example
 * const readers = [a, b];
 * for (const conn of await connection.wait(readers)) console.log(await conn.recv());
 */
export async function wait<T extends Waitable>(objects: Iterable<T>, timeout?: number | null): Promise<T[]> {
  if (objects === null || typeof objects !== 'object' || typeof (objects as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw invalidArg('wait(objects, timeout): objects must be an iterable of Connections or Listeners');
  }
  const list = [...objects];
  list.forEach((o, i) => {
    if (!isWaitable(o)) throw invalidArg(`wait(objects): item ${i} is not a Connection or a Listener`);
  });
  const limit = checkTimeout(timeout, 'wait()');
  // A poll (timeout 0) reports what can be read now, as the kernel sees it, as Python's
  // select does: let the event loop read what has already arrived (a message, a peer's EOF
  // whose process exit this program may have heard of first) before asking.
  if (limit === 0) await pollOnce();
  const now = await readyNow(list);
  if (now.length > 0 || limit === 0 || list.length === 0) return now;
  const stop = new AbortController();
  try {
    await new Promise<void>((resolve, reject) => {
      let left = list.length;
      for (const o of list) {
        o[readyWhen](limit, stop.signal).then(
          (ready) => {
            if (ready || --left === 0) resolve();
          },
          (err: unknown) => {
            // After `stop` fired, the others' rejections are only their cancellation.
            if (!stop.signal.aborted) reject(err);
          },
        );
      }
    });
  } finally {
    stop.abort();
  }
  return readyNow(list);
}

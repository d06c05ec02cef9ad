// proxy <-> host: the messages of a framed, authenticated socket (src/remote/link.ts), as
// typed unions (ToHost, FromHost); their byte layout is in src/remote/codec.ts. Runs on
// every side.
//
// A proxy calls a method of a hosted object by name; the host replies with the value the
// method returned (or resolved to) or the error it threw. `id` 0 asks for no reply
// (acknowledgements and other one-way notes); any other id is echoed by exactly one reply.
// `handles: true` says the sender found shareable objects in `args` / `value`, so the
// receiver must revive handles there (src/remote/handle.ts); otherwise it skips that walk.

import type { WireError } from './errors.ts';

export type ToHost =
  (
    | {
        /** Call `method` of hosted object `obj` with `args`. */
        type: 'call';
        id: number;
        obj: string;
        method: string;
        args: unknown[];
        handles?: boolean;
      }
    | {
        /** The caller gave up on request `id` (its AbortSignal fired): abort the call's signal. */
        type: 'cancel';
        id: number;
      }
    | {
        /**
         * Reply (with `undefined`) once every frame sent before this one was handled: the
         * connection is ordered and a host handles a connection's frames in order, so the
         * reply confirms the one-way calls and buffered sends before it.
         */
        type: 'sync';
        id: number;
      }
    | {
        /**
         * This connection holds one more reference to `obj`. `claim: true` converts one of the
         * object's transit leases (taken when its handle was serialized) into this reference.
         */
        type: 'incref';
        obj: string;
        claim: boolean;
      }
    | { /** This connection drops one reference to `obj`. */ type: 'decref'; obj: string }
    | {
        /**
         * A proxy of `obj` serialized its handle for a third process: keep the object alive
         * (one transit lease) until that process claims it or the lease expires.
         */
        type: 'lease';
        obj: string;
      }
  );

export type FromHost =
  (
    | { /** Request `id` returned `value`. */ type: 'result'; id: number; value: unknown; handles?: boolean }
    | { /** Request `id` failed. */ type: 'error'; id: number; error: WireError }
  );

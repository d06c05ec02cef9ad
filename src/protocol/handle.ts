// Shared-object handles: what crosses a process in place of a Queue, a Lock, a manager
// list. Runs on every side. Imports nothing but the version.

import type { PROTOCOL } from './version.ts';

/**
 * The serializable reference to an object hosted by some process (a Queue, a Lock, a
 * manager list). Crosses processes inside arguments; the receiver revives it into a proxy.
 * The `__mpHandle` key is a string, not a symbol, because symbol keys do not survive
 * structured clone.
 */
export interface Handle {
  __mpHandle: typeof PROTOCOL;
  /** What proxy to build: 'queue', 'lock', 'manager.list'… */
  kind: string;
  /** Where the host listens: a unix socket path, or TCP host and port. */
  address: string | { host: string; port: number };
  /** Object id inside that host. */
  id: string;
  /** Hex auth key the host's connections require. */
  authkey: string;
  /** Kind-specific facts (maxsize, duplex…) the proxy needs without a round trip. */
  meta?: Record<string, unknown>;
  /**
   * The module that registers this kind's reviver, relative to the library's root and
   * without extension ('queue/queue', 'manager/proxy'): a process that has not loaded it
   * imports it (from its own copy of the library only) before reviving the handle.
   */
  reviver?: string;
}

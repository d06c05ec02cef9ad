// multiprocessing.connection, as one namespace: `import { connection } from 'multiproc'`, then
// `connection.Listener`, `connection.Client`, `connection.wait`, `connection.Connection`, as
// Python's `from multiprocessing import connection`. Re-exports only. (`wait` is also the
// name of concurrent.futures' wait() at the top level, hence the namespace.)

export { Connection } from './pipe.ts';
export { Listener, Client } from './listener.ts';
export type { ListenerOptions, ClientOptions, AcceptOptions } from './listener.ts';
export { wait } from './wait.ts';
export type { Waitable } from './wait.ts';

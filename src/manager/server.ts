// The manager's object server. Host side: it runs in the manager server process (an ordinary
// Process whose target is `serveManager`, exported here), or inside the user's own process
// for `BaseManager.getServer()`.
//
// One Host (src/remote/host.ts) carries everything: the wire protocol, authentication, method
// dispatch, reference counting, per-connection cleanup. On it the server registers
//   'manager'   the control object: hello, create(typeid, args), stats, shutdown;
//   objects     what `create` makes, each under its own id:
//                 list, dict, namespace, value, array   src/manager/objects.ts, kind 'manager.*'
//                 queue, joinableQueue, lock, event…    the src/queue classes themselves,
//                                                       hosted on this Host (not the process's
//                                                       local one), so a client that reached
//                                                       the manager's address reaches them
//                 a registered typeid's object          by its public methods ('manager.object'),
//                                                       or as itself when it is a Queue/Lock…
// `create` returns the new object; the Host turns it into a handle on the way out (taking a
// transit lease) and the client revives that into a proxy, which claims the lease. From then
// on the object lives exactly as long as some proxy (in any process) refers to it.
//
//   owner process                      manager process (serveManager)
//   Manager.start() ── fork ─────────► Host.listen(address) ── report queue ──► owner
//   manager.list() ── create ────────► new ManagedList, register ── handle ──► ListProxy
//   listProxy.append(x) ── call ─────► ManagedList.append(x)
//   shutdown() ── 'shutdown' ────────► host.close(), target returns, process exits

import { InvalidStateError, invalidArg, ManagerError } from '../errors.ts';
import { encodeError, PROTOCOL, type FnSpec, type Handle, type WireError } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { keepAlive } from '../util.ts';
import { isShareable, noteShareable, toHandle, type Shareable } from '../remote/handle.ts';
import { formatAddress, Host, type Address, type HostOptions } from '../remote/host.ts';
import { explain, loadFunction, type LoadSite } from '../process/loader.ts';
import { JoinableQueue, Queue } from '../queue/queue.ts';
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from '../queue/sync.ts';
import { ManagedArray, ManagedDict, ManagedList, ManagedNamespace, ManagedValue, SERVED_METHODS } from './objects.ts';
import { KINDS } from './proxy.ts';

/** The id of the control object (hello, create, stats, shutdown) on every manager host. */
export const CONTROL_ID = 'manager';

/** Absolute path of this module, for `tasks(serverModule).serveManager`. */
export const serverModule = moduleFile();

/** A factory as the server runs it: a function in this process, or a reference to load. */
export type Factory = ((...args: any[]) => unknown) | FnSpec;

/** One registered typeid, as the server knows it. */
export interface TypeidEntry {
  /** A built-in typeid of `Manager` (list, dict, queue…): the server knows how to make it. */
  builtin?: boolean;
  /** Makes the object. Absent on a client that only calls a typeid the server registered. */
  factory?: Factory;
  /** Method names clients may call on what the factory makes. @default its public methods */
  exposed?: readonly string[];
}

/** Built-in typeids: what `Manager`'s factories create. */
const BUILTINS: Record<string, (host: Host, args: unknown[]) => object> = {
  list: (_h, [init]) => new ManagedList(init as Iterable<unknown> | undefined),
  dict: (_h, [init]) => new ManagedDict(init as Record<string, unknown> | undefined),
  namespace: (_h, [init]) => new ManagedNamespace(init as Record<string, unknown> | undefined),
  value: (_h, [typecode, value]) => new ManagedValue(typecode as string, value),
  array: (_h, [typecode, seq]) => new ManagedArray(typecode as string, seq as Iterable<number>),
  queue: (host, [maxsize]) => new Queue((maxsize as number | undefined) ?? 0, { host }),
  joinableQueue: (host, [maxsize]) => new JoinableQueue((maxsize as number | undefined) ?? 0, { host }),
  lock: (host) => new Lock({ host }),
  rlock: (host) => new RLock({ host }),
  semaphore: (host, [value]) => new Semaphore((value as number | undefined) ?? 1, { host }),
  boundedSemaphore: (host, [value]) => new BoundedSemaphore((value as number | undefined) ?? 1, { host }),
  // The lock, when given, is a proxy revived here: a lock of this very host, as Condition requires.
  condition: (host, [lock]) => new Condition((lock as Lock | RLock | undefined) ?? undefined, { host }),
  event: (host) => new Event({ host }),
  barrier: (host, [parties, options]) => new Barrier(parties as number, { timeout: (options as { timeout?: number } | undefined)?.timeout, host }),
};

/** Names of the built-in typeids, for `Manager`'s registry. */
export const BUILTIN_TYPEIDS: readonly string[] = Object.keys(BUILTINS);

/** What `stats()` reports. */
export interface ManagerStats {
  /** Pid of the server process. */
  pid: number;
  /** Objects alive in the server (the control object not counted). */
  objects: number;
  /** The same, by typeid. */
  byTypeid: Record<string, number>;
}

/** What `hello` answers: enough for a client to check it reached the right server. */
export interface ServerInfo {
  pid: number;
  protocol: string;
  typeids: string[];
}

/** Options of `new ManagerServer()`. */
export interface ManagerServerOptions extends Pick<HostOptions, 'maxPendingHandshakes' | 'maxPendingPerAddress' | 'handshakeTimeout'> {
  /** A unix socket path or `{ host, port }` (port 0 picks one). @default a fresh socket path in a private directory under os.tmpdir() */
  address?: Address;
  /** The key clients must prove they know. @default 32 random bytes */
  authkey?: Buffer | string;
  /** Largest frame accepted from a client, in bytes. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
  /** Keep the process alive while serving (the manager process). @default false */
  keepAlive?: boolean;
}

/** Public methods of `target` (own and inherited, not Object's), for a method proxy. */
export function publicMethods(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name.startsWith('_')) continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (desc && typeof desc.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/** A handle to return from a call as is (its lease already taken). */
class TakenHandle implements Shareable {
  readonly #handle: Handle;
  constructor(handle: Handle) {
    this.#handle = handle;
    noteShareable();
  }
  [toHandle](): Handle {
    return this.#handle;
  }
}

/** An object of this server, returned from `create`: becomes its handle on the way out. */
class HostedRef implements Shareable {
  readonly #host: Host;
  readonly #id: string;
  constructor(host: Host, id: string) {
    this.#host = host;
    this.#id = id;
    noteShareable();
  }
  [toHandle](): Handle {
    return this.#host.handle(this.#id);
  }
}

/** Where a typeid's factory runs, for the loader's explanation of a by-source closure. */
function factorySite(typeid: string): LoadSite {
  return {
    subject: `the factory of typeid '${typeid}'`,
    place: 'the manager process',
    remedy: (_variable, name) => `Make it self-contained, move it to a module and register tasks(url).${name}, or use getServer() to run the server in this process.`,
  };
}

/**
 * The object server: a Host with a typeid registry. Serves until `close()` (or a client's
 * `shutdown`). Get one with `BaseManager.getServer()`; the manager process runs one too.
 * Python: multiprocessing.managers.Server — one event loop serves every connection instead
 * of a thread each; `serveForever()` resolves when the server closes.
 * Rejects/throws: `listen()` rejects with the socket error (EADDRINUSE…) or InvalidStateError
 * after close(); `create()` rejects with TypeError (MP_INVALID_ARG: unknown typeid, a factory
 * that returned a primitive), ManagerError (closing), or whatever the factory threw.
 *
 * @example
 * const server = new QueueManager({ address: { host: '127.0.0.1', port: 0 }, authkey: 'secret' }).getServer();
 * await server.listen();
 * console.log(server.address); // { host: '127.0.0.1', port: 40525 }
 * await server.close();
 */
export class ManagerServer {
  readonly #host: Host;
  readonly #registry: Map<string, TypeidEntry>;
  readonly #loaded = new Map<string, Promise<(...args: unknown[]) => unknown>>();
  /** Ids this server created, with their typeid (pruned when the Host released them). */
  readonly #made = new Map<string, string>();
  /** Objects a factory returned before, so the same object keeps one id (Python does too). */
  readonly #ids = new WeakMap<object, string>();
  /** Objects of other hosts of this process served here too: `address#id` -> id here. */
  readonly #mirrors = new Map<string, string>();
  #closed = false;
  readonly #done: Promise<void>;
  #settle!: () => void;

  /** @internal Use `BaseManager.getServer()`. */
  constructor(registry: Map<string, TypeidEntry>, options: ManagerServerOptions = {}) {
    this.#registry = registry;
    this.#host = new Host({
      address: options.address,
      authkey: options.authkey,
      maxFrameSize: options.maxFrameSize,
      keepAlive: options.keepAlive,
      maxPendingHandshakes: options.maxPendingHandshakes,
      maxPendingPerAddress: options.maxPendingPerAddress,
      handshakeTimeout: options.handshakeTimeout,
    });
    this.#done = new Promise<void>((resolve) => (this.#settle = resolve));
    const control = {
      hello: (): ServerInfo => ({ pid: process.pid, protocol: PROTOCOL, typeids: [...this.#registry.keys()] }),
      create: (typeid: string, args: unknown[]) => this.create(typeid, args),
      stats: () => this.stats(),
      shutdown: () => {
        // Reply first, then close: the reply is queued on the link now, and close() writes
        // what is queued before ending each connection.
        setImmediate(() => void this.close());
      },
    };
    this.#host.register(control, { kind: 'manager.server', exposed: Object.keys(control), id: CONTROL_ID });
  }

  /** Where the server listens (for TCP with port 0, the real port once listening). */
  get address(): Address {
    return this.#host.address;
  }

  /** The Host serving this server's objects. */
  get host(): Host {
    return this.#host;
  }

  /** Resolves when the server has closed. */
  get closed(): Promise<void> {
    return this.#done;
  }

  /** Start accepting connections. Rejects with the socket error (EADDRINUSE, EACCES). */
  async listen(): Promise<void> {
    if (this.#closed) throw new InvalidStateError('the manager server was closed; make a new one');
    await this.#host.listen();
  }

  /**
   * Listen, then settle when the server closes (a client's `shutdown`, or `close()`).
   * Python: Server.serve_forever(). Rejects with the socket error when it cannot listen.
   */
  async serveForever(): Promise<void> {
    await this.listen();
    await this.#done;
  }

  /** Stop serving: close every connection and free every object. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return this.#done;
    this.#closed = true;
    // Every socket of a host is unref'd: without this timer, a program whose last step is
    // `await server.serveForever()` could end (with an unsettled await) while the last
    // connections finish closing, before serveForever settles.
    const release = keepAlive();
    try {
      await this.#host.close();
    } finally {
      release();
      this.#settle();
    }
  }

  /** Same as close(): `await using server = manager.getServer()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Objects alive in the server, by typeid. */
  stats(): ManagerStats {
    const byTypeid: Record<string, number> = {};
    let objects = 0;
    for (const [id, typeid] of this.#made) {
      if (this.#host.lookup(id) === undefined) {
        this.#made.delete(id);
        continue;
      }
      objects++;
      byTypeid[typeid] = (byTypeid[typeid] ?? 0) + 1;
    }
    for (const [key, id] of this.#mirrors) if (this.#host.lookup(id) === undefined) this.#mirrors.delete(key);
    return { pid: process.pid, objects, byTypeid };
  }

  /**
   * Make an object of `typeid` and return something that becomes its handle on the way to
   * the caller. Rejects with TypeError for an unknown typeid or a factory result that
   * cannot be proxied; with whatever the factory threw.
   */
  async create(typeid: string, args: unknown[] = []): Promise<Shareable> {
    if (this.#closed) throw new ManagerError('the manager server is shutting down');
    const entry = this.#registry.get(typeid);
    if (!entry) throw invalidArg(`this manager has no typeid '${typeid}'; registered: ${[...this.#registry.keys()].join(', ') || 'none'}`);
    if (!Array.isArray(args)) throw invalidArg('create(typeid, args): args must be an array');
    let obj: unknown;
    if (entry.builtin && BUILTINS[typeid]) {
      obj = BUILTINS[typeid](this.#host, args);
    } else if (entry.factory) {
      const fn = await this.#factory(typeid, entry.factory);
      try {
        obj = await fn(...args);
      } catch (err) {
        throw typeof entry.factory === 'function' ? err : explain(err, entry.factory, factorySite(typeid));
      }
    } else {
      throw invalidArg(`typeid '${typeid}' was registered without a factory where the server runs; register('${typeid}', factory) in the process that starts or serves the manager`);
    }
    return this.#share(obj, typeid, entry);
  }

  #factory(typeid: string, factory: Factory): Promise<(...args: unknown[]) => unknown> {
    if (typeof factory === 'function') return Promise.resolve(factory as (...args: unknown[]) => unknown);
    let loading = this.#loaded.get(typeid);
    if (!loading) {
      loading = loadFunction(factory, `the factory of typeid '${typeid}'`);
      // A failed load is retried next time (the module may be fixed meanwhile), and reported now.
      loading.catch(() => this.#loaded.delete(typeid));
      this.#loaded.set(typeid, loading);
    }
    return loading;
  }

  /** Register `obj` (unless it is served already) and return what becomes its handle. */
  #share(obj: unknown, typeid: string, entry: TypeidEntry): Shareable {
    if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) {
      throw invalidArg(`the factory of typeid '${typeid}' returned ${obj === null ? 'null' : typeof obj}; a manager serves objects (return an object whose methods clients call)`);
    }
    if (isShareable(obj)) return this.#shareShareable(obj, typeid);
    const known = this.#ids.get(obj);
    if (known !== undefined && this.#host.lookup(known) === obj) return new HostedRef(this.#host, known);
    let id: string;
    if (obj instanceof ManagedList || obj instanceof ManagedDict || obj instanceof ManagedNamespace || obj instanceof ManagedValue || obj instanceof ManagedArray) {
      const meta = obj instanceof ManagedValue || obj instanceof ManagedArray ? { typecode: obj.typecode } : undefined;
      id = this.#host.register(obj, { kind: KINDS[obj.typeid], exposed: SERVED_METHODS[obj.typeid], meta });
    } else {
      const exposed = entry.exposed ? [...entry.exposed] : publicMethods(obj);
      id = this.#host.register(obj, { kind: KINDS.object, exposed, meta: { typeid, methods: exposed } });
    }
    this.#ids.set(obj, id);
    this.#made.set(id, typeid);
    return new HostedRef(this.#host, id);
  }

  /**
   * A Queue, Lock, proxy… returned by a factory. Served from this Host when it lives on
   * another host of this process (a queue created with the default local host), so that a
   * client on another machine, which can reach only the manager's address, reaches it too.
   */
  #shareShareable(obj: Shareable, typeid: string): Shareable {
    const handle = obj[toHandle](); // takes one transit lease on the object's own host
    const same = typeof handle.address === 'string' ? handle.address === this.#host.address : typeof this.#host.address !== 'string' && handle.address.host === this.#host.address.host && handle.address.port === this.#host.address.port;
    if (same) {
      this.#made.set(handle.id, typeid);
      return new TakenHandle(handle);
    }
    const source = Host.find(handle.address);
    if (source && source !== this.#host && source.lookup(handle.id) !== undefined) {
      // The lease just taken on the source is not needed: the mirror holds the original.
      const key = `${formatAddress(handle.address)}#${handle.id}`;
      let id = this.#mirrors.get(key);
      if (id === undefined || this.#host.lookup(id) === undefined) {
        id = this.#host.mirror(source, handle.id);
        this.#mirrors.set(key, id);
        this.#made.set(id, typeid);
      }
      return new HostedRef(this.#host, id);
    }
    // A handle of another process's object: the caller connects there itself.
    return new TakenHandle(handle);
  }
}

/** How the manager process tells its owner it is ready (or why it is not, and at which stage). */
export type ServerReport = { address: Address; pid: number } | { error: WireError; stage: 'initializer' | 'listen' };

/** What the owner sends the manager process. */
export interface ServeConfig {
  address?: Address;
  /** Hex. */
  authkey: string;
  maxFrameSize?: number;
  typeids: { typeid: string; builtin?: boolean; factory?: FnSpec; exposed?: string[] }[];
  /** Runs before the server listens (Python: SyncManager.start(initializer, initargs)). */
  initializer?: FnSpec;
  initargs?: unknown[];
}

/** Where the manager initializer runs, for the loader's explanation of a by-source closure. */
const INITIALIZER_SITE: LoadSite = {
  subject: 'the manager initializer',
  place: 'the manager process',
  remedy: (variable, name, called) =>
    called
      ? `\`${variable}\` is called, so it is a function, which initargs cannot carry: export ${name} and ${variable} from a module and pass tasks(url).${name}, or define ${variable} inside ${name}.`
      : `Pass \`${variable}\` in initargs (or require/import it inside the function), or move ${name} to a module and pass tasks(url).${name}.`,
};

/**
 * The manager process's target: run the initializer, then serve until shut down or until the
 * owner dies (the child entry exits when its parent disconnects). Reports the bound address,
 * or the error of the initializer or of listening, through `report` (a Queue hosted by the owner).
 */
export async function serveManager(config: ServeConfig, report: Queue<ServerReport>): Promise<void> {
  if (config.initializer) {
    // Before the server exists, as in Python's manager process: factories may rely on what
    // it set up, and no client can reach the server before it is done.
    try {
      const init = await loadFunction(config.initializer, 'the manager initializer');
      await init(...(config.initargs ?? []));
    } catch (err) {
      await report.put({ error: encodeError(explain(err, config.initializer, INITIALIZER_SITE)), stage: 'initializer' });
      await report.close();
      return;
    }
  }
  const registry = new Map<string, TypeidEntry>();
  for (const t of config.typeids) registry.set(t.typeid, { builtin: t.builtin, factory: t.factory, exposed: t.exposed });
  const server = new ManagerServer(registry, {
    address: config.address,
    authkey: Buffer.from(config.authkey, 'hex'),
    maxFrameSize: config.maxFrameSize,
    keepAlive: true,
  });
  try {
    await server.listen();
  } catch (err) {
    await report.put({ error: encodeError(err), stage: 'listen' });
    await report.close();
    return;
  }
  await report.put({ address: server.address, pid: process.pid });
  await report.close();
  await server.closed;
}

// Manager and BaseManager: start or reach a server of shared objects. Parent side (the
// process that owns the manager) and client side (a process that `connect()`s to one).
//
// Three ways to have a server (src/manager/server.ts), as in Python:
//   start()       fork a manager process (an ordinary Process whose target is
//                 server.ts's serveManager); it reports its address through a Queue this
//                 process hosts, and exits on shutdown() or when this process dies
//   getServer()   a server inside this process: factories may close over local objects
//   connect()     reach a server someone else started (another terminal, another machine)
// Either way, this side talks to the server's control object ('manager') through one
// HostClient (src/remote/host.ts), and factories return proxies (src/manager/proxy.ts) or
// the src/queue classes themselves, hosted by the server.

import { randomBytes } from 'node:crypto';
import { InvalidStateError, invalidArg, ManagerError } from '../errors.ts';
import { checkOptionNames, checkTimeout, optionNames } from '../options.ts';
import type { FnSpec } from '../protocol/index.ts';
import { exited, Process } from '../process/process.ts';
import { taskName } from '../process/loader.ts';
import { isTaskRef, tasks, toFnSpec } from '../process/task.ts';
import { toKey } from '../remote/link.ts';
import { formatAddress, HostClient, type Address } from '../remote/host.ts';
import { decodeError } from '../protocol/index.ts';
import { JoinableQueue, Queue } from '../queue/queue.ts';
import type { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from '../queue/sync.ts';
import type { DictKey } from './proxy.ts';
import { ArrayProxy, DictProxy, ListProxy, managerLost, NamespaceProxy, ObjectProxy, translate, ValueProxy } from './proxy.ts';
import { BUILTIN_TYPEIDS, CONTROL_ID, ManagerServer, serverModule, type Factory, type ManagerStats, type ServeConfig, type ServerInfo, type ServerReport, type TypeidEntry } from './server.ts';

export type { Address } from '../remote/host.ts';

/** Options of `new BaseManager()` / `new Manager()` / `Manager.start()`. */
export interface BaseManagerOptions {
  /**
   * Where the server listens (start, getServer) or is reached (connect): a unix socket path,
   * or `{ host, port }` for TCP (port 0 picks a free port; read `manager.address` after).
   * @default a fresh unix socket path in os.tmpdir() (start, getServer); required for connect
   */
  address?: Address;
  /**
   * The shared secret of the challenge-response handshake (never sent over the wire).
   * @default 32 random bytes (start, getServer); required for connect
   */
  authkey?: Buffer | string;
  /** Largest frame the server accepts from a client, in bytes. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
}

/**
 * Options of `start()`: what runs in the server process before it serves.
 * Python: the `initializer` and `initargs` of SyncManager.start / BaseManager.start.
 */
export interface StartOptions<I extends unknown[] = any[]> {
  /**
   * Runs once in the manager process, with `initargs`, before the server listens: set up
   * what the factories then read (a module-level table, `globalThis`, a database handle).
   * Like factories it runs in another process, so it is a `tasks(url)` reference or a
   * self-contained function (sent by source). May be async: the server waits for it. If it
   * throws, `start()` rejects with ManagerError whose `cause` is its error and the server
   * process exits.
   * @default undefined
   */
  initializer?: (...args: I) => unknown;
  /** Arguments for `initializer`; queues, locks and proxies arrive working. @default [] */
  initargs?: I;
}

/** Options of `BaseManager.register()`. */
export interface RegisterOptions {
  /** Method names clients may call on what the factory makes. @default its public methods (not starting with `_`) */
  exposed?: readonly string[];
  /** Add a method named `typeid` to the class's instances. @default true */
  createMethod?: boolean;
}

// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const MANAGER_OPTIONS = optionNames<BaseManagerOptions>({ address: true, authkey: true, maxFrameSize: true });
const START_OPTIONS = optionNames<StartOptions>({ initializer: true, initargs: true });
const REGISTER_OPTIONS = optionNames<RegisterOptions>({ exposed: true, createMethod: true });
const BARRIER_OPTIONS = optionNames<{ timeout?: number }>({ timeout: true });

interface Registration {
  builtin: boolean;
  factory?: (...args: any[]) => unknown;
  exposed?: readonly string[];
}

type State = 'initial' | 'starting' | 'started' | 'connected' | 'shutdown';

const registries = new WeakMap<Function, Map<string, Registration>>();

/** Every typeid `cls` knows: its own registrations over its ancestors'. */
function registryOf(cls: Function): Map<string, Registration> {
  const chain: Function[] = [];
  for (let c: unknown = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c as Function);
  const merged = new Map<string, Registration>();
  for (const c of chain) for (const [k, v] of registries.get(c) ?? []) merged.set(k, v);
  return merged;
}

/** The factory as the server runs it: a tasks() reference becomes a spec to load. */
function runnable(factory: (...args: any[]) => unknown): Factory {
  return isTaskRef(factory) ? toFnSpec(factory, 'manager factory') : factory;
}

/** Marks the methods register() added, which a later register() of the same typeid may replace. */
const CREATE = Symbol('multiproc.manager.createMethod');
const server = tasks<typeof import('./server.ts')>(serverModule);
let managerCounter = 0;

/**
 * A manager of shared objects, with user-registered types: the base of `Manager`.
 * Python: multiprocessing.managers.BaseManager — `register()` is static on the class as in
 * Python; `start()` resolves once the server listens; factories run where the server runs
 * (for `start()` they must be `tasks(url)` references or self-contained functions).
 * Rejects with: ManagerError (server gone, start failed, use after shutdown),
 * AuthenticationError (wrong authkey), InvalidStateError (start twice), TypeError
 * (MP_INVALID_ARG: a bad option, an unknown typeid).
 *
 * @example
 * class QueueManager extends BaseManager {}
 * interface QueueManager { getQueue(): Promise<Queue<string>> }
 * QueueManager.register('getQueue');
 * const m = new QueueManager({ address: { host: '127.0.0.1', port: 50000 }, authkey: 'abracadabra' });
 * await m.connect();
 * const q = await m.getQueue();
 * await q.put('hello');
 */
export class BaseManager {
  #address: Address | undefined;
  #authkey: Buffer | undefined;
  readonly #maxFrameSize: number | undefined;
  #state: State = 'initial';
  #process: Process<any> | null = null;
  #client: HostClient | null = null;
  #shutdown: Promise<void> | null = null;

  constructor(options: BaseManagerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArg('new Manager(options): options must be an object like { address, authkey }');
    checkOptionNames(options, MANAGER_OPTIONS, `new ${new.target.name || 'Manager'}(options)`);
    const { address, authkey, maxFrameSize } = options;
    if (address !== undefined) {
      const ok = typeof address === 'string' ? address.length > 0 : typeof address === 'object' && address !== null && typeof address.host === 'string' && Number.isInteger(address.port) && address.port >= 0 && address.port <= 65535;
      if (!ok) throw invalidArg(`manager address must be a unix socket path or { host: string, port: 0-65535 }, got ${JSON.stringify(address)}`);
      this.#address = typeof address === 'string' ? address : { host: address.host, port: address.port };
    }
    if (authkey !== undefined) this.#authkey = toKey(authkey);
    if (maxFrameSize !== undefined && (!Number.isInteger(maxFrameSize) || maxFrameSize < 1024)) throw invalidArg('maxFrameSize must be an integer of at least 1024 bytes');
    this.#maxFrameSize = maxFrameSize;
  }

  /**
   * Create a manager and start its server process, running `initializer(...initargs)` there
   * first when given. Python: `Manager()` / `m = SyncManager(); m.start(initializer, initargs)`.
   * Rejects with ManagerError when the server could not start or the initializer threw (its
   * error is the `cause`), TypeError (MP_INVALID_ARG: a bad option).
   *
   * @example
   * await using manager = await Manager.start();
   * // With a setup step in the server process, before any factory runs:
   * const setup = tasks<typeof import('./setup.js')>(new URL('./setup.js', import.meta.url));
   * await using seeded = await Manager.start({ initializer: setup.loadTable, initargs: ['table.csv'] });
   */
  static async start<M extends BaseManager, I extends unknown[] = any[]>(this: new (options?: BaseManagerOptions) => M, options?: BaseManagerOptions & StartOptions<I>): Promise<M> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg(`${this.name}.start(options): options must be an object like { address, authkey, initializer, initargs }`);
    checkOptionNames(options, [...MANAGER_OPTIONS, ...START_OPTIONS], `${this.name}.start(options)`);
    // The constructor takes its own options (address, authkey, maxFrameSize), start() the rest.
    const { initializer, initargs, ...own } = options ?? {};
    const manager = new this(own);
    await manager.start({ initializer, initargs });
    return manager;
  }

  /**
   * Register a type: instances of this class (and subclasses) get a method `typeid(...args)`
   * that makes an object in the server with `factory(...args)` and returns its proxy. A
   * multiproc Queue, Lock… comes back as itself (served by the manager); any other object as
   * a method proxy of its public methods. Without `factory` (a client that only connects), the
   * method asks the server for a typeid registered there.
   * Python: BaseManager.register(typeid, callable, exposed=…, create_method=…). Type the
   * added method by declaring it on an interface of the same name as the class.
   * Throws TypeError (MP_INVALID_ARG) for a bad typeid or a name the class already uses.
   *
   * @example
   * class MathsManager extends BaseManager {}
   * interface MathsManager { Maths(): Promise<MethodProxy<Maths>> }
   * MathsManager.register('Maths', tasks<typeof import('./maths.js')>(new URL('./maths.js', import.meta.url)).makeMaths);
   */
  static register(typeid: string, factory?: (...args: any[]) => unknown, options: RegisterOptions = {}): void {
    if (typeof typeid !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(typeid)) throw invalidArg(`register(typeid): typeid must be an identifier-like string, got ${JSON.stringify(typeid)}`);
    if (factory !== undefined && typeof factory !== 'function') throw invalidArg(`register('${typeid}', factory): factory must be a function or a tasks(url) reference`);
    if (typeof options !== 'object' || options === null) throw invalidArg(`register('${typeid}', factory, options): options must be an object like { exposed, createMethod }`);
    checkOptionNames(options, REGISTER_OPTIONS, `register('${typeid}', factory, options)`);
    if (options.exposed !== undefined && (!Array.isArray(options.exposed) || !options.exposed.every((n) => typeof n === 'string'))) throw invalidArg('register(): exposed must be an array of method names');
    const existing = (this.prototype as unknown as Record<string, unknown>)[typeid];
    if (options.createMethod !== false && existing !== undefined && !(existing as { [CREATE]?: boolean })[CREATE]) {
      throw invalidArg(`register('${typeid}'): ${this.name} already has a member named '${typeid}'; pick another typeid or pass { createMethod: false } and call create('${typeid}')`);
    }
    let own = registries.get(this);
    if (!own) registries.set(this, (own = new Map()));
    own.set(typeid, { builtin: false, factory, exposed: options.exposed });
    if (options.createMethod !== false) {
      const method = function (this: BaseManager, ...args: unknown[]) {
        return this.create(typeid, ...args);
      };
      Object.defineProperty(method, CREATE, { value: true });
      Object.defineProperty(method, 'name', { value: typeid });
      Object.defineProperty(this.prototype, typeid, { value: method, writable: true, configurable: true, enumerable: false });
    }
  }

  /** Where the server listens: known after start(), listen() of getServer(), or given for connect(). */
  get address(): Address | undefined {
    return this.#address;
  }

  /** Pid of the server process `start()` forked; undefined otherwise. Python: `manager._process.pid`. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /**
   * Start the server in a new process (a daemon: it never keeps this process alive, and it
   * exits when this process dies), after running `initializer(...initargs)` there when given.
   * Resolves once it accepts connections. Factories and the initializer run in the server
   * process, so they must be `tasks(url)` references or self-contained functions.
   * Python: BaseManager.start(initializer, initargs).
   * Rejects with InvalidStateError (started, connected or shut down already), ManagerError
   * (the initializer threw, the server could not listen, or it exited: the error is the
   * `cause`; no server process is left), TypeError (MP_INVALID_ARG: a bad option; the
   * manager may then be started again), SerializationError (an initializer that cannot be
   * sent by source).
   */
  async start<I extends unknown[] = any[]>(options: StartOptions<I> = {}): Promise<void> {
    if (this.#state !== 'initial') throw new InvalidStateError(`${this.constructor.name}.start(): the manager is ${this.#state} already; a manager starts once`);
    // Checked before anything starts, so a mistake here leaves the manager startable.
    if (typeof options !== 'object' || options === null) throw invalidArg(`${this.constructor.name}.start(options): options must be an object like { initializer, initargs }`);
    checkOptionNames(options, START_OPTIONS, `${this.constructor.name}.start(options)`);
    const initializer = options.initializer === undefined ? undefined : toFnSpec(options.initializer, `${this.constructor.name}.start(): the initializer`);
    if (options.initargs !== undefined && !Array.isArray(options.initargs)) throw invalidArg(`${this.constructor.name}.start(): initargs must be an array of arguments for the initializer`);
    if (options.initargs !== undefined && initializer === undefined) throw invalidArg(`${this.constructor.name}.start(): initargs were given without an initializer`);
    this.#state = 'starting';
    try {
      const authkey = (this.#authkey ??= randomBytes(32));
      const typeids: ServeConfig['typeids'] = [];
      for (const [typeid, r] of registryOf(this.constructor)) {
        let factory: FnSpec | undefined;
        if (r.factory) factory = toFnSpec(r.factory, `the factory of typeid '${typeid}'`);
        typeids.push({ typeid, builtin: r.builtin || undefined, factory, exposed: r.exposed ? [...r.exposed] : undefined });
      }
      const config: ServeConfig = { address: this.#address, authkey: authkey.toString('hex'), maxFrameSize: this.#maxFrameSize, typeids, initializer, initargs: options.initargs };
      const report = new Queue<ServerReport>();
      const proc = new Process({ target: server.serveManager, args: [config, report], name: `${this.constructor.name}-${++managerCounter}`, daemon: true });
      proc.start();
      this.#process = proc;
      // The awaited report.get() keeps this process alive while the server may still report
      // (it is connected to this process's host, or its handle of `report` is on its way);
      // the exit watcher must not, or the daemon server would pin the program for its life.
      const died = exited(proc).then((): never => {
        throw new ManagerError(`the manager process exited (exit code ${proc.exitCode}) before it started serving; see its output above`);
      });
      died.catch(() => {});
      const reply: ServerReport = await Promise.race([report.get(), died]);
      if ('error' in reply) {
        const cause = decodeError(reply.error);
        // The server's target has returned: the process is exiting; the catch below reaps it.
        await proc.join(2000);
        if (reply.stage === 'initializer') throw new ManagerError(`the initializer ${taskName(initializer!)}() failed in the manager process: ${cause.message}`, { cause });
        throw new ManagerError(`the manager server could not listen at ${this.#address ? formatAddress(this.#address) : 'its address'}: ${cause.message}`, { cause });
      }
      this.#address = reply.address;
      this.#client = HostClient.for(reply.address, authkey, reply.pid);
      this.#state = 'started';
    } catch (err) {
      this.#state = 'shutdown';
      await this.#reap();
      throw err;
    }
  }

  /**
   * A server inside this process, serving this class's registered types: factories run here
   * and may close over local objects (Python's distributed-queue example). It does not
   * listen until `listen()` / `serveForever()`.
   * Python: BaseManager.get_server() — `serveForever()` resolves when the server is closed.
   * Throws TypeError (MP_INVALID_ARG) when a registered typeid has no factory.
   *
   * @example
   * const jobs = new Queue<number>();
   * class QueueManager extends BaseManager {}
   * QueueManager.register('getJobs', () => jobs);
   * const server = new QueueManager({ address: { host: '127.0.0.1', port: 50000 }, authkey: 'secret' }).getServer();
   * await server.serveForever();
   */
  getServer(): ManagerServer {
    const registry = new Map<string, TypeidEntry>();
    for (const [typeid, r] of registryOf(this.constructor)) {
      registry.set(typeid, { builtin: r.builtin, factory: r.factory ? runnable(r.factory) : undefined, exposed: r.exposed });
    }
    return new ManagerServer(registry, { address: this.#address, authkey: (this.#authkey ??= randomBytes(32)), maxFrameSize: this.#maxFrameSize, keepAlive: true });
  }

  /**
   * Connect to a server started elsewhere, at `address` with `authkey` (both required).
   * Python: BaseManager.connect().
   * Rejects with AuthenticationError (wrong authkey), ManagerError (nothing listens there),
   * InvalidStateError (started or connected already), TypeError (no address or authkey).
   */
  async connect(): Promise<void> {
    if (this.#state !== 'initial') throw new InvalidStateError(`${this.constructor.name}.connect(): the manager is ${this.#state} already`);
    if (this.#address === undefined) throw invalidArg('connect() needs the address of a running manager: new Manager({ address, authkey })');
    if (this.#authkey === undefined) throw invalidArg('connect() needs the authkey the manager was started with: new Manager({ address, authkey })');
    const client = HostClient.for(this.#address, this.#authkey);
    const info = (await client.call(CONTROL_ID, 'hello', [], { lost: managerLost })) as ServerInfo;
    if (typeof info?.pid !== 'number') throw new ManagerError(`the server at ${formatAddress(this.#address)} is not a multiproc manager`);
    this.#client = client;
    this.#state = 'connected';
  }

  /**
   * Make an object of a registered `typeid` in the server and return its proxy (what the
   * method added by `register()` does; useful for typing or with `createMethod: false`).
   * Python: BaseManager._create + the proxy type.
   * Rejects with ManagerError (not started/connected, shut down, server gone), TypeError (an
   * unknown typeid), or what the factory threw (a RemoteError).
   */
  create<T = ObjectProxy>(typeid: string, ...args: unknown[]): Promise<T> {
    if (this.#state !== 'started' && this.#state !== 'connected') {
      const why = this.#state === 'shutdown' ? 'was shut down' : 'is not started; call start() or connect() first';
      return Promise.reject(new ManagerError(`${this.constructor.name}.${typeid}(): the manager ${why}`));
    }
    return this.#client!.call(CONTROL_ID, 'create', [typeid, args], { lost: managerLost }).catch((err: unknown) => Promise.reject(translate(err, `${this.constructor.name}.${typeid}()`))) as Promise<T>;
  }

  /**
   * How many objects the server holds, overall and by typeid: shows that dropped proxies
   * free their objects. Python: BaseManager._debug_info / _number_of_objects.
   * Rejects with ManagerError (not started/connected, server gone).
   */
  stats(): Promise<ManagerStats> {
    if (this.#state !== 'started' && this.#state !== 'connected') return Promise.reject(new ManagerError(`${this.constructor.name}.stats(): the manager is not running (${this.#state})`));
    return this.#client!.call(CONTROL_ID, 'stats', [], { lost: managerLost }) as Promise<ManagerStats>;
  }

  /**
   * Stop the server process this manager started (asking it to exit, then SIGTERM, then
   * SIGKILL) and wait for it. Proxies used afterwards reject with ManagerError. For a
   * connected manager, only this object stops working (the server goes on, as in Python).
   * Python: BaseManager.shutdown(). Idempotent; never rejects.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      const wasStarted = this.#state === 'started';
      this.#state = 'shutdown';
      if (wasStarted && this.#process?.isAlive()) {
        let timer: NodeTimeout | undefined;
        const asked = this.#client!.call(CONTROL_ID, 'shutdown', [], { lost: managerLost }).catch(() => {});
        await Promise.race([asked, new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
      }
      await this.#reap();
    })();
    return this.#shutdown;
  }

  /** Same as shutdown(): `await using manager = await Manager.start()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Wait for the server process to exit: a short grace, then SIGTERM, then SIGKILL. */
  async #reap(): Promise<void> {
    const proc = this.#process;
    if (!proc || !proc.isAlive()) return;
    // Give the server a moment to finish on its own, then the usual SIGTERM, grace, SIGKILL.
    await proc.join(1000);
    await proc[Symbol.asyncDispose]();
  }

  toString(): string {
    return `<${this.constructor.name} ${this.#state}${this.#address ? ` at ${formatAddress(this.#address)}` : ''}>`;
  }
}

/**
 * A server process of shared objects, with factories for lists, dicts, queues, locks…; the
 * objects live in the manager process and every process reaches them through proxies.
 * Python: multiprocessing.Manager() (a SyncManager) — every proxy method is async; queues
 * and sync primitives are multiproc's own classes, served by the manager process.
 * Rejects with: ManagerError (start failed, used after shutdown or after the server died),
 * plus each factory's own argument errors (TypeError, MP_INVALID_ARG).
 *
 * @example
 * await using manager = await Manager.start();
 * const results = await manager.list<number>();
 * const p = new Process({ target: async (out: ListProxy<number>) => out.append(42), args: [results] });
 * p.start();
 * await p.join();
 * console.log(await results.toArray()); // [42]
 */
export class Manager extends BaseManager {
  /** A shared list. Python: Manager().list(init). */
  list<T = unknown>(init?: Iterable<T>): Promise<ListProxy<T>> {
    return this.create('list', init === undefined ? undefined : Array.isArray(init) ? init : [...init]);
  }

  /** A shared dict. Python: Manager().dict(init). Rejects with TypeError for a non-primitive key. */
  dict<K extends DictKey = string, V = unknown>(init?: Partial<Record<K & string, V>> | Map<K, V> | Iterable<readonly [K, V]>): Promise<DictProxy<K, V>> {
    const arg = init === undefined || init instanceof Map || Array.isArray(init) || typeof (init as Iterable<unknown>)[Symbol.iterator] !== 'function' ? init : [...(init as Iterable<readonly [K, V]>)];
    return this.create('dict', arg);
  }

  /** A shared namespace (named attributes). Python: Manager().Namespace(). */
  namespace<T extends Record<string, unknown> = Record<string, unknown>>(init?: Partial<T>): Promise<NamespaceProxy<T>> {
    return this.create('namespace', init);
  }

  /**
   * A shared single value. Python: Manager().Value(typecode, value) — the typecode ('i', 'd'…)
   * is recorded, the value stored as given. Rejects with TypeError for an unknown typecode.
   */
  value<T = number>(typecode: string, value: T): Promise<ValueProxy<T>> {
    return this.create('value', typecode, value);
  }

  /**
   * A shared fixed-length typed array ('b' 'B' 'h' 'H' 'i' 'I' 'f' 'd', or 'l' 'L' 'q' 'Q'
   * holding bigints). Python: Manager().Array(typecode, sequence). Rejects with TypeError for
   * an unknown typecode or a value of the wrong type.
   */
  array<T extends number | bigint = number>(typecode: string, seq: Iterable<number | bigint> | number): Promise<ArrayProxy<T>> {
    return this.create('array', typecode, typeof seq === 'number' || Array.isArray(seq) ? seq : [...seq]);
  }

  /** A Queue served by the manager process. Python: Manager().Queue(maxsize). @default maxsize 0 (no limit) */
  queue<T = unknown>(maxsize = 0): Promise<Queue<T>> {
    return this.create('queue', maxsize);
  }

  /** A JoinableQueue served by the manager process. Python: Manager().JoinableQueue(maxsize). @default maxsize 0 (no limit) */
  joinableQueue<T = unknown>(maxsize = 0): Promise<JoinableQueue<T>> {
    return this.create('joinableQueue', maxsize);
  }

  /** A Lock served by the manager process. Python: Manager().Lock(). */
  lock(): Promise<Lock> {
    return this.create('lock');
  }

  /** An RLock served by the manager process. Python: Manager().RLock(). */
  rlock(): Promise<RLock> {
    return this.create('rlock');
  }

  /** A Semaphore served by the manager process. Python: Manager().Semaphore(value). @default value 1 */
  semaphore(value = 1): Promise<Semaphore> {
    return this.create('semaphore', value);
  }

  /** A BoundedSemaphore served by the manager process. Python: Manager().BoundedSemaphore(value). @default value 1 */
  boundedSemaphore(value = 1): Promise<BoundedSemaphore> {
    return this.create('boundedSemaphore', value);
  }

  /**
   * A Condition served by the manager process, on `lock` (a lock or rlock of this same
   * manager) or a new RLock. Python: Manager().Condition(lock). Rejects with TypeError for a
   * lock of another manager or process.
   */
  condition(lock?: Lock | RLock): Promise<Condition> {
    return this.create('condition', lock);
  }

  /** An Event served by the manager process. Python: Manager().Event(). */
  event(): Promise<Event> {
    return this.create('event');
  }

  /**
   * A Barrier for `parties` processes, served by the manager process (no `action`: it would
   * run in the manager). Python: Manager().Barrier(parties, timeout=…). @default options.timeout no limit
   */
  barrier(parties: number, options: { timeout?: number } = {}): Promise<Barrier> {
    try {
      // Checked here so that a bad timeout rejects as itself, not as the server's reply.
      checkOptionNames(options, BARRIER_OPTIONS, 'Manager.barrier(parties, options)');
      return this.create('barrier', parties, { timeout: checkTimeout(options?.timeout, 'Manager.barrier()') });
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

for (const typeid of BUILTIN_TYPEIDS) {
  let own = registries.get(Manager);
  if (!own) registries.set(Manager, (own = new Map()));
  own.set(typeid, { builtin: true });
}

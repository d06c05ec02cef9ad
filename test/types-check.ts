// Type inference checks: `tsc --noEmit -p tsconfig.json` compiles this file (it is never run).
// Each `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
import { collect, repeat, tasks } from '../src/index.ts';
import { Manager, type DictProxy, type ListProxy, type ListSortOptions, type MethodProxy, type StartOptions } from '../src/index.ts';
import { Array as SharedArrayOf, Client, connection, Listener, Pipe, Queue, RawArray, RawValue, SharedArray, SharedValue, Value, type Connection } from '../src/index.ts';
import {
  asCompleted,
  AsyncResult,
  FIRST_COMPLETED,
  Future,
  Pool,
  ProcessPoolExecutor,
  processMap,
  wait,
  type CompletedFuture,
  type WaitResult,
} from '../src/process/index.ts';

const square = (x: number): number => x * x;
const add = (a: number, b: number): number => a + b;
const greet = async (name: string): Promise<string> => `hi ${name}`;
const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));

export async function poolTypes(pool: Pool): Promise<void> {
  const squares: Promise<number[]> = pool.map(square, [1, 2]);
  const byRef: Promise<number[]> = pool.map(math.square, [1, 2]);
  const awaited: Promise<string[]> = pool.map(greet, ['a']); // async tasks resolve to their value
  const one: Promise<number> = pool.apply(add, [1, 2]);
  const none: Promise<number> = pool.apply(math.pid);
  const star: Promise<number[]> = pool.starmap(add, [
    [1, 2],
    [3, 4],
  ]);
  const later: AsyncResult<number> = pool.applyAsync(square, [3], { callback: (v: number) => void v });
  const laterList: AsyncResult<number[]> = pool.mapAsync(math.slowDouble, [1]);
  const got: number[] = await laterList.get(100);
  for await (const y of pool.imap(square, [1, 2])) {
    const n: number = y;
    void n;
  }
  for await (const s of pool.imapUnordered(greet, ['x'])) {
    const t: string = s;
    void t;
  }
  const lambda: Promise<number[]> = pool.map((x) => x + 1, [1, 2]); // x inferred from the input
  const pm: Promise<number[]> = processMap(square, [1, 2], { desc: 'sq' });
  void [squares, byRef, awaited, one, none, star, later, got, lambda, pm];

  // @ts-expect-error items of the wrong type
  pool.map(square, ['a']);
  // @ts-expect-error missing arguments for a function that takes some
  pool.apply(add);
  // @ts-expect-error wrong argument types
  pool.apply(add, ['1', 2]);
  // @ts-expect-error the result is a number, not a string
  const wrong: Promise<string[]> = pool.map(square, [1]);
  // @ts-expect-error starmap items are argument lists
  pool.starmap(add, [1, 2]);
  void wrong;
}

export async function executorTypes(ex: ProcessPoolExecutor): Promise<void> {
  const f: Future<number> = ex.submit(add, 1, 2);
  const r: number = await f;
  const r2: number = await f.result(10);
  const g: Future<string> = ex.submit(greet, 'x');
  for await (const v of ex.map(add, [1, 2], [3, 4])) {
    const n: number = v;
    void n;
  }
  for await (const v of ex.map(square, [1, 2], { chunksize: 2, timeout: 100 })) {
    const n: number = v;
    void n;
  }
  for await (const done of asCompleted([f, f])) {
    const c: CompletedFuture<Future<number>> = done;
    const value: number = await done.result();
    void [c, value];
  }
  const w: WaitResult<Future<number> | Future<string>> = await wait([f, g], { returnWhen: FIRST_COMPLETED, timeout: 10 });
  void [r, r2, w];

  // @ts-expect-error wrong argument type for submit
  ex.submit(add, 1, 'two');
  // @ts-expect-error too few iterables for a two-argument function
  ex.map(add, [1, 2]);
}

export async function helperTypes(pool: Pool, ex: ProcessPoolExecutor): Promise<void> {
  const xs = [1, 2, 3];
  const all: Promise<number[]> = collect(pool.imap(square, xs));
  const r: Iterable<string> = repeat('x', 3);
  const promised: Promise<number[]> = collect([Promise.resolve(1), 2]);
  const futures = collect(asCompleted([ex.submit(square, 1)]));
  for await (const v of ex.map(add, xs, repeat(10))) {
    const n: number = v;
    void n;
  }
  const starred: Promise<number[]> = pool.starmap(add, repeat([1, 2] as [number, number], 3));
  void [all, r, promised, futures, starred];

  // @ts-expect-error collect keeps the item type: numbers, not strings
  const wrong: Promise<string[]> = collect(pool.imap(square, xs));
  // @ts-expect-error repeat('x') yields strings; add wants numbers
  ex.map(add, xs, repeat('x'));
  // @ts-expect-error repeat yields its value's type
  const notNumbers: Iterable<number> = repeat('x', 3);
  void [wrong, notNumbers];
}

export async function managerProxyTypes(lst: ListProxy<number>, d: DictProxy<string, boolean>, obj: MethodProxy<{ ping(): string }>): Promise<void> {
  const sliced: Promise<number[]> = lst.slice(null, null, -1);
  const set: Promise<void> = lst.setSlice(0, 2, [1, 2]);
  const stepped: Promise<void> = lst.setSlice(null, null, 2, new Set([1]));
  const deleted: Promise<void> = lst.deleteSlice(1, undefined, 2);
  const added: Promise<void> = lst.iadd([1]);
  const times: Promise<void> = lst.imul(3);
  const sortOptions: ListSortOptions = { reverse: true };
  const sorted: Promise<void> = lst.sort(sortOptions);
  const copy: Promise<Map<string, boolean>> = d.copy();
  for await (const k of d) {
    const key: string = k;
    void key;
  }
  const counted: Promise<number> = lst.callMethod<number>('count', [1]);
  const pinged: Promise<string> = obj.callMethod<string>('ping');
  void [sliced, set, stepped, deleted, added, times, sorted, copy, counted, pinged];

  // @ts-expect-error setSlice values of the wrong item type
  lst.setSlice(0, 1, ['a']);
  // @ts-expect-error iadd values of the wrong item type
  lst.iadd(['a']);
  // @ts-expect-error sort takes no key function
  lst.sort({ key: (x: number) => -x });
  // @ts-expect-error dict keys are strings here
  for await (const k of d) void (k satisfies number);
}

export async function managerStartTypes(): Promise<void> {
  const setLimit = (limit: number, label: string): void => void [limit, label];
  const m: Manager = await Manager.start({ initializer: setLimit, initargs: [10, 'x'] });
  await m.shutdown();
  const options: StartOptions<[number, string]> = { initializer: setLimit, initargs: [1, 'y'] };
  await new Manager().start(options);
  // @ts-expect-error initargs must match the initializer's parameters
  await Manager.start({ initializer: setLimit, initargs: ['10', 'x'] });
  // @ts-expect-error the initializer is a function
  await new Manager().start({ initializer: 42 });
}

export async function issue14Types(): Promise<void> {
  const v = Value('i', 0);
  const n: number = await v.get();
  await v.getLock().withLock(async () => v.set((await v.get()) + 1));
  const q = Value('q', 1n);
  const big: bigint = await q.get();
  await q.set(2); // a safe integer is accepted by a 64-bit typecode
  const raw: SharedValue<'d'> = RawValue('d', 0.5);
  const a: SharedArray<'i'> = SharedArrayOf('i', [1, 2, 3]);
  const xs: number[] = await a.toArray();
  const bigs: bigint[] = await RawArray('Q', 2).slice(0, 1);
  const same: SharedArray<'f'> = new SharedArray('f', 4, { lock: false });
  void [n, big, raw, xs, bigs, same];
  // @ts-expect-error a 32-bit typecode holds numbers, not strings
  await v.set('1');
  // @ts-expect-error a 64-bit typecode reads as bigint
  const notNumber: number = await q.get();
  // @ts-expect-error 'u' is not a supported typecode
  Value('u', 0);
  void notNumber;

  const [p1, p2] = Pipe<string>();
  await p1.sendBytes(new Uint8Array(4), 1, 2);
  const bytes: Buffer = await p2.recvBytes(10);
  const count: number = await p2.recvBytesInto(Buffer.alloc(8), 2);
  const listener = new Listener({ authkey: 'k' });
  const accepted: Connection<number> = await listener.accept<number>();
  const client: Connection<string> = await Client<string>(listener.address, { authkey: 'k' });
  const ready: Array<Connection<string>> = await connection.wait([p2, client], 100);
  const either: Array<Connection<number> | Listener> = await connection.wait([accepted, listener]);
  await new Queue<number>().shutdown({ immediate: true });
  void [bytes, count, ready, either];
  // @ts-expect-error Client needs an authkey
  await Client(listener.address, {});
}

export async function processTypes(): Promise<void> {
  const { Process, currentProcess, parentProcess } = await import('../src/index.ts');
  // A subclass with state and run() overridden, as Python's; `new Process()` needs no target.
  class Counter extends Process {
    count = 0;
    override async run(): Promise<void> {
      this.count++;
    }
  }
  const c = new Counter();
  const name: string = c.name;
  const ident: number | undefined = c.ident;
  const bare = new Process();
  const me = currentProcess();
  me.name = 'Renamed';
  const facts: [string, number, number, boolean, null | number, boolean] = [me.name, me.pid, me.ident, me.daemon, me.exitCode, me.isAlive()];
  const parent = parentProcess();
  if (parent) {
    const joined: Promise<void> = parent.join(100);
    const alive: boolean = parent.isAlive();
    void [joined, alive];
  }
  // @ts-expect-error currentProcess() is not joined: only parentProcess() and a Process are
  void me.join();
  // @ts-expect-error a parent's name is read-only
  if (parent) parent.name = 'x';
  void [name, ident, bare, facts];
}

// Type inference checks: `tsc --noEmit -p tsconfig.json` compiles this file (it is never run).
// Each `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
import { collect, repeat, tasks } from '../src/index.ts';
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

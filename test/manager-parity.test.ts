// Manager proxies against Python's list and dict, over a real Manager process: slicing and
// slice assignment with Python's rules, in-place `+=` / `*=`, sort, dict copy and async
// iteration, the generic callMethod (Python's _callmethod), atomicity of the new methods
// under 4 racing processes, and Manager.start({ initializer, initargs }).
// Expected values were computed with CPython 3 (`python3 -c "..."`).
import { suite } from 'uvu';
import { ManagerError, RemoteError } from '../src/errors.ts';
import { ListProxy, Manager, type MethodProxy } from '../src/manager/index.ts';
import { Process } from '../src/process/process.ts';
import { pidAlive } from '../src/process/spawn.ts';
import { tasks } from '../src/process/task.ts';
import { Queue } from '../src/queue/queue.ts';
import { Barrier } from '../src/queue/sync.ts';
import { assert, disposeAllAndCheckLeaks, failure as failed, track, waitFor, withinMs } from './helpers.ts';
import type { makeReader } from './fixtures/manager-parity-init.ts';

const work = tasks<typeof import('./fixtures/manager-parity-work.ts')>(new URL('./fixtures/manager-parity-work.ts', import.meta.url));
const init = tasks<typeof import('./fixtures/manager-parity-init.ts')>(new URL('./fixtures/manager-parity-init.ts', import.meta.url));
const counterModule = tasks<typeof import('./fixtures/manager-work.ts')>(new URL('./fixtures/manager-work.ts', import.meta.url));
const test = suite('manager-parity');

/** A Manager with a registered type that reads what the initializer set. */
class InitManager extends Manager {}
interface InitManager {
  Reader(): Promise<MethodProxy<ReturnType<typeof makeReader>>>;
}
InitManager.register('Reader', init.makeReader);

/** A registered type with a restricted `exposed` list, for callMethod. */
class CounterManager extends Manager {}
interface CounterManager {
  Counter(start?: number): Promise<MethodProxy<{ increment(by?: number): number; value(): number }>>;
}
CounterManager.register('Counter', counterModule.makeCounter, { exposed: ['increment', 'value'] });

let manager: CounterManager;

/** The error `promise` rejects with (see helpers.ts `failure`), within 15 s. */
const failure = (promise: Promise<unknown>, what: string) => failed(promise, what, 15_000);

async function runAll(procs: Process<any>[], what: string): Promise<void> {
  for (const p of procs) p.start();
  await withinMs(Promise.all(procs.map((p) => p.join())), 120_000, what);
  assert.equal(
    procs.map((p) => p.exitCode),
    procs.map(() => 0),
    `${what}: exit codes`,
  );
}

test.before(async () => {
  manager = track(await withinMs(CounterManager.start(), 30_000, 'CounterManager.start()'));
});

test('list.slice: Python slicing with steps, negative bounds and steps, clamping, empty results', async () => {
  const lst = await manager.list<number>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(await lst.slice(null, null, 2), [0, 2, 4, 6, 8]);
  assert.equal(await lst.slice(null, null, -1), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.equal(await lst.slice(-3), [7, 8, 9]);
  assert.equal(await lst.slice(8, 2, -2), [8, 6, 4]);
  assert.equal(await lst.slice(-100, 100, 3), [0, 3, 6, 9]);
  assert.equal(await lst.slice(5, 2), []);
  assert.equal(await lst.slice(undefined, undefined, -3), [9, 6, 3, 0]);
  assert.equal(await lst.slice(1, -1, 4), [1, 5]);
  const zero = await failure(lst.slice(0, 5, 0), 'a zero step');
  assert.instance(zero, RangeError);
  assert.match(zero.message, /slice step cannot be zero/);
  const fractional = await failure(lst.slice(0, 5, 1.5), 'a fractional step');
  assert.instance(fractional, TypeError);
  assert.is(fractional.code, 'MP_INVALID_ARG');
  const empty = await manager.list<number>();
  assert.equal(await empty.slice(null, null, -1), []);
  const arr = await manager.array('i', [1, 2, 3, 4]);
  assert.equal(await arr.slice(null, null, -2), [4, 2]);
});

test('list.setSlice: simple slices resize the list, extended slices must match in length', async () => {
  const lst = await manager.list<number | string>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await lst.setSlice(2, 5, ['a', 'b']);
  assert.equal(await lst.toArray(), [0, 1, 'a', 'b', 5, 6, 7, 8, 9]);

  const stepped = await manager.list<number | string>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await stepped.setSlice(null, null, 3, ['x', 'y', 'z', 'w']);
  assert.equal(await stepped.toArray(), ['x', 1, 2, 'y', 4, 5, 'z', 7, 8, 'w']);
  await stepped.setSlice(8, 2, -3, new Set(['p', 'q'])); // any iterable
  assert.equal(await stepped.toArray(), ['x', 1, 2, 'y', 4, 'q', 'z', 7, 'p', 'w']);

  const small = await manager.list<number | string>([0, 1, 2, 3, 4]);
  await small.setSlice(3, 1, ['i']); // lst[3:1] = ['i'] inserts at 3
  assert.equal(await small.toArray(), [0, 1, 2, 'i', 3, 4]);
  await small.setSlice(null, null, []); // lst[:] = []
  assert.equal(await small.toArray(), []);
  await small.setSlice(null, null, [7, 8]);
  assert.equal(await small.toArray(), [7, 8]);

  const mismatch = await failure(stepped.setSlice(null, null, 2, [1, 2]), 'an extended slice of another size');
  assert.instance(mismatch, RangeError);
  assert.match(mismatch.message, /attempt to assign sequence of size 2 to extended slice of size 5/);
  assert.equal(await stepped.toArray(), ['x', 1, 2, 'y', 4, 'q', 'z', 7, 'p', 'w'], 'unchanged after the refusal');
  assert.instance(await failure(stepped.setSlice(0, 1, 0, [1]), 'a zero step'), RangeError);
  const notIterable = await failure(stepped.setSlice(0, 1, 5 as unknown as number[]), 'values that are not iterable');
  assert.instance(notIterable, TypeError);
  assert.is(notIterable.code, 'MP_INVALID_ARG');
});

test('list.deleteSlice: steps, negative steps, open ends, empty and out-of-range slices', async () => {
  const a = await manager.list<number>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await a.deleteSlice(null, null, 3);
  assert.equal(await a.toArray(), [1, 2, 4, 5, 7, 8]);
  const b = await manager.list<number>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await b.deleteSlice(-2, 1, -2);
  assert.equal(await b.toArray(), [0, 1, 3, 5, 7, 9]);
  const c = await manager.list<number>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await c.deleteSlice(7);
  assert.equal(await c.toArray(), [0, 1, 2, 3, 4, 5, 6]);
  await c.deleteSlice(50, 60);
  await c.deleteSlice(4, 2);
  assert.equal(await c.toArray(), [0, 1, 2, 3, 4, 5, 6]);
  await c.deleteSlice();
  assert.equal(await c.toArray(), []);
  assert.instance(await failure(c.deleteSlice(0, 1, 0), 'a zero step'), RangeError);
});

test('list.iadd and list.imul: Python += and *=, in place', async () => {
  const lst = await manager.list<number>([1, 2]);
  assert.is(await lst.iadd([3, 4]), undefined);
  await lst.iadd(new Set([5]));
  assert.equal(await lst.toArray(), [1, 2, 3, 4, 5]);
  await lst.imul(2);
  assert.equal(await lst.toArray(), [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
  await lst.imul(1);
  assert.is(await lst.len(), 10);
  await lst.imul(-3); // n < 1 empties, as in Python
  assert.equal(await lst.toArray(), []);
  await lst.iadd([7]);
  await lst.imul(3);
  assert.equal(await lst.toArray(), [7, 7, 7]);
  const frac = await failure(lst.imul(1.5), 'imul by a fraction');
  assert.instance(frac, TypeError);
  assert.is(frac.code, 'MP_INVALID_ARG');
  const huge = await failure(lst.imul(2 ** 31), 'imul past the largest array');
  assert.instance(huge, RangeError);
  assert.equal(await lst.toArray(), [7, 7, 7], 'unchanged after the refusals');
});

test('list.sort: numbers with bigints, strings by code point, arrays; reverse keeps equal items in order; mixed types refused', async () => {
  const nums = await manager.list<number | bigint>([3, -1.5, 2n, 10n ** 20n, 0]);
  await nums.sort();
  assert.equal(await nums.toArray(), [-1.5, 0, 2n, 3, 10n ** 20n]);
  await nums.sort({ reverse: true });
  assert.equal(await nums.toArray(), [10n ** 20n, 3, 2n, 0, -1.5]);

  // Python orders str by code point: U+E000 and U+FF5E before an astral character.
  const strs = await manager.list<string>(['b', 'a', '\uff5e', '\u{1F600}', '\ue000', 'B']);
  await strs.sort();
  assert.equal(await strs.toArray(), ['B', 'a', 'b', '\ue000', '\uff5e', '\u{1F600}']);

  // bool is an int in Python: sorted([1, True, 0, False]) keeps 1 before True, 0 before False.
  const bools = await manager.list<number | boolean>([1, true, 0, false]);
  await bools.sort();
  assert.equal(await bools.toArray(), [0, false, 1, true]);
  await bools.sort({ reverse: true });
  assert.equal(await bools.toArray(), [1, true, 0, false]);

  const tuples = await manager.list<unknown[]>([[2, 'a'], [1, 'b'], [1, 'a'], [1]]);
  await tuples.sort();
  assert.equal(await tuples.toArray(), [[1], [1, 'a'], [1, 'b'], [2, 'a']]);

  const empty = await manager.list<number>();
  await empty.sort();
  assert.equal(await empty.toArray(), []);

  const mixed = await manager.list<unknown>([3, 'a', 1]);
  const refused = await failure(mixed.sort(), 'sort of a mixed list');
  assert.instance(refused, TypeError);
  assert.match(refused.message, /'<' not supported between/);
  assert.equal(await mixed.toArray(), [3, 'a', 1], 'unchanged after the refusal');
  const objects = await manager.list<unknown>([{ a: 1 }, { a: 0 }]);
  assert.instance(await failure(objects.sort(), 'sort of objects'), TypeError);

  const keyed = await failure(nums.sort({ key: (x: number) => -x } as never), 'sort with a key function');
  assert.instance(keyed, TypeError);
  assert.is(keyed.code, 'MP_INVALID_ARG');
  assert.match(keyed.message, /no key function.*toArray\(\).*setSlice/);
});

test('list: count, index with bounds, insert, remove, pop with Python edge cases', async () => {
  const lst = await manager.list<number>([1, 2, 1, 3, 1]);
  assert.is(await lst.count(1), 3);
  assert.is(await lst.count(9), 0);
  assert.is(await lst.index(1, 1), 2);
  assert.is(await lst.index(1, -2), 4);
  assert.instance(await failure(lst.index(1, 1, 2), 'index outside [start, stop)'), RangeError);
  await lst.insert(-100, 0); // clamped to the front
  await lst.insert(-1, 9); // before the last item
  assert.equal(await lst.toArray(), [0, 1, 2, 1, 3, 9, 1]);
  await lst.remove(1);
  assert.equal(await lst.toArray(), [0, 2, 1, 3, 9, 1]);
  assert.is(await lst.pop(-2), 9);
  assert.instance(await failure(lst.pop(-10), 'pop out of range'), RangeError);
  const empty = await manager.list<number>();
  const popEmpty = await failure(empty.pop(), 'pop from an empty list');
  assert.instance(popEmpty, RangeError);
  assert.match(popEmpty.message, /pop from an empty list/);
});

test('dict: copy is a local Map, popitem is LIFO, setdefault/pop/update/has/items/values', async () => {
  const d = await manager.dict<string | number, number>([
    ['a', 1],
    [2, 2],
  ]);
  const copy = await d.copy();
  assert.instance(copy, Map);
  assert.equal(copy, new Map<string | number, number>([['a', 1], [2, 2]]));
  copy.set('z', 26);
  assert.not.ok(await d.has('z'), 'the copy is not shared');
  assert.is(await d.setdefault('b', 3), 3);
  assert.is(await d.setdefault('b', 4), 3);
  await d.update({ c: 5 });
  assert.equal(await d.items(), [['a', 1], [2, 2], ['b', 3], ['c', 5]]);
  assert.equal(await d.values(), [1, 2, 3, 5]);
  assert.equal(await d.popitem(), ['c', 5]);
  assert.equal(await d.popitem(), ['b', 3]);
  assert.is(await d.pop(2), 2);
  assert.is(await d.pop(2, -1), -1);
  await d.clear();
  assert.equal(await d.copy(), new Map());
  const empty = await failure(d.popitem(), 'popitem of an empty dict');
  assert.instance(empty, RemoteError);
  assert.is((empty as RemoteError).remoteName, 'KeyError');
  const missing = await failure(d.pop('nope'), 'pop of a missing key');
  assert.is((missing as RemoteError).remoteName, 'KeyError');
  assert.is(missing.key, 'nope');
});

test('dict: for await iterates 3,000 keys in insertion order, in slices; an empty dict yields nothing', async () => {
  const entries: [string | number, number][] = Array.from({ length: 3000 }, (_, i) => [i % 2 ? `k${i}` : i, i]);
  const d = await manager.dict<string | number, number>(entries);
  const seen: (string | number)[] = [];
  for await (const k of d) seen.push(k);
  assert.is(seen.length, 3000);
  assert.equal(seen, entries.map(([k]) => k));
  assert.equal(seen, await d.keys());

  // Changes during the iteration: a key added is seen, a key removed ahead is not.
  const changing: (string | number)[] = [];
  for await (const k of d) {
    if (changing.length === 0) {
      await d.delete(2000);
      await d.set('late', -1);
    }
    changing.push(k);
  }
  assert.is(changing.length, 3000);
  assert.not.ok(changing.includes(2000));
  assert.is(changing.at(-1), 'late');

  const none = await manager.dict();
  for await (const k of none) assert.unreachable(`an empty dict yielded ${String(k)}`);
});

test('callMethod: any exposed method by name (Python _callmethod); an unexposed name is a TypeError naming the exposed ones', async () => {
  const lst = await manager.list<number>([1, 1, 2]);
  assert.is(await lst.callMethod<number>('count', [1]), 2);
  await lst.callMethod('append', [3]);
  assert.equal(await lst.callMethod('slice', [null, null, -1]), [3, 2, 1, 1]);
  const d = await manager.dict<string, number>();
  assert.is(await d.callMethod('setdefault', ['a', 1]), 1);
  assert.equal(await d.callMethod('keys'), ['a']);

  for (const name of ['nope', 'constructor', 'items', '__proto__']) {
    const err = await failure(lst.callMethod(name), `callMethod('${name}')`);
    assert.instance(err, TypeError, name);
    assert.is(err.code, 'MP_INVALID_ARG', name);
    assert.match(err.message, new RegExp(`callMethod\\('${name}'\\).*exposed: .*append.*sort`), name);
  }
  const badArgs = await failure(lst.callMethod('append', 3 as unknown as unknown[]), 'callMethod with args not an array');
  assert.instance(badArgs, TypeError);
  // A method the server does expose keeps its own errors.
  assert.instance(await failure(lst.callMethod('get', [10]), 'callMethod get out of range'), RangeError);

  // A registered type: its exposed list comes from register(..., { exposed }).
  const counter = await manager.Counter(5);
  assert.is(await counter.callMethod<number>('increment', [2]), 7);
  assert.is(await counter.callMethod<number>('value'), 7);
  const hidden = await failure(counter.callMethod('slowValue'), 'callMethod of a method left out of exposed');
  assert.instance(hidden, TypeError);
  assert.is(hidden.code, 'MP_INVALID_ARG');
  assert.match(hidden.message, /'slowValue'.*typeid 'Counter'.*exposed: increment, value/);
});

test('atomic under 4 processes: iadd batches, setdefault and pop races lose and duplicate nothing', async () => {
  // One set of 4 processes runs the four races in turn, each race starting at a barrier, so
  // that all four processes begin it together (fixtures/manager-parity-work.ts, allRaces).
  const races = {
    lst: await manager.list<number>(),
    d: await manager.dict<string, number>(),
    seen: await manager.list<number[]>(),
    stack: await manager.list<number>(Array.from({ length: 4000 }, (_, i) => i)),
    won: await manager.list<number[]>(),
    keyed: await manager.dict<number, number>(Array.from({ length: 2000 }, (_, i) => [i, i] as [number, number])),
    keyWins: await manager.list<number[]>(),
  };
  const start = new Barrier(4);
  await runAll(
    [0, 1, 2, 3].map((me) => track(new Process({ target: work.allRaces, args: [me, races, start] }))),
    'the 4 processes doing iadd, setdefault, then popping one list and one dict',
  );

  const items = await races.lst.toArray();
  assert.is(items.length, 20_000);
  assert.is(new Set(items).size, 20_000);
  // Each batch of one iadd stays contiguous: no other process's items inside it.
  for (let i = 0; i < items.length; i++) {
    const x = items[i]!;
    if ((x % 5000) % 7 !== 0) assert.is(items[i - 1], x - 1, `item ${x} follows its batch`);
  }

  const reports = await races.seen.toArray();
  assert.is(reports.length, 4);
  const final = await races.d.copy();
  for (let k = 0; k < 500; k++) {
    const winner = final.get(`k${k}`);
    for (const report of reports) assert.is(report[k], winner, `every process saw the one value of k${k}`);
  }

  const popped = (await races.won.toArray()).flat();
  assert.is(popped.length, 4000);
  assert.is(new Set(popped).size, 4000);
  assert.is(await races.stack.len(), 0);

  const removed = (await races.keyWins.toArray()).flat();
  assert.is(removed.length, 2000);
  assert.is(new Set(removed).size, 2000);
  assert.is(await races.keyed.len(), 0);
});

test('Manager.start({ initializer, initargs }): runs in the server process before it serves; a factory reads what it set', async () => {
  const done = new Queue<string>();
  const m = track(await withinMs(InitManager.start({ initializer: init.setMotto, initargs: ['carpe diem', done] }), 30_000, 'InitManager.start with an initializer'));
  assert.is(await withinMs(done.get(), 10_000, 'the initializer to report'), `motto set in ${m.pid}`);
  const reader = await m.Reader();
  assert.is(await reader.motto(), 'carpe diem');
  assert.is(await reader.pid(), m.pid);
  assert.instance(await m.list(), ListProxy, 'the built-in factories still work');

  // The instance form, with a self-contained function sent by source.
  const bySource = track(new InitManager());
  await withinMs(
    bySource.start({
      initializer: (motto: string) => {
        globalThis.parityMotto = `${motto}!`;
      },
      initargs: ['by source'],
    }),
    30_000,
    'start() with a by-source initializer',
  );
  assert.is(await (await bySource.Reader()).motto(), 'by source!');
  await done.close();
});

test('Manager.start: a throwing initializer rejects with ManagerError (cause: its error) and leaves no server process', async () => {
  // The three starts below are independent: their manager processes start at once.
  const m = track(new InitManager());
  const failed = failure(m.start({ initializer: init.refuse }), 'start() with a failing initializer');
  // The static form rejects the same way; a by-source initializer that reads its enclosing
  // scope is explained.
  const captured = 'not in the manager process';
  const viaStaticFailed = failure(
    InitManager.start({
      initializer: () => {
        globalThis.parityMotto = captured;
      },
    }),
    'InitManager.start with a closure initializer',
  );
  // A bad option is refused before anything starts: the manager can still be started.
  const fresh = track(new InitManager());
  const bad = await failure(fresh.start({ initializer: 42 as never }), 'start() with an initializer that is not a function');
  const freshStarted = withinMs(fresh.start(), 30_000, 'start() after a refused option');
  // Each outcome is checked where it is awaited below; this keeps one that fails early from
  // counting as unhandled meanwhile.
  for (const p of [failed, viaStaticFailed, freshStarted]) p.catch(() => {});

  const err = await failed;
  assert.instance(err, ManagerError);
  assert.match(err.message, /initializer refuse\(\) failed in the manager process: the initializer refuses/);
  assert.instance(err.cause, RemoteError);
  assert.is((err.cause as RemoteError).remoteName, 'RangeError');
  assert.is((err.cause as RemoteError).properties.code, 'E_REFUSED');
  assert.type(m.pid, 'number');
  await waitFor(() => !pidAlive(m.pid!), 'the failed manager process to exit');
  assert.instance(await failure(m.list(), 'a factory after the failed start'), ManagerError);

  const viaStatic = await viaStaticFailed;
  assert.instance(viaStatic, ManagerError);
  assert.match(viaStatic.message, /the manager initializer was sent to the manager process by source, but reads `captured`/);

  assert.instance(bad, TypeError);
  assert.is(bad.code, 'MP_INVALID_ARG');
  await freshStarted;
  assert.is(await (await fresh.Reader()).motto(), null, 'no initializer ran in this one');
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();

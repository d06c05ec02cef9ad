// Task transport over the child entry itself: functions by source and by module reference,
// async tasks, error fidelity, structured clone, and the closure diagnosis.
// Talks the raw protocol (src/protocol/) to a child from spawnChild, so it tests
// child.ts and task.ts without the pool on top.
import { suite } from 'uvu';
import type { ChildProcess } from 'node:child_process';
import { Process, RemoteError, SerializationError, tasks } from '../src/index.ts';
import { decodeError, isBranded, PROTOCOL, type FromChild } from '../src/protocol/index.ts';
import { initMessage, spawnChild } from '../src/process/spawn.ts';
import { toFnSpec } from '../src/process/task.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const failing = tasks<typeof import('./fixtures/throw-custom.ts')>(new URL('./fixtures/throw-custom.ts', import.meta.url));
const test = suite('task-transport');

let child: ChildProcess;
let nextKey = 0;
let nextId = 0;
const pending = new Map<number, (m: FromChild) => void>();

/** Run `fn` over `items` in the shared test child; resolves values or rejects the decoded error. */
function run(fn: Function, items: unknown[], spread = false): Promise<unknown[]> {
  const key = ++nextKey;
  const id = ++nextId;
  child.send({ mp: PROTOCOL, type: 'define', key, fn: toFnSpec(fn) });
  const reply = new Promise<unknown[]>((resolve, reject) => {
    pending.set(id, (m) => {
      if (m.type === 'result') resolve(m.values);
      else if (m.type === 'error') reject(decodeError(m.error));
    });
  });
  child.send({ mp: PROTOCOL, type: 'call', id, key, items, spread });
  return withinMs(reply, 15_000, `call of ${fn.name || 'anonymous'}`);
}

test.before(async () => {
  child = track(spawnChild('task-transport test child'));
  const ready = new Promise<void>((resolve) => {
    child.on('message', (m: unknown) => {
      if (!isBranded(m)) return;
      const msg = m as FromChild;
      if (msg.type === 'ready') resolve();
      else if (msg.type === 'result' || msg.type === 'error') pending.get(msg.id)?.(msg);
    });
  });
  child.send(initMessage({ name: 'TransportChild', role: 'worker' }));
  await withinMs(ready, 15_000, 'child ready');
});

test('a by-source arrow function', async () => {
  assert.equal(await run((x: number) => x * x, [1, 2, 3]), [1, 4, 9]);
});

test('spread arguments (starmap-style)', async () => {
  assert.equal(await run((a: number, b: number) => a - b, [[5, 1], [10, 4]], true), [4, 6]);
});

test('an async function is awaited', async () => {
  const slow = async (x: number) => {
    await new Promise((r) => setTimeout(r, 5));
    return x + 0.5;
  };
  assert.equal(await run(slow, [1, 2]), [1.5, 2.5]);
});

test('nested named functions and classes in a .ts file survive the tsx transform', async () => {
  function outer(x: number): string {
    function twice(y: number): number {
      return y * 2;
    }
    class Box {
      constructor(readonly v: number) {}
      get label(): string {
        return `box:${this.v}`;
      }
    }
    return `${new Box(twice(x)).label}/${twice.name}/${Box.name}`;
  }
  assert.equal(await run(outer, [21]), ['box:42/twice/Box']);
});

test('require() and await import() work inside a by-source function', async () => {
  const useModules = async (p: string) => {
    const path = require('node:path');
    const { createHash } = await import('node:crypto');
    return `${path.basename(p)}:${createHash('sha1').update('x').digest('hex').slice(0, 6)}`;
  };
  assert.equal(await run(useModules, ['/a/b/c.txt']), ['c.txt:11f6ad']);
});

test('a method written in shorthand is sent as a function', async () => {
  const obj = {
    triple(x: number) {
      return 3 * x;
    },
    async later(x: number) {
      return x;
    },
  };
  assert.equal(await run(obj.triple, [2]), [6]);
  assert.equal(await run(obj.later, [7]), [7]);
});

test('a module reference from a .ts fixture', async () => {
  assert.equal(await run(math.square, [4, 5]), [16, 25]);
  assert.equal(await run(math.add, [[1, 2]], true), [3]);
  assert.equal(await run(math.slowDouble, [[4, 1]], true), [8]);
});

test('values cross by structured clone: Map, Set, Date, BigInt, typed arrays, cycles', async () => {
  const echo = (v: unknown) => v;
  const cyclic: { self?: unknown; n: number } = { n: 1 };
  cyclic.self = cyclic;
  const [back] = (await run(echo, [{ m: new Map([[1, 'a']]), s: new Set([2]), d: new Date(0), b: 10n ** 20n, t: new Float64Array([1.5]), c: cyclic }])) as any[];
  assert.ok(back.m instanceof Map && back.m.get(1) === 'a');
  assert.ok(back.s instanceof Set && back.s.has(2));
  assert.is(back.d.getTime(), 0);
  assert.is(back.b, 10n ** 20n);
  assert.ok(back.t instanceof Float64Array && back.t[0] === 1.5);
  assert.is(back.c.self, back.c);
});

test('a closure over an enclosing variable fails with a message naming it and the fix', async () => {
  const table = new Map([[1, 'one']]);
  const lookup = (k: number) => table.get(k);
  const err = await rejection(run(lookup, [1]), RemoteError, 'a closure sent by source');
  assert.is(err.remoteName, 'ReferenceError');
  assert.match(err.message, /lookup\(\) was sent to the worker by source/);
  assert.match(err.message, /`table`/);
  assert.match(err.message, /tasks\(url\)\.lookup/);
});

test('a thrown custom error keeps name, message, stack, own properties and cause', async () => {
  const err = await rejection(run(failing.failWithQuota, [5]), RemoteError, 'a task throwing a custom error');
  assert.is(err.code, 'MP_REMOTE');
  assert.is(err.remoteName, 'QuotaError');
  assert.is(err.message, 'quota of 5 exceeded');
  assert.is(err.properties.code, 'E_QUOTA');
  assert.is(err.properties.limit, 5);
  assert.is((err as unknown as { limit: number }).limit, 5, 'own properties are readable on the error too');
  assert.match(err.remoteStack ?? '', /failWithQuota/);
  assert.match(err.remoteStack ?? '', /throw-custom\.ts/);
  assert.ok(err.cause instanceof RemoteError, 'cause is decoded too');
  assert.is(err.cause.remoteName, 'RangeError');
  assert.is(err.cause.message, 'inner cause');
});

test('an error at item 2 of a batch reports that index and the earlier values', async () => {
  const child2 = new Promise<FromChild>((resolve) => {
    const id = ++nextId;
    const key = ++nextKey;
    pending.set(id, resolve);
    child.send({ mp: PROTOCOL, type: 'define', key, fn: toFnSpec((x: number) => { if (x === 3) throw new Error('three'); return x; }) });
    child.send({ mp: PROTOCOL, type: 'call', id, key, items: [1, 2, 3, 4], spread: false });
  });
  const m = await withinMs(child2, 10_000, 'batch with an error');
  assert.is(m.type, 'error');
  if (m.type === 'error') {
    assert.is(m.index, 2);
    assert.equal(m.values, [1, 2]);
  }
});

test('a result that cannot be cloned is a SerializationError; the child keeps working', async () => {
  const err = await rejection(run(failing.returnFunction, [null]), SerializationError, 'a task returning a function');
  assert.is(err.code, 'MP_SERIALIZATION');
  assert.match(err.message, /returnFunction\(\)/);
  assert.equal(await run((x: number) => x + 1, [1]), [2]);
});

test('an argument that cannot be cloned is a SerializationError naming it (Process)', () => {
  const p = new Process({ target: (_a: number, _b: unknown) => {}, args: [1, () => {}] });
  assert.throws(() => p.start(), (e: unknown) => e instanceof SerializationError && (e as SerializationError).argIndex === 1 && /argument 1/.test((e as Error).message));
});

test('native and bound functions are refused with a SerializationError', () => {
  assert.throws(() => toFnSpec(Math.sqrt), (e: unknown) => e instanceof SerializationError && /built-in/.test((e as Error).message));
  assert.throws(() => toFnSpec(((x: number) => x).bind(null)), (e: unknown) => e instanceof SerializationError && /bound/.test((e as Error).message));
  assert.throws(() => toFnSpec(42), (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'MP_INVALID_ARG');
});

test('a missing export names the module and the export', async () => {
  const bad = tasks<{ nope(): void }>(new URL('./fixtures/math.ts', import.meta.url));
  const err = await rejection(run(bad.nope, [1]), RemoteError, 'a missing export');
  assert.match(err.message, /no exported function 'nope'/);
});

test('a tasks() reference cannot be called directly; relative paths are refused', () => {
  assert.throws(() => (math.square as (x: number) => number)(2), /cannot be called directly/);
  assert.throws(() => tasks('./fixtures/math.ts'), /relative path/);
});

test.after(async () => {
  child.disconnect();
  await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
  await disposeAllAndCheckLeaks();
});
test.run();

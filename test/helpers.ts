// Shared test helpers: disposal tracking and the leak check every test file ends with.

import { ChildProcess } from 'node:child_process';
import * as assert from 'uvu/assert';
import { Process } from '../src/process/process.ts';
import { liveChildren, pidAlive } from '../src/process/spawn.ts';

type Disposable = { [Symbol.asyncDispose](): Promise<void> };
const tracked: Disposable[] = [];
const pids = new Set<number>();

/**
 * Register something that owns processes for disposal at the end of the file: a Pool,
 * Process, Manager… (disposed with `Symbol.asyncDispose`), or a raw ChildProcess a test
 * spawned itself (SIGKILLed if it still runs, and its pid checked dead by the leak check),
 * so a test that fails midway leaves nothing running.
 */
export function track<T extends Disposable | ChildProcess>(thing: T): T {
  if (thing instanceof ChildProcess) {
    const child = thing;
    rememberPid(child.pid);
    tracked.push({
      async [Symbol.asyncDispose]() {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await withinMs(exited, 10_000, `the raw child ${child.pid} to exit after SIGKILL`);
      },
    });
  } else tracked.push(thing as Disposable);
  return thing;
}

/** Remember a pid that must be dead by the end of the file (e.g. reported by a child). */
export function rememberPid(pid: number | undefined): void {
  if (pid) pids.add(pid);
}

/** Wait until `check()` is true, polling; fail with `what` after `ms`. Guards hangs only. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reject with a message naming what hung, if `promise` takes longer than `ms`. */
export async function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeTimeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hung: ${what} did not settle within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Start a tracked Process running `target(...args)` (a fixture's `tasks(url)` export). */
export function startProcess<A extends unknown[]>(target: (...args: A) => unknown, args: A, options: { name?: string; daemon?: boolean } = {}): Process<A> {
  const p = track(new Process<A>({ target: target as never, args, ...options }));
  p.start();
  return p;
}

/**
 * The error `promise` rejects with, whatever its class (for assertions on it); fails naming
 * `what` when it resolves, or when it hangs past `ms` (a hang is never returned as the error).
 */
export async function failure(promise: Promise<unknown>, what: string, ms = 20_000): Promise<Error & Record<string, any>> {
  try {
    await withinMs(promise, ms, what);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('hung:')) throw err;
    return err as Error & Record<string, any>;
  }
  throw new Error(`${what} resolved; expected a rejection`);
}

/** Drain an async iterable into an array, failing with `what` if it hangs. */
export async function collect<T>(it: AsyncIterable<T>, what: string, ms = 20_000): Promise<T[]> {
  return withinMs(
    (async () => {
      const out: T[] = [];
      for await (const x of it) out.push(x);
      return out;
    })(),
    ms,
    what,
  );
}

/**
 * Independent test bodies that spend most of their time waiting (on a timeout of another
 * process, a child's sleep) run at once: all start when the first of their tests runs, and
 * each test awaits its own body, so each still passes or fails alone, under its own name.
 *
 * const together = concurrently({ a: async () => {...}, b: async () => {...} });
 * test('a ...', () => together('a'));
 * test('b ...', () => together('b'));
 */
export function concurrently<K extends string>(bodies: Record<K, () => Promise<void>>): (key: K) => Promise<void> {
  let started: Map<K, Promise<void>> | null = null;
  return (key) => {
    if (!started) {
      started = new Map((Object.keys(bodies) as K[]).map((k) => [k, bodies[k]()]));
      // A failure is reported by the test that awaits it; this keeps it from being
      // "unhandled" while an earlier test of the group is still running.
      for (const run of started.values()) run.catch(() => {});
    }
    return started.get(key)!;
  };
}

/** A class of errors `rejection` may expect (TypeError, a multiproc error class…). */
export type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

/**
 * Await a promise that must reject with an instance of `Class`, and return the error for
 * further assertions. Fails (never returns) when the promise resolves, rejects with anything
 * else, or hangs past `ms` (a hang is a failure: the message says what hung). Where either of
 * two classes is a correct outcome (a race the test does not control), pass both in an
 * array: each is named.
 */
export async function rejection<E extends Error>(
  promise: Promise<unknown>,
  Class: ErrorClass<E> | readonly ErrorClass<E>[],
  what: string,
  ms = 15_000,
): Promise<E & Record<string, any>> {
  const classes: readonly ErrorClass<E>[] = Array.isArray(Class) ? Class : [Class as ErrorClass<E>];
  const expected = classes.map((c) => c.name).join(' or ');
  let timer: NodeTimeout | undefined;
  const hung = Symbol('hung');
  let outcome: { rejected: true; error: unknown } | { rejected: false; value: unknown } | typeof hung;
  try {
    outcome = await Promise.race([
      promise.then(
        (value) => ({ rejected: false as const, value }),
        (error: unknown) => ({ rejected: true as const, error }),
      ),
      new Promise<typeof hung>((resolve) => (timer = setTimeout(() => resolve(hung), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === hung) assert.unreachable(`hung: ${what} did not settle within ${ms} ms (expected a rejection with ${expected})`);
  const settled = outcome as Exclude<typeof outcome, typeof hung>;
  if (!settled.rejected) assert.unreachable(`${what} resolved with ${show(settled.value)}; expected a rejection with ${expected}`);
  const error = (settled as { error: unknown }).error;
  if (!classes.some((c) => error instanceof c)) assert.unreachable(`${what} rejected with ${show(error)}; expected ${expected}`);
  return error as E & Record<string, any>;
}

/** A value or error as a failure message shows it: `TypeError [MP_INVALID_ARG]: message`. */
function show(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return `${value.name}${code === undefined ? '' : ` [${String(code)}]`}: ${value.message}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Dispose everything tracked, then assert no child this file started is alive. */
export async function disposeAllAndCheckLeaks(): Promise<void> {
  for (const thing of tracked.splice(0).reverse()) await thing[Symbol.asyncDispose]();
  await waitFor(() => liveChildren().length === 0, 'every forked child to exit', 10_000).catch(() => {});
  assert.equal(liveChildren().map((c) => c.pid), [], 'children still alive at the end of the file');
  await waitFor(() => [...pids].every((pid) => !pidAlive(pid)), 'remembered pids to exit', 5_000).catch(() => {});
  assert.equal([...pids].filter(pidAlive), [], 'remembered processes still alive');
}

export { assert };

// Shared test helpers: disposal tracking and the leak check every test file ends with.

import * as assert from 'uvu/assert';
import { liveChildren, pidAlive } from '../src/process/spawn.ts';

type Disposable = { [Symbol.asyncDispose](): Promise<void> };
const tracked: Disposable[] = [];
const pids = new Set<number>();

/** Register something that owns processes for disposal at the end of the file. */
export function track<T extends Disposable>(thing: T): T {
  tracked.push(thing);
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

/** Await a promise that must reject and return its error for further assertions. */
export async function rejection(promise: Promise<unknown>, what = 'the call', ms = 15_000): Promise<Error & { code?: string } & Record<string, any>> {
  try {
    await withinMs(promise, ms, what);
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error(`${what} resolved; expected a rejection`);
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

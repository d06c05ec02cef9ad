// Option validation (src/options.ts): every checker against its rules (timeouts, signals,
// call options, counts), each bad value refused with TypeError or RangeError and code
// MP_INVALID_ARG, naming the call and the option. No processes.
import { suite } from 'uvu';
import {
  checkCallOptions,
  checkChunksize,
  checkCount,
  checkMaxTasksPerChild,
  checkOptionNames,
  checkProcesses,
  checkSignal,
  checkTimeout,
  deadlineAfter,
  optionNames,
  timeLeft,
} from '../../src/options.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';

const test = suite('options');

/** Assert that `fn` throws `Cls` with code MP_INVALID_ARG and a message matching `pattern`. */
function refused(fn: () => unknown, Cls: typeof TypeError | typeof RangeError, pattern: RegExp, what: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `${what}: accepted`);
  assert.instance(caught, Cls, `${what}: ${String(caught)}`);
  assert.is((caught as { code?: string }).code, 'MP_INVALID_ARG', `${what}: code`);
  assert.match((caught as Error).message, pattern, `${what}: message`);
}

test('checkTimeout: no limit, milliseconds, negative as 0; NaN RangeError, non-numbers TypeError', () => {
  assert.is(checkTimeout(undefined, 'w'), undefined);
  assert.is(checkTimeout(null, 'w'), undefined);
  assert.is(checkTimeout(Infinity, 'w'), undefined);
  assert.is(checkTimeout(250, 'w'), 250);
  assert.is(checkTimeout(0, 'w'), 0);
  assert.is(checkTimeout(2 ** 40, 'w'), 2 ** 40, 'however large');
  assert.is(checkTimeout(-1, 'w'), 0, "Python's join(-1)");
  assert.is(checkTimeout(-Infinity, 'w'), 0);
  refused(() => checkTimeout(NaN, 'q.get()'), RangeError, /^q\.get\(\): timeout must be a number of milliseconds .*got NaN/, 'NaN');
  for (const bad of ['100', true, {}, [], 10n, Symbol('t'), () => 1]) {
    refused(() => checkTimeout(bad, 'q.get()'), TypeError, /^q\.get\(\): timeout must be a number/, `timeout ${typeof bad}`);
  }
  refused(() => checkTimeout('100', 'w'), TypeError, /got "100"/, 'the value is shown');
});

test('checkSignal: undefined, null or an AbortSignal', () => {
  assert.is(checkSignal(undefined, 'w'), undefined);
  assert.is(checkSignal(null, 'w'), undefined);
  const signal = new AbortController().signal;
  assert.is(checkSignal(signal, 'w'), signal);
  for (const bad of [1, 'abort', {}, { aborted: 'no' }, () => {}]) refused(() => checkSignal(bad, 'pool.map(f)'), TypeError, /^pool\.map\(f\): signal must be an AbortSignal/, `signal ${typeof bad}`);
});

test('checkCallOptions: { signal, timeout } normalized; a non-object or a signal that cannot be listened to refused', () => {
  assert.equal(checkCallOptions(undefined, 'w'), { signal: undefined, timeout: undefined });
  const signal = AbortSignal.abort();
  assert.equal(checkCallOptions({ signal, timeout: -5 }, 'w'), { signal, timeout: 0 });
  assert.equal(checkCallOptions({ timeout: Infinity }, 'w'), { signal: undefined, timeout: undefined });
  refused(() => checkCallOptions(null as never, 'pool.apply(f)'), TypeError, /^pool\.apply\(f\): options must be an object, got null/, 'null options');
  refused(() => checkCallOptions(5 as never, 'pool.apply(f)'), TypeError, /options must be an object, got 5/, 'number options');
  refused(() => checkCallOptions({ signal: { aborted: false } }, 'pool.apply(f)'), TypeError, /signal must be an AbortSignal/, 'a look-alike without addEventListener');
  refused(() => checkCallOptions({ timeout: NaN }, 'pool.apply(f)'), RangeError, /timeout/, 'NaN timeout');
});

test('checkCount: an integer >= 1, or not given; other numbers RangeError, non-numbers TypeError', () => {
  assert.is(checkCount(undefined, 'w', 'n'), undefined);
  assert.is(checkCount(null, 'w', 'n'), undefined);
  for (const ok of [1, 2, 4096, 2 ** 40]) assert.is(checkCount(ok, 'w', 'n'), ok);
  for (const bad of [0, -1, 1.5, NaN, Infinity, -Infinity, -0]) refused(() => checkCount(bad, 'new Pool()', 'the count'), RangeError, /^new Pool\(\): the count must be an integer >= 1, got /, `count ${bad}`);
  for (const bad of ['2', true, {}, [2], 2n]) refused(() => checkCount(bad, 'new Pool()', 'the count'), TypeError, /^new Pool\(\): the count must be an integer >= 1, got /, `count ${typeof bad}`);
});

test('checkChunksize, checkProcesses, checkMaxTasksPerChild: the count rules under their own names', () => {
  assert.is(checkChunksize(64, 'w'), 64);
  assert.is(checkChunksize(undefined, 'w'), undefined);
  refused(() => checkChunksize(0, 'pool.map(f)'), RangeError, /^pool\.map\(f\): chunksize must be an integer >= 1, got 0$/, 'chunksize 0');
  assert.is(checkProcesses(3, 'Pool'), 3);
  assert.is(checkProcesses(null, 'Pool'), undefined);
  refused(() => checkProcesses(0, 'Pool'), RangeError, /^Pool: the number of processes must be an integer >= 1, got 0$/, 'processes 0');
  refused(() => checkProcesses('4', 'Pool'), TypeError, /number of processes/, 'processes "4"');
  assert.is(checkMaxTasksPerChild(1, 'Pool'), 1);
  assert.is(checkMaxTasksPerChild(undefined, 'Pool'), undefined, 'no limit');
  assert.is(checkMaxTasksPerChild(null, 'Pool'), undefined, 'no limit (Python: None)');
  // Issue 14: 0 was accepted although the message has always said >= 1.
  refused(() => checkMaxTasksPerChild(0, 'Pool'), RangeError, /^Pool: maxTasksPerChild must be an integer >= 1 \(or undefined for no limit\), got 0$/, 'maxTasksPerChild 0');
  refused(() => checkMaxTasksPerChild(2.5, 'ProcessPoolExecutor'), RangeError, /^ProcessPoolExecutor: maxTasksPerChild/, 'maxTasksPerChild 2.5');
});

test('deadlineAfter and timeLeft: one time limit shared by the steps of a wait', () => {
  assert.is(deadlineAfter(undefined), Infinity);
  assert.is(timeLeft(Infinity), undefined);
  const deadline = deadlineAfter(60_000);
  const left = timeLeft(deadline)!;
  assert.ok(left > 0 && left <= 60_000, `left ${left}`);
  assert.is(timeLeft(deadlineAfter(0) - 1), 0, 'never negative');
});

test('checkOptionNames: an option it does not name is refused, naming the one meant (case, underscores, up to two edits) or what to do instead', () => {
  const known = optionNames<{ maxWorkers?: number; initializer?: unknown; chunksize?: number; timeout?: number; args?: unknown[] }>({ maxWorkers: true, initializer: true, chunksize: true, timeout: true, args: true });
  assert.equal(known, ['maxWorkers', 'initializer', 'chunksize', 'timeout', 'args']);
  // Every known name, or none, or what is not an object (the caller's own check reports that).
  checkOptionNames({ maxWorkers: 2, chunksize: undefined }, known, 'f()');
  checkOptionNames({}, known, 'f()');
  for (const notObject of [undefined, null, 5, 'x']) checkOptionNames(notObject, known, 'f()');
  // Only own enumerable string keys: inherited ones and symbols are not options.
  checkOptionNames(Object.assign(Object.create({ inherited: 1 }), { [Symbol('s')]: 1, timeout: 5 }), known, 'f()');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ max_workers: 4 }, /^f\(\): unknown option "max_workers" \(did you mean maxWorkers\?\); the options are maxWorkers, initializer, chunksize, timeout, args$/],
    [{ MAXWORKERS: 4 }, /unknown option "MAXWORKERS" \(did you mean maxWorkers\?\)/],
    [{ chunkSize: 4 }, /unknown option "chunkSize" \(did you mean chunksize\?\)/],
    [{ initialiser: () => 1 }, /unknown option "initialiser" \(did you mean initializer\?\)/],
    [{ timout: 5 }, /unknown option "timout" \(did you mean timeout\?\)/],
    [{ chunksizes: 5 }, /unknown option "chunksizes" \(did you mean chunksize\?\)/],
    [{ initializerFunction: 5 }, /unknown option "initializerFunction" \(did you mean initializer\?\)/],
    [{ kwargs: { a: 1 } }, /unknown option "kwargs" \(JavaScript has no keyword arguments: pass every argument in the arguments array, or one object\)/],
    [{ lock: true }, /^f\(\): unknown option "lock"; the options are/],
    // The first unknown one is named, even after known ones.
    [{ timeout: 5, verbose: true }, /unknown option "verbose"; /],
  ];
  for (const [options, pattern] of cases) refused(() => checkOptionNames(options, known, 'f()'), TypeError, pattern, JSON.stringify(options));
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();

// progress(), ProgressBar and arraySplit. Bars draw to a fake stream with a fake clock, so
// every assertion is about text, never about time.

import { suite } from 'uvu';
import { assert, disposeAllAndCheckLeaks } from './helpers.ts';
import { arraySplit, progress, ProgressBar, type ProgressStream } from '../src/process/progress.ts';

const test = suite('progress');

interface FakeStream extends ProgressStream {
  chunks: string[];
  readonly text: string;
}

function fakeStream(isTTY: boolean, columns = 80): FakeStream {
  const chunks: string[] = [];
  return {
    isTTY,
    columns,
    chunks,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    get text() {
      return chunks.join('');
    },
  };
}

function fakeClock(start = 0): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

// What a terminal would show after all the `\r` redraws: the text after the last `\r` of
// each line.
function screen(text: string): string[] {
  return text.split('\n').map((line) => line.slice(line.lastIndexOf('\r') + 1).trimEnd());
}

function codeOf(fn: () => unknown): { name: string; code: unknown } {
  try {
    fn();
  } catch (err) {
    return { name: (err as Error).name, code: (err as { code?: unknown }).code };
  }
  throw new Error('expected a throw');
}

// ---- ProgressBar on a TTY -------------------------------------------------------------

test('TTY: draws the empty bar at once, redraws in place, ends the line on close', () => {
  const stream = fakeStream(true, 60);
  const clock = fakeClock();
  const bar = new ProgressBar({ total: 10, desc: 'work', stream, now: clock.now });
  assert.is(stream.chunks.length, 1);
  assert.ok(stream.chunks[0]!.startsWith('\rwork:   0%|'));
  assert.ok(stream.chunks[0]!.endsWith('| 0/10 [00:00<?, ?it/s]'));
  clock.advance(2000);
  bar.update(5);
  const line = '\rwork:  50%|' + '█'.repeat(9) + ' '.repeat(9) + '| 5/10 [00:02<00:02, 2.50it/s]';
  assert.is(stream.chunks[1], line);
  assert.is(line.length - 1, 59, 'fills the width but the last column');
  clock.advance(2000);
  bar.update(5);
  bar.close();
  assert.is(bar.n, 10);
  assert.ok(bar.closed);
  assert.ok(stream.text.endsWith('\n'));
  assert.ok(!stream.text.slice(0, -1).includes('\n'), 'one line only');
  assert.is(screen(stream.text)[0]!.length, 59);
  assert.equal(screen(stream.text), ['work: 100%|' + '█'.repeat(17) + '| 10/10 [00:04<00:00, 2.50it/s]', '']);
});

test('TTY: redraws at most once per minIntervalMs', () => {
  const stream = fakeStream(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ total: 1000, stream, now: clock.now, minIntervalMs: 100 });
  for (let i = 0; i < 1000; i++) {
    bar.update();
    clock.advance(1); // 1000 items over one second → about ten redraws, not a thousand.
  }
  const draws = stream.chunks.length;
  assert.ok(draws >= 9 && draws <= 12, `drew ${draws} times`);
  bar.close();
  assert.ok(screen(stream.text)[0]!.includes('1000/1000'));
});

test('TTY: no clock movement, no redraw', () => {
  const stream = fakeStream(true);
  const bar = new ProgressBar({ total: 100, stream, now: () => 5 });
  for (let i = 0; i < 100; i++) bar.update();
  assert.is(stream.chunks.length, 1);
  bar.close();
  assert.is(stream.chunks.length, 3, 'final draw + newline');
});

test('TTY: unknown total shows a counter, rate and elapsed', () => {
  const stream = fakeStream(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ desc: 'lines', unit: 'line', stream, now: clock.now });
  clock.advance(65_000);
  bar.update(130);
  bar.close();
  assert.equal(screen(stream.text), ['lines: 130line [01:05, 2.00line/s]', '']);
});

test('TTY: slow rates show seconds per item, large ones an SI suffix', () => {
  const slow = fakeStream(true);
  const clock = fakeClock();
  const a = new ProgressBar({ total: 4, stream: slow, now: clock.now });
  clock.advance(8000);
  a.update();
  a.close();
  assert.ok(screen(slow.text)[0]!.endsWith('| 1/4 [00:08<00:24, 8.00s/it]'), screen(slow.text)[0]);

  const fast = fakeStream(true);
  const b = new ProgressBar({ total: 5_000_000, stream: fast, now: clock.now });
  clock.advance(2000);
  b.update(5_000_000);
  b.close();
  assert.ok(screen(fast.text)[0]!.endsWith('| 5000000/5000000 [00:02<00:00, 2.50Mit/s]'), screen(fast.text)[0]);
});

test('TTY: a shorter line blanks out the rest of the longer previous one', () => {
  const stream = fakeStream(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ stream, now: clock.now, desc: 'x' });
  clock.advance(1000);
  bar.update(123456);
  clock.advance(1000);
  bar.update(-123455);
  const [prev, last] = stream.chunks.slice(-2);
  assert.is(last!.length, prev!.length);
  bar.close();
});

test('TTY: narrow terminals drop the bar; long descriptions are cut to the width', () => {
  const narrow = fakeStream(true, 30);
  const clock = fakeClock();
  const a = new ProgressBar({ total: 10, stream: narrow, now: clock.now });
  a.close();
  assert.ok(!narrow.text.includes('|'));
  assert.ok(screen(narrow.text)[0]!.length <= 29);

  const long = fakeStream(true, 40);
  const b = new ProgressBar({ total: 10, desc: 'd'.repeat(100), stream: long, now: clock.now });
  b.close();
  assert.is(screen(long.text)[0]!.length, 39);
});

// ---- ProgressBar elsewhere (log files, CI) -------------------------------------------

test('plain stream: at most one line per tenth plus a final one, no \\r', () => {
  const stream = fakeStream(false);
  const clock = fakeClock();
  const bar = new ProgressBar({ total: 1000, desc: 'rows', stream, now: clock.now });
  assert.is(stream.chunks.length, 0, 'no empty line at start');
  for (let i = 0; i < 1000; i++) {
    clock.advance(10);
    bar.update();
  }
  bar.close();
  const lines = stream.text.split('\n').slice(0, -1);
  assert.ok(lines.length >= 2 && lines.length <= 11, `${lines.length} lines`);
  assert.ok(!stream.text.includes('\r'));
  assert.is(lines.at(-1), 'rows: 100%|##########| 1000/1000 [00:10<00:00, 100it/s]');
  assert.ok(lines[0]!.startsWith('rows:  10%|#'), lines[0]);
});

test('plain stream: a run faster than minIntervalMs prints only the final line', () => {
  const stream = fakeStream(false);
  const bar = new ProgressBar({ total: 50, stream, now: () => 0 });
  for (let i = 0; i < 50; i++) bar.update();
  bar.close();
  bar.close();
  assert.equal(stream.text.split('\n'), ['100%|##########| 50/50 [00:00<00:00, ?it/s]', '']);
});

test('plain stream: unknown total prints at doubling intervals', () => {
  const stream = fakeStream(false);
  const clock = fakeClock();
  const bar = new ProgressBar({ stream, now: clock.now });
  for (let i = 0; i < 600; i++) {
    clock.advance(100); // one minute in all
    bar.update();
  }
  bar.close();
  const lines = stream.text.split('\n').slice(0, -1);
  // After 1, 3, 7, 15, 31 s (each wait twice the previous), then the final line.
  assert.is(lines.length, 6, lines.join('\n'));
  assert.is(lines.at(-1), '600it [01:00, 10.0it/s]');
});

// ---- ProgressBar API -----------------------------------------------------------------

test('update after close counts but draws nothing; total is settable', () => {
  const stream = fakeStream(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ stream, now: clock.now });
  assert.is(bar.total, undefined);
  bar.total = 3;
  assert.is(bar.total, 3);
  bar.update(3);
  bar.close();
  const written = stream.text;
  clock.advance(1000);
  bar.update(2);
  assert.is(bar.n, 5);
  assert.is(stream.text, written);
  assert.equal(codeOf(() => (bar.total = -1)), { name: 'RangeError', code: 'MP_INVALID_ARG' });
});

test('Symbol.dispose closes the bar', () => {
  const stream = fakeStream(false);
  {
    using bar = new ProgressBar({ total: 2, stream, now: () => 0 });
    bar.update(2);
  }
  assert.ok(stream.text.endsWith('2/2 [00:00<00:00, ?it/s]\n'));
});

test('disable draws nothing and still counts', () => {
  const stream = fakeStream(true);
  const bar = new ProgressBar({ total: 2, stream, disable: true });
  bar.update(2);
  bar.close();
  assert.is(bar.n, 2);
  assert.is(stream.chunks.length, 0);
});

test('bad options are MP_INVALID_ARG errors', () => {
  assert.equal(codeOf(() => new ProgressBar({ total: -1 })), { name: 'RangeError', code: 'MP_INVALID_ARG' });
  assert.equal(codeOf(() => new ProgressBar({ total: NaN })), { name: 'RangeError', code: 'MP_INVALID_ARG' });
  assert.equal(codeOf(() => new ProgressBar({ minIntervalMs: -5 })), { name: 'RangeError', code: 'MP_INVALID_ARG' });
  assert.equal(codeOf(() => new ProgressBar({ desc: 5 as unknown as string })), { name: 'TypeError', code: 'MP_INVALID_ARG' });
  assert.equal(codeOf(() => new ProgressBar({ stream: {} as ProgressStream })), { name: 'TypeError', code: 'MP_INVALID_ARG' });
  const bar = new ProgressBar({ disable: true });
  assert.equal(codeOf(() => bar.update(NaN)), { name: 'RangeError', code: 'MP_INVALID_ARG' });
});

test('fromOption: false/undefined give no bar, true the defaults, an object overrides them', () => {
  const stream = fakeStream(false);
  assert.is(ProgressBar.fromOption(undefined, { total: 3, stream }), undefined);
  assert.is(ProgressBar.fromOption(false, { total: 3, stream }), undefined);
  const a = ProgressBar.fromOption(true, { total: 3, stream, now: () => 0 })!;
  assert.is(a.total, 3);
  // `total: undefined` in the option does not erase the caller's known total.
  const b = ProgressBar.fromOption({ desc: 'squares', total: undefined }, { total: 7, stream, now: () => 0 })!;
  assert.is(b.total, 7);
  b.update(7);
  b.close();
  assert.ok(stream.text.startsWith('squares: 100%'));
  assert.equal(codeOf(() => ProgressBar.fromOption('yes' as unknown as boolean)), { name: 'TypeError', code: 'MP_INVALID_ARG' });
});

// ---- progress() over iterables -------------------------------------------------------

test('sync iterable: for…of yields every item; total inferred from length', () => {
  const stream = fakeStream(false);
  const seen: number[] = [];
  for (const x of progress([1, 2, 3], { stream, now: () => 0 })) seen.push(x);
  assert.equal(seen, [1, 2, 3]);
  assert.is(stream.text, '100%|##########| 3/3 [00:00<00:00, ?it/s]\n');
});

test('sync iterable is also async iterable', async () => {
  const stream = fakeStream(false);
  const seen: string[] = [];
  for await (const x of progress(new Set(['a', 'b']), { stream, desc: 's', now: () => 0 })) seen.push(x);
  assert.equal(seen, ['a', 'b']);
  assert.ok(stream.text.startsWith('s: 100%|##########| 2/2 '), stream.text);
});

test('totals: Map size, typed array length, explicit total wins, generators unknown', () => {
  const run = (iterable: Iterable<unknown>, total?: number): string => {
    const stream = fakeStream(false);
    for (const _ of progress(iterable, { stream, total, now: () => 0 })) void _;
    return stream.text;
  };
  assert.ok(run(new Map([[1, 2]])).includes('| 1/1 ['));
  assert.ok(run(new Int32Array(4)).includes('| 4/4 ['));
  assert.ok(run([1, 2], 5).includes('| 2/5 ['));
  function* gen() {
    yield 1;
    yield 2;
  }
  assert.is(run(gen()), '2it [00:00, ?it/s]\n');
  assert.is(run(gen(), 2), '100%|##########| 2/2 [00:00<00:00, ?it/s]\n');
});

test('async iterable: counts each item after the loop body, closes at the end', async () => {
  const stream = fakeStream(true);
  const clock = fakeClock();
  async function* source() {
    for (let i = 0; i < 4; i++) {
      await null;
      yield i;
    }
  }
  const seen: number[] = [];
  for await (const x of progress(source(), { total: 4, stream, now: clock.now, minIntervalMs: 0 })) {
    seen.push(x);
    clock.advance(500);
  }
  assert.equal(seen, [0, 1, 2, 3]);
  const draws = screen(stream.text);
  assert.equal(draws, ['100%|' + '█'.repeat(45) + '| 4/4 [00:02<00:00, 2.00it/s]', '']);
  // Drawn after each item, i.e. once the body had finished it: 0/4, 1/4 … 4/4, final.
  assert.equal(stream.chunks.filter((c) => c !== '\n').map((c) => /\| (\d)\/4/.exec(c)![1]), ['0', '1', '2', '3', '4', '4']);
});

test('break closes the bar and returns the source iterator', () => {
  const stream = fakeStream(false);
  let cleaned = false;
  function* source() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      cleaned = true;
    }
  }
  for (const x of progress(source(), { total: 100, stream, now: () => 0 })) if (x === 2) break;
  assert.ok(cleaned);
  assert.is(stream.text, '  2%|2         | 2/100 [00:00<?, ?it/s]\n');
});

test('an error in the source propagates and the bar is closed', async () => {
  const stream = fakeStream(false);
  async function* source() {
    yield 1;
    throw new Error('boom');
  }
  let caught: unknown;
  try {
    for await (const _ of progress(source(), { stream, now: () => 0 })) void _;
  } catch (err) {
    caught = err;
  }
  assert.is((caught as Error).message, 'boom');
  assert.is(stream.text, '1it [00:00, ?it/s]\n');
});

test('an unused wrapper draws nothing; a non-iterable is a TypeError', () => {
  const stream = fakeStream(true);
  progress([1, 2], { stream });
  assert.is(stream.chunks.length, 0);
  assert.equal(codeOf(() => progress(42 as unknown as number[])), { name: 'TypeError', code: 'MP_INVALID_ARG' });
});

// ---- arraySplit vs numpy.array_split -------------------------------------------------

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

// Expected values printed by numpy 2.4: [x.tolist() for x in np.array_split(np.arange(len), s)]
const splitCases: Array<[length: number, sections: number | number[], expected: number[][]]> = [
  [10, 3, [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]],
  [10, 4, [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]],
  [10, 1, [range(10)]],
  [10, 10, range(10).map((i) => [i])],
  [10, 11, [...range(10).map((i) => [i]), []]],
  [8, 3, [[0, 1, 2], [3, 4, 5], [6, 7]]],
  [7, 3, [[0, 1, 2], [3, 4], [5, 6]]],
  [3, 5, [[0], [1], [2], [], []]],
  [0, 3, [[], [], []]],
  [10, [3, 5], [[0, 1, 2], [3, 4], [5, 6, 7, 8, 9]]],
  [10, [], [range(10)]],
  [10, [3, 20], [[0, 1, 2], [3, 4, 5, 6, 7, 8, 9], []]],
  [10, [-2], [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9]]],
  [10, [5, 2], [[0, 1, 2, 3, 4], [], [2, 3, 4, 5, 6, 7, 8, 9]]],
  [10, [0], [[], range(10)]],
  [10, [10], [range(10), []]],
  [8, [-20, 3], [[], [0, 1, 2], [3, 4, 5, 6, 7]]],
];

for (const [length, sections, expected] of splitCases) {
  test(`arraySplit(arange(${length}), ${JSON.stringify(sections)}) matches numpy`, () => {
    const input = range(length);
    assert.equal(arraySplit(input, sections), expected);
    assert.equal(input, range(length), 'input untouched');
  });
}

test('arraySplit: section sizes differ by at most one, larger first', () => {
  for (let length = 0; length < 40; length++) {
    for (let n = 1; n < 12; n++) {
      const sizes = arraySplit(range(length), n).map((part) => part.length);
      assert.is(sizes.length, n);
      assert.is(sizes.reduce((a, b) => a + b, 0), length);
      assert.ok(sizes.every((s, i) => i === 0 || (s <= sizes[i - 1]! && sizes[0]! - s <= 1)), `${length}/${n}: ${sizes}`);
    }
  }
});

test('arraySplit: typed arrays and strings split by their own slice', () => {
  const parts = arraySplit(new Float64Array([1, 2, 3, 4, 5]), 2);
  assert.ok(parts.every((p) => p instanceof Float64Array));
  assert.equal(parts.map((p) => [...p]), [[1, 2, 3], [4, 5]]);
  assert.equal(arraySplit('abcdefg', 3), ['abc', 'de', 'fg']);
});

test('arraySplit: bad sections are RangeError MP_INVALID_ARG, bad arrays TypeError', () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.equal(codeOf(() => arraySplit([1, 2], bad)), { name: 'RangeError', code: 'MP_INVALID_ARG' }, String(bad));
  }
  assert.equal(codeOf(() => arraySplit([1, 2], [1.5])), { name: 'RangeError', code: 'MP_INVALID_ARG' });
  assert.equal(codeOf(() => arraySplit([1, 2], '2' as unknown as number)), { name: 'TypeError', code: 'MP_INVALID_ARG' });
  assert.equal(codeOf(() => arraySplit(null as unknown as number[], 2)), { name: 'TypeError', code: 'MP_INVALID_ARG' });
});

test('no leaks: nothing here starts a process, and nothing is left running', disposeAllAndCheckLeaks);

test.run();

// Every options object of the public API refuses a name it does not have, over real
// processes: a misspelt option (`chunkSize`) or one in Python's spelling (`max_workers`,
// `maxtasksperchild`) is a TypeError with code MP_INVALID_ARG naming the option meant,
// raised where the call's other bad arguments are (a constructor throws, a call that returns
// a promise rejects, an iterator throws on its first next()); before, it was ignored and
// the call ran with the default. A refused constructor starts no process, and the pool,
// queue or manager whose call was refused still works.
import { suite } from 'uvu';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  asCompleted,
  BaseManager,
  Client,
  Event,
  JoinableQueue,
  Listener,
  Lock,
  Manager,
  Pipe,
  Pool,
  Process,
  ProcessPoolExecutor,
  processMap,
  progress,
  Queue,
  Barrier,
  Value,
  wait,
} from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';

const test = suite('option-names');
const T = 20_000;

/** A TypeError with code MP_INVALID_ARG whose message matches `pattern`. */
function isRefusal(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof TypeError && (e as { code?: string }).code === 'MP_INVALID_ARG' && pattern.test(e.message);
}

/** `make` throws the refusal; had it made something, that is disposed with the rest. */
function throwsRefusal(make: () => unknown, pattern: RegExp, what: string): void {
  assert.throws(
    () => {
      const made = make();
      // Before the fix some of these started processes: they are disposed with the rest.
      if (made instanceof Pool || made instanceof ProcessPoolExecutor || made instanceof Process) track(made);
    },
    isRefusal(pattern),
    what,
  );
}

/** `promise` rejects with the refusal. */
async function rejectsRefusal(promise: Promise<unknown>, pattern: RegExp, what: string): Promise<void> {
  const err = await rejection(promise, TypeError, what, T);
  assert.ok(isRefusal(pattern)(err), `${what}: ${err.message}`);
}

// Loosely typed, as plain JavaScript calls them (TypeScript refuses these names itself).
const loose = <T>(value: T) => value as any;

test('Pool: the constructor and every call refuse an unknown option; the pool then still answers', async () => {
  throwsRefusal(() => new Pool(loose({ processes: 1, initialiser: () => 1 })), /new Pool\(options\): unknown option "initialiser" \(did you mean initializer\?\)/, 'initialiser');
  throwsRefusal(() => new Pool(loose({ processes: 1, maxtasksperchild: 2 })), /unknown option "maxtasksperchild" \(did you mean maxTasksPerChild\?\)/, 'maxtasksperchild');
  throwsRefusal(() => new Pool(1, loose({ init_args: [] })), /new Pool\(processes, options\): unknown option "init_args" \(did you mean initargs\?\)/, 'init_args');
  const pool = track(new Pool(1));
  const square = (x: number) => x * x;
  await rejectsRefusal(pool.apply(square, [2], loose({ timeOut: 5 })), /pool\.apply\(square\): unknown option "timeOut" \(did you mean timeout\?\); the options are signal, timeout$/, 'apply');
  await rejectsRefusal(pool.applyAsync(square, [2], loose({ callBack: () => 1 })).get(), /unknown option "callBack" \(did you mean callback\?\)/, 'applyAsync');
  await rejectsRefusal(pool.map(square, [1, 2], loose({ chunkSize: 1 })), /pool\.map\(square\): unknown option "chunkSize" \(did you mean chunksize\?\)/, 'map');
  await rejectsRefusal(pool.mapAsync(square, [1, 2], loose({ error_callback: () => 1 })).get(), /unknown option "error_callback" \(did you mean errorCallback\?\)/, 'mapAsync');
  await rejectsRefusal(pool.starmap((a: number, b: number) => a + b, [[1, 2]], loose({ chunk: 1 })), /pool\.starmap\(anonymous\): unknown option "chunk"/, 'starmap');
  await rejectsRefusal(pool.starmapAsync((a: number, b: number) => a + b, [[1, 2]], loose({ kwds: {} })).get(), /unknown option "kwds" \(JavaScript has no keyword arguments/, 'starmapAsync');
  for (const method of ['imap', 'imapUnordered'] as const) {
    const it = pool[method](square, [1, 2], loose({ chunksize: 1, progres: true }));
    await rejectsRefusal(it.next(), new RegExp(`pool\\.${method}\\(square\\): unknown option "progres" \\(did you mean progress\\?\\)`), method);
  }
  assert.equal(await withinMs(pool.map(square, [1, 2, 3], { chunksize: 1 }), T, 'map after the refusals'), [1, 4, 9]);
});

test('ProcessPoolExecutor, wait(), asCompleted() and processMap() refuse an unknown option', async () => {
  throwsRefusal(() => new ProcessPoolExecutor(loose({ max_workers: 1 })), /new ProcessPoolExecutor\(options\): unknown option "max_workers" \(did you mean maxWorkers\?\)/, 'max_workers');
  const executor = track(new ProcessPoolExecutor({ maxWorkers: 1 }));
  await rejectsRefusal(executor.map((x: number) => x + 1, [1, 2], loose({ time_out: 1000 })).next(), /executor\.map\(anonymous\): unknown option "time_out" \(did you mean timeout\?\)/, 'executor.map');
  const f = executor.submit((x: number) => x + 1, 1);
  await rejectsRefusal(wait([f], loose({ return_when: 'ALL_COMPLETED' })), /wait\(\): unknown option "return_when" \(did you mean returnWhen\?\)/, 'wait');
  await rejectsRefusal(asCompleted([f], loose({ timeOut: 100 })).next(), /asCompleted\(\): unknown option "timeOut" \(did you mean timeout\?\)/, 'asCompleted');
  assert.is(await withinMs(f.result(), T, 'the future'), 2);
  await rejectsRefusal(executor.shutdown(loose({ cancel_futures: true })), /executor\.shutdown\(options\): unknown option "cancel_futures" \(did you mean cancelFutures\?\)/, 'shutdown');
  await rejectsRefusal(processMap((x: number) => x, [1, 2], loose({ max_workers: 1 })), /processMap\(\): unknown option "max_workers" \(did you mean maxWorkers\?\)/, 'processMap');
  throwsRefusal(() => progress([1, 2], loose({ mininterval: 10 })), /progress options: unknown option "mininterval" \(did you mean minIntervalMs\?\)/, 'progress');
});

test('Process: an unknown option, from a subclass too, is refused before anything starts', () => {
  throwsRefusal(() => new Process(loose({ target: (x: number) => x, kwargs: { x: 1 } })), /new Process\(options\): unknown option "kwargs" \(JavaScript has no keyword arguments/, 'kwargs');
  class Counting extends Process {
    constructor(options: Record<string, unknown>) {
      super(loose(options));
    }
  }
  throwsRefusal(() => new Counting({ name: 'c', count: 3 }), /new Counting\(options\): unknown option "count"; the options are target, args, name, daemon/, 'a subclass handing its own option to super()');
});

test('Queue, Pipe, the locks, Event, Barrier and Value refuse an unknown option; the queue still works', async () => {
  throwsRefusal(() => new Queue(0, loose({ hots: null })), /new Queue\(maxsize, options\): unknown option "hots" \(did you mean host\?\)/, 'new Queue');
  const q = new Queue<number>();
  await rejectsRefusal(q.put(1, loose({ blocking: false })), /queue\.put\(\): unknown option "blocking" \(did you mean block\?\)/, 'put');
  await rejectsRefusal(q.get(loose({ timout: 10 })), /queue\.get\(\): unknown option "timout" \(did you mean timeout\?\)/, 'get');
  await rejectsRefusal(q.shutdown(loose({ now: true })), /queue\.shutdown\(options\): unknown option "now"/, 'shutdown');
  const joinable = new JoinableQueue<number>();
  await rejectsRefusal(joinable.join(loose({ timeout: 10 })), /join\(\): unknown option "timeout"; the options are signal$/, 'joinable.join');
  await q.put(7);
  assert.is(await withinMs(q.get({ timeout: 5000 }), T, 'get after the refusals'), 7);
  const [a, b] = Pipe<number>(true);
  throwsRefusal(() => Pipe(true, loose({ duplex: false })), /Pipe\(duplex, options\): unknown option "duplex"/, 'Pipe');
  await rejectsRefusal(a.recv(loose({ timeOut: 10 })), /recv\(\): unknown option "timeOut" \(did you mean timeout\?\)/, 'recv');
  const lock = new Lock();
  await rejectsRefusal(lock.acquire(loose({ block: false })), /unknown option "block" \(did you mean blocking\?\)/, 'acquire');
  throwsRefusal(() => new Lock(loose({ recursive: true })), /new Lock\(options\): unknown option "recursive"/, 'new Lock');
  const event = new Event();
  await rejectsRefusal(event.wait(loose({ time_out: 1 })), /unknown option "time_out" \(did you mean timeout\?\)/, 'event.wait');
  throwsRefusal(() => new Barrier(2, loose({ actions: () => 1 })), /new Barrier\(parties, options\): unknown option "actions" \(did you mean action\?\)/, 'new Barrier');
  throwsRefusal(() => Value('i', 0, loose({ locked: false })), /unknown option "locked" \(did you mean lock\?\)/, 'Value');
  a.close();
  b.close();
});

test('Manager: new, start (static and on an instance), register and a list proxy refuse an unknown option', async () => {
  throwsRefusal(() => new Manager(loose({ auth_key: 'k' })), /new Manager\(options\): unknown option "auth_key" \(did you mean authkey\?\)/, 'new Manager');
  await rejectsRefusal(Manager.start(loose({ initialiser: () => 1 })), /Manager\.start\(options\): unknown option "initialiser" \(did you mean initializer\?\); the options are address, authkey, maxFrameSize, initializer, initargs/, 'Manager.start');
  await rejectsRefusal(new Manager().start(loose({ init_args: [] })), /Manager\.start\(options\): unknown option "init_args" \(did you mean initargs\?\)/, 'manager.start');
  class Registered extends BaseManager {}
  throwsRefusal(() => Registered.register('Thing', () => ({}), loose({ create_method: false })), /register\('Thing', factory, options\): unknown option "create_method" \(did you mean createMethod\?\)/, 'register');
  const manager = track(await withinMs(Manager.start(), T, 'Manager.start'));
  await rejectsRefusal(manager.barrier(2, loose({ action: () => 1 })), /Manager\.barrier\(parties, options\): unknown option "action"; the options are timeout$/, 'manager.barrier');
  const list = await manager.list([3, 1, 2]);
  await rejectsRefusal(list.sort(loose({ reversed: true })), /list\.sort\(options\): unknown option "reversed" \(did you mean reverse\?\)/, 'list.sort');
  await list.sort({ reverse: true });
  assert.equal(await list.toArray(), [3, 2, 1]);
});

test('Listener, Client and accept() refuse an unknown option', async () => {
  const authkey = 'secret';
  throwsRefusal(() => new Listener(loose({ authkey, back_log: 4 })), /new Listener\(\): unknown option "back_log" \(did you mean backlog\?\)/, 'new Listener');
  const listener = track(new Listener(join(tmpdir(), `mp-option-names-${process.pid}.sock`), { authkey }));
  await rejectsRefusal(Client(listener.address, loose({ authkey, family: 'AF_UNIX' })), /Client\(\): unknown option "family"/, 'Client');
  await rejectsRefusal(listener.accept(loose({ timout: 10 })), /accept\(\): unknown option "timout" \(did you mean timeout\?\)/, 'accept');
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();

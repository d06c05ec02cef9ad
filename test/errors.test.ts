// Every error class: name, code, Python twin, and instanceof across the three copies of the
// library a process may load (src under tsx, dist/esm, dist/cjs).
import { suite } from 'uvu';
import { createRequire } from 'node:module';
import * as src from '../src/index.ts';
import { checkVersion, decodeError, encodeError, EXIT_PROTOCOL, PROTOCOL, type WireError } from '../src/protocol/index.ts';
import { assert, disposeAllAndCheckLeaks } from './helpers.ts';

const test = suite('errors');
const root = new URL('../', import.meta.url).pathname;

const table: Array<[string, string, () => Error]> = [
  ['RemoteError', 'MP_REMOTE', () => new src.RemoteError('boom', { remoteName: 'TypeError' })],
  ['WorkerLostError', 'MP_WORKER_LOST', () => new src.WorkerLostError('lost', { exitCode: null, signal: 'SIGKILL' })],
  ['BrokenProcessPool', 'MP_BROKEN_POOL', () => new src.BrokenProcessPool('broken')],
  ['TimeoutError', 'MP_TIMEOUT', () => new src.TimeoutError('late', { timeout: 5 })],
  ['CancelledError', 'MP_CANCELLED', () => new src.CancelledError('stop', { cause: 'why' })],
  ['SerializationError', 'MP_SERIALIZATION', () => new src.SerializationError('bad', { argIndex: 1 })],
  ['Empty', 'MP_EMPTY', () => new src.Empty()],
  ['Full', 'MP_FULL', () => new src.Full()],
  ['QueueClosed', 'MP_QUEUE_CLOSED', () => new src.QueueClosed('closed')],
  ['AuthenticationError', 'MP_AUTH', () => new src.AuthenticationError('auth')],
  ['HostBusyError', 'MP_HOST_BUSY', () => new src.HostBusyError('busy')],
  ['ManagerError', 'MP_MANAGER', () => new src.ManagerError('gone')],
  ['InvalidStateError', 'MP_INVALID_STATE', () => new src.InvalidStateError('twice')],
  ['ReleasedError', 'MP_RELEASED', () => new src.ReleasedError('freed', { objectId: 'q1', hostPid: 7 })],
  ['ProtocolError', 'MP_PROTOCOL', () => new src.ProtocolError('mismatch', { fault: 'version', peerVersion: 'multiproc/1' })],
  ['ShutDown', 'MP_SHUTDOWN', () => new src.ShutDown('down')],
  ['BufferTooShort', 'MP_BUFFER_TOO_SHORT', () => new src.BufferTooShort('short', { data: Buffer.from('message') })],
  ['MessageTooLong', 'MP_MESSAGE_TOO_LONG', () => new src.MessageTooLong('long', { length: 3, maxlength: 1 })],
];

test('the table covers every class of errorClasses', () => {
  assert.equal(table.map(([, code]) => code).sort(), Object.keys(src.errorClasses).sort());
  for (const [name, code] of table) assert.is((src.errorClasses as Record<string, Function>)[code].name, name);
});

for (const [name, code, make] of table) {
  test(`${name}: name, code, MultiprocError and Error`, () => {
    const err = make() as src.MultiprocError;
    assert.is(err.name, name);
    assert.is(err.code, code);
    assert.ok(err instanceof Error);
    assert.ok(err instanceof src.MultiprocError);
    assert.ok(err instanceof (src as unknown as Record<string, Function>)[name]);
    assert.is((src as unknown as Record<string, { CODE: string }>)[name].CODE, code);
  });
}

test('instanceof does not confuse two different classes', () => {
  assert.not.ok(new src.Empty() instanceof src.Full);
  assert.not.ok(new Error('x') instanceof src.MultiprocError);
  assert.not.ok(new src.TimeoutError('x') instanceof src.CancelledError);
  assert.not.ok(new src.ProtocolError('x', { fault: 'codec' }) instanceof src.SerializationError);
});

test('a ReleasedError is an InvalidStateError with a code of its own; not the other way round', () => {
  const released = new src.ReleasedError('gone', { objectId: 'abc', hostPid: 42 });
  assert.ok(released instanceof src.InvalidStateError);
  assert.ok(released instanceof src.MultiprocError);
  assert.is(released.code, 'MP_RELEASED');
  assert.is(released.objectId, 'abc');
  assert.is(released.hostPid, 42);
  assert.not.ok(new src.InvalidStateError('twice') instanceof src.ReleasedError);
  assert.is(new src.InvalidStateError('twice').code, 'MP_INVALID_STATE');
  assert.not.ok(released instanceof src.ManagerError);
});

test('instanceof holds across src, dist/esm and dist/cjs copies', async () => {
  const esm = await import(`${root}dist/esm/index.js`);
  const cjs = createRequire(import.meta.url)(`${root}dist/cjs/index.js`);
  for (const [name, , make] of table) {
    const fromSrc = make();
    const fromCjs = new cjs[name]('x', { remoteName: 'E', exitCode: 1, signal: null });
    assert.ok(fromSrc instanceof esm[name], `src ${name} instanceof esm ${name}`);
    assert.ok(fromSrc instanceof cjs[name], `src ${name} instanceof cjs ${name}`);
    assert.ok(fromCjs instanceof (src as unknown as Record<string, Function>)[name], `cjs ${name} instanceof src ${name}`);
    assert.ok(fromCjs instanceof esm.MultiprocError);
  }
  // The family holds across copies too: each copy resolves the subclass by its code.
  assert.ok(new cjs.ReleasedError('x') instanceof src.InvalidStateError, 'cjs ReleasedError instanceof src InvalidStateError');
  assert.ok(new src.ReleasedError('x') instanceof esm.InvalidStateError, 'src ReleasedError instanceof esm InvalidStateError');
  assert.not.ok(new cjs.InvalidStateError('x') instanceof esm.ReleasedError, 'cjs InvalidStateError is no esm ReleasedError');
});

test('bad arguments are TypeError/RangeError with code MP_INVALID_ARG', () => {
  const t = src.invalidArg('x');
  const r = src.invalidRange('y');
  assert.ok(t instanceof TypeError && t.code === 'MP_INVALID_ARG');
  assert.ok(r instanceof RangeError && r.code === 'MP_INVALID_ARG');
});

test('multiproc errors round-trip the wire as their own class, with their facts', () => {
  const back = decodeError(encodeError(new src.WorkerLostError('lost', { exitCode: 3, signal: null, pid: 12 }))) as src.WorkerLostError;
  assert.ok(back instanceof src.WorkerLostError);
  assert.is(back.exitCode, 3);
  assert.is(back.pid, 12);
  assert.is(back.message, 'lost');
  const empty = decodeError(encodeError(new src.Empty()));
  assert.ok(empty instanceof src.Empty);
  assert.is(empty.name, 'Empty');
  const released = decodeError(encodeError(new src.ReleasedError('freed', { objectId: 'q7', hostPid: 99 }))) as src.ReleasedError;
  assert.ok(released instanceof src.ReleasedError);
  assert.ok(released instanceof src.InvalidStateError);
  assert.is(released.code, 'MP_RELEASED');
  assert.is(released.objectId, 'q7');
  assert.is(released.hostPid, 99);
  const protocol = decodeError(encodeError(new src.ProtocolError('bad', { fault: 'version', peerVersion: 'multiproc/1' }))) as src.ProtocolError;
  assert.ok(protocol instanceof src.ProtocolError);
  assert.is(protocol.fault, 'version');
  assert.is(protocol.peerVersion, 'multiproc/1');
});

test('an error code this build does not know (a newer peer) decodes as a RemoteError, not a crash', () => {
  const wire: WireError = { name: 'FutureError', message: 'from a newer build', mpCode: 'MP_NOT_YET' as WireError['mpCode'], props: { code: 'MP_NOT_YET' } };
  const back = decodeError(wire) as src.RemoteError;
  assert.ok(back instanceof src.RemoteError);
  assert.is(back.remoteName, 'FutureError');
  assert.is(back.properties.code, 'MP_NOT_YET');
});

test('checkVersion returns (never throws) a ProtocolError for another build, null otherwise', () => {
  const other = checkVersion({ mp: 'multiproc/1', type: 'call' });
  assert.ok(other instanceof src.ProtocolError);
  assert.is(other!.fault, 'version');
  assert.is(other!.peerVersion, 'multiproc/1');
  assert.match(other!.message, new RegExp(`this side speaks ${PROTOCOL}.*multiproc/1`));
  assert.is(checkVersion({ mp: PROTOCOL, type: 'call' }), null, 'our own message');
  for (const user of [null, undefined, 42, 'multiproc/1', { type: 'call' }, { mp: 'other/1' }, { mp: 3 }]) {
    assert.is(checkVersion(user), null, `a user message: ${JSON.stringify(user)}`);
  }
  assert.is(EXIT_PROTOCOL, 76, "sysexits.h's EX_PROTOCOL");
});

test('other errors become RemoteError with name, message, properties and cause', () => {
  const original = Object.assign(new TypeError('bad thing', { cause: new Error('root') }), { code: 'E_BAD', extra: { n: 1 } });
  const back = decodeError(encodeError(original)) as src.RemoteError;
  assert.ok(back instanceof src.RemoteError);
  assert.is(back.remoteName, 'TypeError');
  assert.is(back.message, 'bad thing');
  assert.equal(back.properties, { code: 'E_BAD', extra: { n: 1 } });
  assert.ok(back.cause instanceof src.RemoteError);
  assert.is((back.cause as Error).message, 'root');
  const thrownString = decodeError(encodeError('just a string')) as src.RemoteError;
  assert.match(thrownString.message, /non-Error value was thrown: "just a string"/);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();

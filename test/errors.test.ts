// Every error class: name, code, Python twin, and instanceof across the three copies of the
// library a process may load (src under tsx, dist/esm, dist/cjs).
import { suite } from 'uvu';
import { createRequire } from 'node:module';
import * as src from '../src/index.ts';
import { decodeError, encodeError } from '../src/protocol/index.ts';
import { assert } from './helpers.ts';

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
  ['ShutDown', 'MP_SHUTDOWN', () => new src.ShutDown('down')],
  ['BufferTooShort', 'MP_BUFFER_TOO_SHORT', () => new src.BufferTooShort('short', { data: Buffer.from('message') })],
  ['MessageTooLong', 'MP_MESSAGE_TOO_LONG', () => new src.MessageTooLong('long', { length: 3, maxlength: 1 })],
];

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

test.run();

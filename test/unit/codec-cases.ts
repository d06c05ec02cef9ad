// Malformed host-link frame bodies, shared by test/unit/codec.test.ts (the codec says what is
// wrong) and test/protocol-version.test.ts (as a ProtocolError). Not a test file itself.
import { serialize } from 'node:v8';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return [...b];
};
const f64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(n, 0);
  return [...b];
};
const str = (s: string) => [3, ...u32(Buffer.byteLength(s)), ...Buffer.from(s)];

/** Bodies that are not messages, and what the codec says about each. */
export const malformed: Array<[string, number[], RegExp]> = [
  ['an empty body', [], /truncated value/],
  ['an unknown message type', [99], /unknown message type 99/],
  ['a call cut after its type', [1], /truncated value/],
  ['a call whose id is cut short', [1, 0, 1, 2, 3], /truncated value/],
  ['a call whose object name is a number', [1, 0, ...f64(1), 2, ...f64(5)], /a name that is not a string/],
  ['a call whose arguments are not an array', [1, 0, ...f64(1), ...str('o'), ...str('m'), 7], /call arguments that are not an array/],
  ['a string whose length runs past the end', [4, 3, ...u32(1000), 97], /truncated value/],
  ['an array whose count exceeds the bytes left', [6, 0, ...f64(1), 10, ...u32(1e9)], /a count larger than the bytes left/],
  ['an object key that is not a string', [6, 0, ...f64(1), 9, ...u32(1), 2, ...f64(1), 7], /an object key with tag 2/],
  ['an unknown value tag', [6, 0, ...f64(1), 200], /unknown value tag 200/],
  ['a value in queue-item form (v8 with handles) in a message', [6, 0, ...f64(1), 1, ...serialize(1)], /a message value in queue-item form/],
  ['stray bytes after a message', [2, ...f64(1), 0], /1 stray bytes after a message/],
  ['an error record that is not an object', [7, ...f64(1), 7], /an error record that is not an object/],
  ['a truncated number', [6, 0, ...f64(1), 2, 0, 0], /truncated value/],
];


// The typecodes of Python's `array` module as C storage for Value / Array
// (src/queue/sharedctypes.ts): which typed array holds each, and how a JavaScript value is
// converted on the way in, as the C type would (Python's sharedctypes use ctypes, which wrap
// integers silently: c_int(2**31) is -2**31, c_ubyte(-1) is 255). Runs on every side: the
// caller checks a value before sending it, the host stores it. Imports only src/errors.ts.
//
// 64-bit integers ('q', 'Q', and 'l', 'L', which are 64-bit C longs on Linux and macOS) are
// bigint: a JavaScript number cannot hold every such value exactly. 'c' and 'u' (one byte or
// one wide character: text, not numbers) are refused with a pointer to what to use instead.

import { invalidArg } from '../errors.ts';

/** Typecodes whose values are JavaScript numbers. */
export type NumberTypecode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'f' | 'd';
/** Typecodes of 64-bit integers, whose values are bigint. */
export type BigIntTypecode = 'l' | 'L' | 'q' | 'Q';
/** A typecode of Python's array module (as sharedctypes takes them; not 'c' or 'u'). */
export type Typecode = NumberTypecode | BigIntTypecode;
/** The JavaScript type of a value of typecode `T`, as read. */
export type ValueOf<T extends Typecode> = T extends BigIntTypecode ? bigint : number;
/** What may be stored in typecode `T`: a 64-bit code also takes a safe integer number. */
export type InputOf<T extends Typecode> = T extends BigIntTypecode ? bigint | number : number;

type Storage = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

interface Info {
  /** The C type, for messages (Python: ctypes.c_int…). */
  readonly ctype: string;
  readonly make: (length: number) => Storage;
  readonly kind: 'int' | 'float' | 'bigint';
}

type StorageClass = new (length: number) => Storage;

/** Typecode, C type, typed array, kind: the table the rest is read from. */
const TABLE: ReadonlyArray<readonly [Typecode, string, StorageClass, Info['kind']]> = [
  ['b', 'signed char', Int8Array, 'int'], ['B', 'unsigned char', Uint8Array, 'int'],
  ['h', 'short', Int16Array, 'int'], ['H', 'unsigned short', Uint16Array, 'int'],
  ['i', 'int', Int32Array, 'int'], ['I', 'unsigned int', Uint32Array, 'int'],
  ['l', 'long (64-bit)', BigInt64Array, 'bigint'], ['L', 'unsigned long (64-bit)', BigUint64Array, 'bigint'],
  ['q', 'long long', BigInt64Array, 'bigint'], ['Q', 'unsigned long long', BigUint64Array, 'bigint'],
  ['f', 'float', Float32Array, 'float'], ['d', 'double', Float64Array, 'float'],
];

const TYPECODES = Object.fromEntries(TABLE.map(([code, ctype, Cls, kind]) => [code, { ctype, make: (n: number) => new Cls(n), kind }])) as Readonly<Record<Typecode, Info>>;

const LIST = Object.keys(TYPECODES).join(' ');

/**
 * `code` as a Typecode. Throws TypeError (MP_INVALID_ARG) for anything else, saying what to
 * use: 'c' / 'u' hold text, which a Manager's value() or namespace() shares.
 */
export function checkTypecode(code: unknown, what: string): Typecode {
  if (typeof code === 'string' && Object.hasOwn(TYPECODES, code)) return code as Typecode;
  if (code === 'c' || code === 'u') {
    throw invalidArg(`${what}: typecode '${code}' (${code === 'c' ? 'a byte of text' : 'a wide character'}) is not supported: store numbers ('B' for bytes, 'I' for code points with codePointAt / fromCodePoint), or share text with a Manager (m.value(), m.namespace())`);
  }
  throw invalidArg(`${what}: ${typeof code === 'string' ? `'${code}'` : typeof code} is not a typecode of Python's array module; use one of ${LIST} (64-bit ones hold bigint)`);
}

/** A zeroed C array of `length` values of `code`. */
export function storage(code: Typecode, length: number): Storage {
  return TYPECODES[code].make(length);
}

/**
 * Check that `value` fits `code`'s kind (the C conversion itself happens when it is stored):
 * an integer number for the integer codes (Python: "int expected instead of float"), any
 * number for 'f' and 'd', a bigint or a safe integer for the 64-bit codes. Returns the value
 * to store. Throws TypeError (MP_INVALID_ARG).
 */
export function checkValue(code: Typecode, value: unknown, what: string): number | bigint {
  const info = TYPECODES[code];
  switch (info.kind) {
    case 'float':
      if (typeof value === 'number') return value;
      break;
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'number') throw invalidArg(`${what}: typecode '${code}' (C ${info.ctype}) needs an integer, got ${value} (Python: TypeError: int expected instead of float)`);
      break;
    case 'bigint':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      if (typeof value === 'number') throw invalidArg(`${what}: typecode '${code}' (C ${info.ctype}) needs a bigint or a safe integer, got ${value}`);
      break;
  }
  throw invalidArg(`${what}: typecode '${code}' (C ${info.ctype}) needs ${info.kind === 'bigint' ? 'a bigint' : 'a number'}, got ${value === null ? 'null' : typeof value}`);
}

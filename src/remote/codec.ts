// Values and host-link messages as bytes. Runs on every side (proxy and host).
//
// Two users:
//   queue items   src/queue/queue.ts packs each item once, at put(); the host moves the bytes
//                 without decoding them (PackWriter extends Encoder there).
//   host link     every message of src/remote/link.ts after the handshake: the ToHost /
//                 FromHost unions of src/protocol/host.ts, and ConnectionMessage of
//                 src/protocol/connection.ts (Listener / Client), laid out below (encodeMessage,
//                 decodeMessage). A small call costs a few dozen bytes written field by field,
//                 instead of a v8 serializer object per message and its header.
//
// value := tag, payload. Plain data (numbers, strings, booleans, null, undefined, plain
// objects and short arrays of those, and, on the host link, Buffers) is written directly
// ("tree" tags) with no allocation per value; anything else (Map, Set, Date, typed arrays,
// bigint, class instances, cycles or shared references, deep nesting…) goes through
// v8.serialize, i.e. structured clone. The tree form decodes to exactly what structured clone
// would give for such values; a value the tree form cannot represent faithfully is never
// tree-encoded. A value's v8 form runs to the end of its item or message, so a value is always
// the last field of what contains it.
//
// Frames carry packed queue items without copying them: a ByteChain (items held in several
// buffers) is written as one Buffer value, and MessageEncoder.pieces() leaves its large parts
// where they lie, as pieces of the frame the socket writer hands to writev(2) one after the
// other. So the host moves a ~1 KB item from the frame it arrived in to the socket of its
// consumer with no copy in JavaScript, and a producer's batch goes out from the PackWriter's
// buffer.

import { types } from 'node:util';
import { ProtocolError } from '../errors.ts';
import { deserialize, serialize } from 'node:v8';
import type { ConnectionMessage, FromHost, ToHost } from '../protocol/index.ts';

/** Every message a link carries after its handshake. */
export type LinkMessage = ToHost | FromHost | ConnectionMessage;

const { isProxy } = types;

/**
 * A u32, little-endian, at `at` of `buf` (the caller made room): four stores, without the
 * argument checks of Buffer's writeUInt32LE, which cost more than the store on every value.
 */
export function putU32(buf: Buffer, v: number, at: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

/** The u32, little-endian, at `at` of `buf` (the caller checked the bytes are there). */
export function getU32(buf: Buffer, at: number): number {
  return buf[at]! + buf[at + 1]! * 0x100 + buf[at + 2]! * 0x10000 + buf[at + 3]! * 0x1000000;
}

/** Value tags. Queue items use the same numbers: the host stores items as written. */
export const T_V8 = 0;
/** v8 form of a value holding encoded handles (src/remote/handle.ts): revive after decoding. */
export const T_V8_HANDLES = 1;
export const T_NUM = 2;
const T_STR8 = 3; // UTF-8, for well-formed strings
const T_STR16 = 4; // UTF-16LE, for strings with lone surrogates (UTF-8 would lose them)
const T_TRUE = 5;
const T_FALSE = 6;
const T_NULL = 7;
const T_UNDEF = 8;
const T_OBJ = 9; // u32 key count, then (string value, value) pairs
const T_ARR = 10; // u32 length, then values
const T_BUF = 11; // u32 length, then the bytes: a Buffer (host link only)
const T_ASCII = 12; // like T_STR8, all bytes below 0x80: read as Latin-1, without UTF-8 decoding

/** Objects of one value tracked in a list before a Set (see Encoder's seen list). */
const SEEN_LIST = 16;
/** Strings up to this many UTF-16 units are written by the encoder itself when ASCII. */
const SHORT_STRING = 32;
/** Largest array and deepest nesting written in tree form; beyond that v8 is as fast. */
const TREE_MAX_ARRAY = 64;
const TREE_MAX_DEPTH = 32;

/**
 * Bytes that cross as one Buffer (the receiver decodes a single Buffer) but are held here as
 * several parts: a queue's items taken from several put batches, or a batch put from a
 * producer. A MessageEncoder hands large parts to the socket as they are instead of copying
 * them into the frame, so they must not change until written: only bytes nobody writes again
 * (packed queue items) are wrapped in one. Host link only, like Buffers.
 */
export class ByteChain {
  readonly parts: readonly Buffer[];
  readonly length: number;

  constructor(parts: readonly Buffer[]) {
    this.parts = parts;
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }
}

/**
 * Writes values into a growing buffer: `buf[start, end)` is what was written since `start`.
 * Growing copies only that run, so bytes before `start` (handed out already) are never moved
 * or overwritten.
 */
export class Encoder {
  protected buf: Buffer;
  protected start = 0;
  protected end = 0;
  readonly #chunk: number;
  readonly #buffers: boolean;
  /**
   * Objects written so far in this value (a second sighting is a shared reference or a
   * cycle): a short list while few, as most values hold one to a handful of objects, and a
   * Set beyond SEEN_LIST (a Set's clear() allocates a new table, a list's does not).
   */
  readonly #seenList: object[] = [];
  /** Entries of #seenList in use: the list is reused, never truncated (that costs a call per value). */
  #seenCount = 0;
  #seenSet: Set<object> | null = null;

  /**
   * @param capacity Smallest buffer to allocate.
   * @param buffers Write Buffers as raw bytes (decoded as views into the received bytes).
   */
  constructor(capacity: number, buffers = false) {
    this.#chunk = capacity;
    this.#buffers = buffers;
    this.buf = Buffer.allocUnsafe(capacity);
  }

  protected ensure(n: number): void {
    if (this.end + n <= this.buf.length) return;
    const used = this.end - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.#chunk, 2 * (used + n)));
    this.buf.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = used;
  }

  /**
   * Called with nothing written since `start`: when less than half a chunk is left, start the
   * next run in a fresh buffer now (`spare`'s, when it has one), instead of copying it out of
   * this one once it fills up.
   */
  protected renew(spare?: () => Buffer | undefined): void {
    if (this.end === this.start && this.buf.length - this.end < this.#chunk / 2) {
      this.buf = spare?.() ?? Buffer.allocUnsafe(this.#chunk);
      this.start = this.end = 0;
    }
  }

  /** The smallest buffer this encoder allocates. */
  protected get chunk(): number {
    return this.#chunk;
  }

  protected u8(v: number): void {
    this.ensure(1);
    this.buf[this.end++] = v;
  }

  protected u32(v: number): void {
    this.ensure(4);
    putU32(this.buf, v, this.end);
    this.end += 4;
  }

  protected f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.end);
    this.end += 8;
  }

  /** A string with its tag: UTF-8 when well-formed, else UTF-16LE (lone surrogates survive). */
  protected string(s: string): void {
    const length = s.length;
    if (length <= SHORT_STRING) {
      // An object key or a short value: written here byte by byte while it is ASCII, since
      // a call into Buffer's native writer costs more than the copy for a few characters.
      this.ensure(5 + length);
      const buf = this.buf;
      const at = this.end + 5;
      let i = 0;
      for (; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === length) {
        buf[this.end] = T_STR8;
        putU32(buf, length, this.end + 1);
        this.end = at + length;
        return;
      }
    }
    if (s.isWellFormed()) {
      // UTF-8 needs at most 3 bytes per UTF-16 unit; measure exactly only for long strings.
      this.ensure(5 + (s.length > 4096 ? Buffer.byteLength(s, 'utf8') : s.length * 3));
      const n = this.buf.utf8Write(s, this.end + 5);
      // As many bytes as characters: every one is ASCII (any other takes two bytes or more),
      // and the reader makes the string from them as one byte each, ~30% faster.
      this.buf[this.end] = n === s.length ? T_ASCII : T_STR8;
      putU32(this.buf, n, this.end + 1);
      this.end += 5 + n;
    } else {
      this.ensure(5 + 2 * s.length);
      const n = this.buf.ucs2Write(s, this.end + 5);
      this.buf[this.end] = T_STR16;
      putU32(this.buf, n, this.end + 1);
      this.end += 5 + n;
    }
  }

  /**
   * Write `v` in tree form. Returns false when it needs structured clone; the caller must
   * then rewind `end` (what was written is garbage). May throw what a getter throws.
   */
  protected tree(v: unknown): boolean {
    try {
      return this.#tree(v, 0);
    } finally {
      // Cleared slot by slot (no more than SEEN_LIST), so no object of the value stays
      // reachable from the encoder.
      const list = this.#seenList;
      for (let i = 0; i < this.#seenCount; i++) list[i] = undefined as unknown as object;
      this.#seenCount = 0;
      this.#seenSet = null;
    }
  }

  #sawBefore(v: object): boolean {
    if (this.#seenSet !== null) return this.#seenSet.has(v);
    const list = this.#seenList;
    for (let i = 0; i < this.#seenCount; i++) if (list[i] === v) return true;
    return false;
  }

  #saw(v: object): void {
    if (this.#seenSet !== null) {
      this.#seenSet.add(v);
    } else if (this.#seenCount < SEEN_LIST) {
      this.#seenList[this.#seenCount++] = v;
    } else {
      this.#seenSet = new Set(this.#seenList);
      this.#seenSet.add(v);
    }
  }

  #tree(v: unknown, depth: number): boolean {
    switch (typeof v) {
      case 'number':
        this.ensure(9);
        this.buf[this.end] = T_NUM;
        this.buf.writeDoubleLE(v, this.end + 1);
        this.end += 9;
        return true;
      case 'string':
        this.string(v);
        return true;
      case 'boolean':
        this.u8(v ? T_TRUE : T_FALSE);
        return true;
      case 'undefined':
        this.u8(T_UNDEF);
        return true;
      case 'object': {
        if (v === null) {
          this.u8(T_NULL);
          return true;
        }
        // Shared references and cycles keep their identity under structured clone; the tree
        // form cannot express that, so such values go to v8. Proxies are refused by v8.
        if (depth > TREE_MAX_DEPTH || this.#sawBefore(v) || isProxy(v)) return false;
        const proto = Object.getPrototypeOf(v);
        if (Array.isArray(v)) {
          // Holes and extra named properties survive structured clone: only arrays whose
          // own keys are exactly their indexes are written here.
          if (proto !== Array.prototype || v.length > TREE_MAX_ARRAY || Object.keys(v).length !== v.length) return false;
          this.#saw(v);
          this.ensure(5);
          this.buf[this.end] = T_ARR;
          putU32(this.buf, v.length, this.end + 1);
          this.end += 5;
          for (let i = 0; i < v.length; i++) if (!this.#tree(v[i], depth + 1)) return false;
          return true;
        }
        if (this.#buffers && proto === Buffer.prototype) {
          // A whole Buffer: structured clone gives a Buffer too.
          const b = v as Buffer;
          this.ensure(5 + b.length);
          this.buf[this.end] = T_BUF;
          putU32(this.buf, b.length, this.end + 1);
          b.copy(this.buf, this.end + 5);
          this.end += 5 + b.length;
          return true;
        }
        if (this.#buffers && proto === ByteChain.prototype) {
          // Packed queue items in parts: on the wire, one Buffer.
          const chain = v as ByteChain;
          this.ensure(5);
          this.buf[this.end] = T_BUF;
          putU32(this.buf, chain.length, this.end + 1);
          this.end += 5;
          for (const part of chain.parts) this.raw(part);
          return true;
        }
        if (proto !== Object.prototype && proto !== null) return false;
        this.#saw(v);
        const keys = Object.keys(v);
        this.ensure(5);
        this.buf[this.end] = T_OBJ;
        putU32(this.buf, keys.length, this.end + 1);
        this.end += 5;
        for (const key of keys) {
          this.string(key);
          if (!this.#tree((v as Record<string, unknown>)[key], depth + 1)) return false;
        }
        return true;
      }
      default:
        return false; // bigint (rare: v8), symbol and function (v8 reports them)
    }
  }

  /** Raw bytes of a ByteChain part (copied here; a MessageEncoder may hand them over instead). */
  protected raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.end);
    this.end += b.length;
  }

  /** The v8 form of a value: its tag, then v8.serialize() bytes. */
  protected v8(body: Buffer, handles: boolean): void {
    this.ensure(1 + body.length);
    this.buf[this.end] = handles ? T_V8_HANDLES : T_V8;
    body.copy(this.buf, this.end + 1);
    this.end += 1 + body.length;
  }

  /** Tree form when possible, else v8. Throws what v8.serialize throws (a function, a symbol…). */
  protected value(v: unknown): void {
    const at = this.end;
    if (this.tree(v)) return;
    this.end = at;
    this.v8(serialize(v), false);
  }
}

// ---------------------------------------------------------------------------------------
// Decoding. One module-level cursor: decoding never re-enters.

let cursor = 0;
let limit = 0;

function need(n: number): void {
  if (cursor + n > limit) throw new ProtocolError('truncated value', { fault: 'codec' });
}

/** The string after a T_STR8, T_ASCII or T_STR16 tag (`tag`). */
function readString(buf: Buffer, tag: number): string {
  need(4);
  const n = getU32(buf, cursor);
  const start = cursor + 4;
  cursor = start;
  need(n);
  cursor = start + n;
  if (tag === T_ASCII) return buf.latin1Slice(start, start + n);
  return tag === T_STR8 ? buf.utf8Slice(start, start + n) : buf.ucs2Slice(start, start + n);
}

/**
 * Object keys seen lately, by a hash of their UTF-8 bytes: the items of a queue repeat the
 * same few keys, and a key read from here is the very string the previous item used (V8
 * internalized it then), so building the object neither decodes nor internalizes it again.
 */
const KEY_SLOTS = 256;
const KEY_MAX = 32;
const keyBytes: Array<Buffer | undefined> = new Array(KEY_SLOTS);
const keyStrings: Array<string | undefined> = new Array(KEY_SLOTS);

function readKey(buf: Buffer): string {
  need(1);
  const tag = buf[cursor++];
  if (tag !== T_STR8) {
    if (tag !== T_STR16 && tag !== T_ASCII) throw new ProtocolError(`an object key with tag ${tag}`, { fault: 'codec' });
    return readString(buf, tag);
  }
  need(4);
  const n = getU32(buf, cursor);
  if (n === 0 || n > KEY_MAX) return readString(buf, tag);
  const start = cursor + 4;
  cursor = start;
  need(n);
  cursor = start + n;
  const slot = (n * 31 + buf[start]! * 7 + buf[start + n - 1]!) & (KEY_SLOTS - 1);
  const known = keyBytes[slot];
  if (known !== undefined && known.length === n) {
    let i = 0;
    while (i < n && known[i] === buf[start + i]) i++;
    if (i === n) return keyStrings[slot]!;
  }
  const key = buf.utf8Slice(start, start + n);
  keyBytes[slot] = Buffer.from(buf.subarray(start, start + n));
  keyStrings[slot] = key;
  return key;
}

function readCount(buf: Buffer): number {
  need(4);
  const n = getU32(buf, cursor);
  cursor += 4;
  // Every element takes at least one byte: a count beyond that is corrupt, not a huge array.
  if (n > limit - cursor) throw new ProtocolError('a count larger than the bytes left', { fault: 'codec' });
  return n;
}

function readValue(buf: Buffer): unknown {
  need(1);
  const tag = buf[cursor++];
  switch (tag) {
    case T_NUM: {
      need(8);
      const v = buf.readDoubleLE(cursor);
      cursor += 8;
      return v;
    }
    case T_STR8:
    case T_ASCII:
    case T_STR16:
      return readString(buf, tag);
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_NULL:
      return null;
    case T_UNDEF:
      return undefined;
    case T_OBJ: {
      const n = readCount(buf);
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = readKey(buf);
        const value = readValue(buf);
        // Structured clone makes "__proto__" an own property; assignment would set the prototype.
        if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        else obj[key] = value;
      }
      return obj;
    }
    case T_ARR: {
      const n = readCount(buf);
      const arr = new Array<unknown>(n);
      for (let i = 0; i < n; i++) arr[i] = readValue(buf);
      return arr;
    }
    case T_BUF: {
      const n = readCount(buf);
      const out = buf.subarray(cursor, cursor + n);
      cursor += n;
      return out;
    }
    case T_V8:
    case T_V8_HANDLES: {
      // The caller revives handles (it knows which reviver table applies).
      let value: unknown;
      try {
        value = deserialize(buf.subarray(cursor, limit));
      } catch (err) {
        throw new ProtocolError(`an undecodable v8 payload (${(err as Error).message})`, { fault: 'codec', cause: err });
      }
      cursor = limit;
      return tag === T_V8_HANDLES ? new NeedsRevive(value) : value;
    }
    default:
      throw new ProtocolError(`unknown value tag ${tag}`, { fault: 'codec' });
  }
}

/** A decoded value whose handles still need reviving (it was written with T_V8_HANDLES). */
export class NeedsRevive {
  constructor(readonly value: unknown) {}
}

/**
 * Decode the value in `buf[pos, end)`. A value written in v8 form with handles comes back
 * wrapped in NeedsRevive. Throws ProtocolError (fault 'codec') when the bytes are malformed.
 */
export function decodeValue(buf: Buffer, pos: number, end: number): unknown {
  cursor = pos;
  limit = end;
  return readValue(buf);
}

// ---------------------------------------------------------------------------------------
// Host-link messages (ToHost / FromHost of src/protocol/host.ts), one per frame body:
//
//   call      1, flags, id f64, obj string, method string, args value    flags bit 0: handles
//   cancel    2, id f64
//   incref    3, claim u8, obj string
//   decref    4, obj string
//   lease     5, obj string
//   result    6, flags, id f64, value                                     flags bit 0: handles
//   error     7, id f64, error value (a WireError)
//   sync      8, id f64
//   value     9, data value (a Buffer: one packed queue item)             Listener / Client
//   bytes     10, data value (a Buffer)                                   Listener / Client
//
// Strings are values (tag, length, bytes). Ids are doubles: a long-lived connection can pass
// 2^32 calls.

const M_CALL = 1;
const M_CANCEL = 2;
const M_INCREF = 3;
const M_DECREF = 4;
const M_LEASE = 5;
const M_RESULT = 6;
const M_ERROR = 7;
const M_SYNC = 8;
const M_VALUE = 9;
const M_BYTES = 10;

/** A frame at least this large is handed over instead of copied out of the encoder. */
const HAND_OVER = 64 * 1024;
/** A ByteChain part at least this large is written from where it lies, not copied into the frame. */
const BY_REFERENCE = 16 * 1024;

/** Writes host-link messages as frames: a 4-byte big-endian length, then the body. */
export class MessageEncoder extends Encoder {
  #busy = false;
  /** Pieces of the frame being written, before `#cut` (large ByteChain parts among them). */
  #pieces: Buffer[] = [];
  #cut = 0;

  constructor() {
    super(4096, true);
  }

  /**
   * One message as one frame, in a buffer of its own (it may wait in a write queue while the
   * next is encoded). Throws what v8.serialize throws for a value that cannot cross.
   */
  frame(m: LinkMessage): Buffer {
    const pieces = this.pieces(m);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /**
   * One message as one frame, in pieces to write one after the other: large ByteChain parts
   * (queue items) are pieces of their own, written from where they lie instead of copied
   * into the frame (a take reply or a put batch of ~1 KB items then costs the host and the
   * producer no copy of its bytes). Throws as frame().
   */
  pieces(m: LinkMessage): Buffer[] {
    // A getter read while a value is written may itself send a message (a proxy call):
    // that one gets an encoder of its own instead of overwriting this one's bytes.
    if (this.#busy) return new MessageEncoder().pieces(m);
    this.#busy = true;
    try {
      return this.#frame(m);
    } finally {
      this.#busy = false;
      this.#pieces = [];
      this.#cut = 0;
    }
  }

  protected override raw(b: Buffer): void {
    if (b.length < BY_REFERENCE) return super.raw(b);
    // What was written since the last cut is copied out: the encoder's buffer is reused by the
    // next message, while these pieces may wait in a write queue.
    this.#pieces.push(Buffer.from(this.buf.subarray(this.#cut, this.end)), b);
    this.#cut = this.end;
  }

  #frame(m: LinkMessage): Buffer[] {
    this.start = 0;
    this.end = 4;
    try {
      this.#body(m);
    } catch (err) {
      this.#reset();
      throw err;
    }
    const pieces = this.#pieces;
    let total = this.end - this.#cut;
    for (const p of pieces) total += p.length;
    let last: Buffer;
    if (this.end - this.#cut >= HAND_OVER) {
      // A large message (a batch of queue items) leaves in the buffer it was written in,
      // rather than being copied once more; the encoder starts a fresh one.
      last = this.buf.subarray(this.#cut, this.end);
      this.buf = Buffer.allocUnsafe(4096);
    } else {
      last = Buffer.allocUnsafe(this.end - this.#cut);
      this.buf.copy(last, 0, this.#cut, this.end);
    }
    if (pieces.length === 0) {
      last.writeUInt32BE(total - 4, 0);
      return [last];
    }
    pieces[0]!.writeUInt32BE(total - 4, 0);
    if (last.length > 0) pieces.push(last);
    return pieces;
  }

  /** Do not keep a huge buffer around after a message that failed to encode. */
  #reset(): void {
    if (this.buf.length > HAND_OVER) this.buf = Buffer.allocUnsafe(4096);
  }

  #body(m: LinkMessage): void {
    switch (m.type) {
      case 'call':
        this.u8(M_CALL);
        this.u8(m.handles ? 1 : 0);
        this.f64(m.id);
        this.string(m.obj);
        this.string(m.method);
        this.value(m.args);
        return;
      case 'cancel':
        this.u8(M_CANCEL);
        this.f64(m.id);
        return;
      case 'sync':
        this.u8(M_SYNC);
        this.f64(m.id);
        return;
      case 'incref':
        this.u8(M_INCREF);
        this.u8(m.claim ? 1 : 0);
        this.string(m.obj);
        return;
      case 'decref':
        this.u8(M_DECREF);
        this.string(m.obj);
        return;
      case 'lease':
        this.u8(M_LEASE);
        this.string(m.obj);
        return;
      case 'result':
        this.u8(M_RESULT);
        this.u8(m.handles ? 1 : 0);
        this.f64(m.id);
        this.value(m.value);
        return;
      case 'error':
        this.u8(M_ERROR);
        this.f64(m.id);
        this.value(m.error);
        return;
      case 'value':
      case 'bytes':
        this.u8(m.type === 'value' ? M_VALUE : M_BYTES);
        this.value(m.data);
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown message type ${(never as { type: string }).type}`);
      }
    }
  }
}

function readId(buf: Buffer): number {
  need(8);
  const id = buf.readDoubleLE(cursor);
  cursor += 8;
  return id;
}

function readName(buf: Buffer): string {
  const s = readValue(buf);
  if (typeof s !== 'string') throw new ProtocolError('a name that is not a string', { fault: 'codec' });
  return s;
}

/** A value of a message: never in v8-with-handles form (handles travel as the `handles` flag). */
function readPlain(buf: Buffer): unknown {
  const v = readValue(buf);
  if (v instanceof NeedsRevive) throw new ProtocolError('a message value in queue-item form', { fault: 'codec' });
  return v;
}

function done<T>(m: T): T {
  if (cursor !== limit) throw new ProtocolError(`${limit - cursor} stray bytes after a message`, { fault: 'codec' });
  return m;
}

/**
 * Decode one frame body into its message. Throws ProtocolError (fault 'codec') for bytes that are not a
 * well-formed message (the link closes then).
 */
export function decodeMessage(buf: Buffer): LinkMessage {
  cursor = 0;
  limit = buf.length;
  need(1);
  const type = buf[cursor++];
  switch (type) {
    case M_CALL: {
      need(1);
      const flags = buf[cursor++]!;
      const id = readId(buf);
      const obj = readName(buf);
      const method = readName(buf);
      const args = readPlain(buf);
      if (!Array.isArray(args)) throw new ProtocolError('call arguments that are not an array', { fault: 'codec' });
      return done({ type: 'call', id, obj, method, args, handles: (flags & 1) === 1 });
    }
    case M_CANCEL:
      return done({ type: 'cancel', id: readId(buf) });
    case M_SYNC:
      return done({ type: 'sync', id: readId(buf) });
    case M_INCREF: {
      need(1);
      const claim = buf[cursor++] === 1;
      return done({ type: 'incref', obj: readName(buf), claim });
    }
    case M_DECREF:
      return done({ type: 'decref', obj: readName(buf) });
    case M_LEASE:
      return done({ type: 'lease', obj: readName(buf) });
    case M_RESULT: {
      need(1);
      const flags = buf[cursor++]!;
      const id = readId(buf);
      return done({ type: 'result', id, value: readPlain(buf), handles: (flags & 1) === 1 });
    }
    case M_ERROR: {
      const id = readId(buf);
      const error = readPlain(buf);
      if (typeof error !== 'object' || error === null) throw new ProtocolError('an error record that is not an object', { fault: 'codec' });
      return done({ type: 'error', id, error: error as Extract<FromHost, { type: 'error' }>['error'] });
    }
    case M_VALUE:
    case M_BYTES: {
      const data = readPlain(buf);
      if (!Buffer.isBuffer(data)) throw new ProtocolError('connection data that is not bytes', { fault: 'codec' });
      return done({ type: type === M_VALUE ? 'value' : 'bytes', data });
    }
    default:
      throw new ProtocolError(`unknown message type ${type}`, { fault: 'codec' });
  }
}

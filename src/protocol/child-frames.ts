// parent <-> pool worker: the messages of child.ts as frames of the worker's byte channel
// (src/process/byte-channel.ts). Runs on both sides. Once a worker has its channel, every
// message after 'init', both ways, is one message frame: the tag in its header says how its
// bytes read.
//   TAG_CLONE    any message, as a structured clone (v8.serialize: what Node's IPC channel
//                sends with `serialization: 'advanced'`)
//   TAG_CALL     a 'call' whose items are packed numbers (no handles, no value frames):
//                a 16-byte prefix (kind, spread, key, id), then the numbers' bytes
//   TAG_NUMBERS  a 'numbers' reply: a 16-byte prefix (kind, id), then the numbers' bytes
// The two laid out by hand are the messages of a map of numbers, the commonest traffic by
// far: decoding them allocates the message object and a view, nothing that a collection
// must track (v8's (de)serializer objects survive until the next scavenge, and a long imap
// made the parent's young generation grow on them: bench case 8). The numbers start at
// offset 16 of the frame, so a frame read into memory of its own (offset 0 of its
// ArrayBuffer) is viewed in place as an Int32Array or Float64Array.
//
// A decoded TAG_CALL or TAG_NUMBERS message has the shape of one whose numbers follow in a
// value frame (`frames: [{ i: -1, ... }]`, empty items or values); the numbers are returned
// beside it, and the receiver hands them to that message as its one frame. So the rest of
// each side reads one shape whichever way the numbers came.

import { deserialize, serialize } from 'node:v8';
import type { FrameSlot, FromChild, PackedNumbers, ToChild } from './child.ts';
import { PROTOCOL } from './version.ts';

export const TAG_CLONE = 0;
export const TAG_CALL = 1;
export const TAG_NUMBERS = 2;
/** Bytes before the numbers of TAG_CALL and TAG_NUMBERS. */
const PREFIX = 16;
const EMPTY = new Uint8Array(0);
/** The one slot of a message whose numbers it carries itself, by kind: shared (nothing changes a message's `frames`). */
const INT_FRAMES: FrameSlot[] = [{ i: -1, k: 'Int32Array' }];
const DOUBLE_FRAMES: FrameSlot[] = [{ i: -1, k: 'Float64Array' }];

/** A message as a frame: its tag and the parts its bytes are made of (written in this order). */
export interface EncodedMessage {
  tag: number;
  parts: Uint8Array[];
  /** The receiver may read it into pooled memory (a layout whose values it reads and gives back). */
  pooled: boolean;
}

/**
 * `m` as a message frame. Packed numbers are not copied: the last part is a view of them,
 * which the writer must leave unchanged until the write calls back. Throws what
 * v8.serialize throws for a value that cannot be cloned, before anything is written.
 */
export function encodeMessage(m: ToChild | FromChild): EncodedMessage {
  if (m.type === 'call' && !Array.isArray(m.items) && m.frames === undefined && !m.handles) {
    const items = m.items as PackedNumbers;
    const prefix = new Uint8Array(PREFIX);
    const view = new DataView(prefix.buffer);
    prefix[0] = items instanceof Int32Array ? 0 : 1;
    prefix[1] = m.spread ? 1 : 0;
    view.setUint32(4, m.key, true);
    view.setFloat64(8, m.id, true);
    return { tag: TAG_CALL, parts: [prefix, new Uint8Array(items.buffer, items.byteOffset, items.byteLength)], pooled: true };
  }
  if (m.type === 'numbers' && m.frames === undefined) {
    const prefix = new Uint8Array(PREFIX);
    prefix[0] = m.ints ? 0 : 1;
    new DataView(prefix.buffer).setFloat64(8, m.id, true);
    return { tag: TAG_NUMBERS, parts: [prefix, m.values], pooled: true };
  }
  return { tag: TAG_CLONE, parts: [serialize(m)], pooled: false };
}

/** A message read from a frame, and the numbers it carried in itself (a view of the frame), if any. */
export interface DecodedMessage<M> {
  message: M;
  numbers: Uint8Array | null;
}

/** The message of a frame of tag `tag` (see encodeMessage). */
export function decodeMessage<M extends ToChild | FromChild>(tag: number, frame: Uint8Array): DecodedMessage<M> {
  if (tag === TAG_CLONE) return { message: deserialize(frame) as M, numbers: null };
  if (tag !== TAG_CALL && tag !== TAG_NUMBERS) throw new Error(`multiproc internal error: a message frame of unknown tag ${tag}`);
  const view = new DataView(frame.buffer, frame.byteOffset, PREFIX);
  const ints = frame[0] === 0;
  const id = view.getFloat64(8, true);
  const frames = ints ? INT_FRAMES : DOUBLE_FRAMES;
  const numbers = frame.subarray(PREFIX);
  const message =
    tag === TAG_CALL
      ? { mp: PROTOCOL, type: 'call' as const, id, key: view.getUint32(4, true), items: [], spread: frame[1] === 1, frames }
      : { mp: PROTOCOL, type: 'numbers' as const, id, values: EMPTY, ints, frames };
  return { message: message as M, numbers };
}

// How a batch's message goes to its worker: by IPC, or on the worker's byte channel
// (../byte-channel.ts), where its large values follow it as frames of their own. Parent side.
// A worker's messages move to the channel with the first batch that gains from it (packed
// numbers, large binary values: Worker.useChannel), and stay there.
//
// On the channel, a batch of packed numbers is one message frame laid out by hand
// (src/protocol/child-frames.ts, TAG_CALL); any other batch is a structured clone, its large
// binary values (top-level items, or top-level arguments of an apply, a submit, a starmap
// item) taken out and written as frames right after it (`frames`, see
// src/protocol/child.ts). What that changes for the engine:
//   - ownership: the socket reads the caller's Buffers themselves, and the packed numbers'
//     scratch, until each write calls back; the batch keeps its items until it completes
//     anyway (to send them again should its worker die), and packed numbers are packed into
//     a scratch of their own, given back in the write's callback, never reused before;
//   - a worker that dies while a batch's message or frames are still being written cannot
//     have started that batch (the child runs a batch only once all its bytes arrived), so
//     the batch is requeued, not failed (Batch.unwritten, read by the engine's #onClose);
//   - backpressure: what is written at once is bounded by the pipelining (two batches per
//     worker, each near MAX_BATCH_BYTES unless one value is larger), so nothing queues
//     without bound on the JavaScript side.

import { encodeRecords, PROTOCOL, type FrameSlot, type PackedNumbers, type ToChild } from '../../protocol/index.ts';
import { extractBinary } from '../byte-channel.ts';
import type { ScratchPool } from '../numbers.ts';
import type { Batch } from './job.ts';
import type { Worker } from './worker.ts';

type Call = Extract<ToChild, { type: 'call' }>;

/**
 * The 'call' message of a batch. A class, not an object literal, because of how Node's IPC
 * serializer treats what it sends: its map of the objects it wrote is freed by a weak
 * callback, at the next scavenge, so every message survives one. A literal's allocation site
 * then sees all its objects survive, and V8 pretenures it: from then on each message is
 * allocated in the old generation, where it keeps its batch's items (the typed array and
 * its off-heap bytes) alive until a full GC, which a long imap seldom triggers. Bench case 8
 * with the young generation held at 4 MiB semi-spaces: the parent's RSS grew by 14 MB over
 * 2,000,000 items (old space +5 MB, the rest malloc'd bytes of the retained items); as
 * instances of a class, which have no allocation site, it stays flat.
 */
export class CallMessage implements Call {
  readonly mp = PROTOCOL;
  readonly type = 'call';
  // Set only when needed (transfer, handles): a field declared here would be sent as undefined.
  declare handles?: boolean;
  declare frames?: FrameSlot[];
  declare records?: boolean;
  constructor(
    readonly id: number,
    readonly key: number,
    public items: unknown[] | PackedNumbers,
    readonly spread: boolean,
  ) {}
}

/**
 * Send `msg`, the 'call' of `batch`, to `w`, with its large values on the byte channel
 * when the worker has one. Packed numbers in `msg.items` are in `scratches.current`, handed
 * over to the write that reads them until it calls back. Throws what the serializer throws
 * for a value that cannot be cloned, before anything of the batch was sent.
 */
export function sendCall(w: Worker, batch: Batch, msg: CallMessage, scratches: ScratchPool): void {
  batch.unwritten = 0;
  batch.sendToken = null;
  // A batch of one item that is a table of rows sends it by columns (records.ts). Only a
  // batch's only item: no other item can then hold one of its rows.
  if (!msg.spread && !msg.handles && Array.isArray(msg.items) && msg.items.length === 1) {
    const records = encodeRecords(msg.items[0]);
    if (records !== null) {
      msg.items = [records];
      msg.records = true;
    }
  }
  const packed = !Array.isArray(msg.items);
  const ex = packed || w.channel === null ? null : extractBinary(msg.items as unknown[], msg.spread);
  // A batch that gains from the channel switches its worker over; any batch after goes there too.
  const channel = packed || ex !== null ? w.useChannel() : w.onChannel ? w.channel : null;
  if (channel === null) {
    // By IPC: serialized inside send(), so packed numbers' scratch is free again at once.
    w.send(msg);
    return;
  }
  let frames: Uint8Array[] = [];
  if (ex !== null) {
    frames = ex.frames;
    msg.items = ex.values;
    msg.frames = ex.slots;
  }
  const token = {};
  batch.sendToken = token;
  batch.unwritten = 1 + frames.length;
  const written = (err: Error | null) => {
    if (err === null && batch.sendToken === token) batch.unwritten--;
  };
  // Encoded synchronously: throws (a value that cannot be cloned) before anything is written.
  if (packed) {
    const scratch = scratches.handOver();
    w.send(msg, (err) => (scratches.give(scratch), written(err)));
  } else w.send(msg, written);
  for (const frame of frames) channel.write(frame, false, written);
}

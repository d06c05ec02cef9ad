// How a batch's message goes to its worker: on the IPC channel alone, or with its large
// values on the worker's byte channel (../byte-channel.ts). Parent side.
//
// A batch's large binary values (top-level items, or top-level arguments of an apply, a
// submit, a starmap item) and its packed numbers, when at least MIN_CHANNEL_BYTES, are
// written as frames right after the 'call' message that announces them (`frames`, see
// src/protocol/child.ts). What that changes for the engine:
//   - ownership: the socket reads the caller's Buffers themselves until each write calls
//     back; the batch keeps its items until it completes anyway (to send them again should
//     its worker die), and packed numbers are packed into a scratch of their own, given
//     back in the write's callback, never reused before;
//   - a worker that dies while a batch's frames are still being written cannot have
//     started that batch (the child runs a batch only once all its bytes arrived), so the
//     batch is requeued, not failed (Batch.unwritten, read by the engine's #onClose);
//   - backpressure: what is written at once is bounded by the pipelining (two batches per
//     worker, each near MAX_BATCH_BYTES unless one value is larger), so nothing queues
//     without bound on the JavaScript side.

import type { PackedNumbers, ToChild } from '../../protocol/index.ts';
import { extractBinary, MIN_CHANNEL_BYTES, packedSlot } from '../byte-channel.ts';
import { bytesOf, type ScratchPool } from '../numbers.ts';
import type { Batch } from './job.ts';
import type { Worker } from './worker.ts';

type Call = Extract<ToChild, { type: 'call' }>;

/**
 * Send `msg`, the 'call' of `batch`, to `w`, with its large values on the byte channel
 * when the worker has one. Packed numbers in `msg.items` are in `scratches.current`, handed
 * over to the write that reads them until it calls back. Throws what `child.send` throws
 * for a value that cannot be cloned, before anything of the batch was sent.
 */
export function sendCall(w: Worker, batch: Batch, msg: Call, scratches: ScratchPool): void {
  batch.unwritten = 0;
  batch.sendToken = null;
  const channel = w.bytes ? w.channel : null;
  let frames: Uint8Array[] | null = null;
  let pooled = false;
  if (channel !== null) {
    const items = msg.items;
    if (!Array.isArray(items)) {
      const packed = items as PackedNumbers;
      if (packed.byteLength >= MIN_CHANNEL_BYTES) {
        frames = [bytesOf(packed)];
        pooled = true;
        msg.items = [];
        msg.frames = [packedSlot(packed instanceof Int32Array)];
      }
    } else {
      const ex = extractBinary(items, msg.spread);
      if (ex !== null) {
        frames = ex.frames;
        msg.items = ex.values;
        msg.frames = ex.slots;
      }
    }
  }
  // Serialized inside send(), synchronously: throws before any frame is written.
  w.child.send(msg);
  if (frames === null) return;
  const scratch = pooled ? scratches.handOver() : null;
  const token = {};
  batch.sendToken = token;
  batch.unwritten = frames.length;
  const written = (err: Error | null) => {
    if (err === null && batch.sendToken === token) batch.unwritten--;
  };
  for (const frame of frames) {
    channel!.write(frame, pooled, scratch !== null ? (err) => (scratches.give(scratch), written(err)) : written);
  }
}

// One worker of the engine: a child process, the batches it holds, and the facts of its end.
// Parent side. The engine (engine.ts) decides what a worker runs and what its death means;
// this module forks it, follows its child until it is really gone, and words that end.
// It also owns the worker's byte channel (../byte-channel.ts), to which each direction's
// messages move once (see `channel`): a reply whose values follow on it is held back, with
// every message after it, until they have arrived, so the engine sees replies whole and in
// the order the child sent them.

import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { debug } from '../../diagnostics.ts';
import { BrokenProcessPool, ProtocolError, WorkerLostError } from '../../errors.ts';
import { checkVersion, encodeMessage, EXIT_PROTOCOL, isBranded, PROTOCOL, versionMismatch, type FromChild, type ToChild } from '../../protocol/index.ts';
import { ByteChannel, frameCount, insertBinary, type Claim } from '../byte-channel.ts';
import { spawnChild } from '../spawn.ts';
import type { Batch } from './job.ts';

/** If a child's channel does not report closing within this after its exit, treat it as closed anyway. */
const CLOSE_FALLBACK_MS = 1000;

/** live: accepts work; retiring: finishes what it holds, then leaves; dead: killed or gone. */
export type WorkerState = 'live' | 'retiring' | 'dead';

/** What a worker tells its engine. */
export interface WorkerEvents {
  /** A message of the library's protocol arrived from the child. */
  message(w: Worker, m: FromChild): void;
  /** The child is gone: exited and its channel closed, so every reply it sent has arrived. */
  closed(w: Worker): void;
  /** The fork itself failed (EAGAIN, ENOMEM): there is no child, and none will exit. */
  forkFailed(w: Worker, err: Error): void;
  /** The child is of another multiproc build: it sent a message of another protocol version. */
  foreign(w: Worker, err: ProtocolError): void;
}

let workerCounter = 0;

/** One child process of the pool and what it holds. */
export class Worker {
  /** Batches sent and not answered, in the order sent: the head runs, the rest wait in the child's inbox. */
  readonly inflight: Batch[] = [];
  /** Keys of the functions this child has been sent ('define'). */
  readonly defined = new Set<number>();
  /** Batches ever handed to this worker (for maxTasksPerChild). */
  assigned = 0;
  state: WorkerState = 'live';
  /** The child said 'started' (its entry loaded), or ended: it no longer counts as starting. */
  started = false;
  /** The child said 'ready': its initializer ran, it runs tasks. */
  ready = false;
  /** We killed it (cancel, terminate): its death is not the head batch's fault. */
  killedByUs = false;
  /** Whether the child and its IPC channel currently keep the event loop alive. */
  refd = true;
  /** When the current head batch started running (performance.now()). */
  headSince = 0;
  /** As Process.exitCode says it: minus the signal number when killed; null while running. */
  exitCode: number | null = null;
  signal: string | null = null;
  /** Gone for good (see WorkerEvents.closed). */
  closed = false;
  /**
   * The byte channel to the child (null: the fork gave none, on Windows). Each direction moves
   * to it once, marked by its last IPC message: this side sends 'switch' with the first batch
   * that gains from the channel (useChannel), then every later message on it; the child sends
   * 'switched' on 'switch' or with its first reply that gains from it, then every later
   * message on it. Channel messages read before 'switched' wait in the channel.
   */
  readonly channel: ByteChannel | null;
  /** This side sent 'switch': every message goes on the channel. */
  #sending = false;
  /** Messages held back until the frames of the first have arrived (see the header). */
  readonly #parked: { m: FromChild; claim: Claim | null }[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    const socket = child.stdio[4] as Socket | null | undefined;
    this.channel = socket ? new ByteChannel(socket) : null;
  }

  /**
   * Fork a worker for the pool `label` and follow its child. The caller sends it 'init' (and
   * may send work right away: the child handles messages in order).
   */
  static spawn(label: string, events: WorkerEvents): Worker {
    const name = `PoolWorker-${++workerCounter}`;
    // A stdio pipe is a socketpair on Unix; on Windows a named pipe, which a child cannot open by fd.
    const child = spawnChild(`${label} worker ${name}`, { bytes: process.platform !== 'win32' });
    const w = new Worker(child, name);
    if (w.channel !== null) w.channel.onMessage = (m, own) => w.#receive(m as FromChild, events, own);
    child.on('message', (m: unknown) => {
      if (isBranded(m)) return w.#receive(m as FromChild, events, null);
      // Not ours: a user message (ignored), or one of another multiproc build (the pool cannot use it).
      const mismatch = checkVersion(m);
      if (mismatch) events.foreign(w, versionMismatch(mismatch.peerVersion!, `worker ${name} (pid ${child.pid})`));
    });
    // A worker is gone once it has exited AND its channels have closed: only then have all
    // the results it sent before dying been delivered. ('close' is not enough: Node does not
    // emit it after a parent-side disconnect().)
    let exited = false;
    let disconnected = false;
    let bytesClosed = w.channel === null;
    let fallback: NodeTimeout | undefined;
    const gone = () => {
      if (!exited || !disconnected || !bytesClosed) return;
      clearTimeout(fallback);
      events.closed(w);
    };
    child.once('exit', (code: number | null, signal: string | null) => {
      exited = true;
      w.exitCode = exitCodeOf(code, signal);
      w.signal = signal;
      gone();
      // A fallback so that a channel that never reports closing cannot hang anything (a
      // process the task started may hold the child's end of a channel open): the byte
      // channel is destroyed then, with what it still had to write.
      if (!w.closed)
        fallback = setTimeout(() => {
          w.channel?.socket.destroy();
          events.closed(w);
        }, CLOSE_FALLBACK_MS);
    });
    child.once('disconnect', () => {
      disconnected = true;
      gone();
    });
    w.channel?.socket.once('close', () => {
      bytesClosed = true;
      gone();
    });
    child.on('error', (err: Error) => {
      // A fork that failed has no pid and will never exit; other errors (a failed kill or
      // send) are followed by the exit that matters.
      if (child.pid === undefined) events.forkFailed(w, err);
    });
    return w;
  }

  /**
   * The channel, for a batch that gains from it (packed numbers, large binary values):
   * switches this worker over on first use. Null: there is none.
   */
  useChannel(): ByteChannel | null {
    if (this.#sending || this.channel === null) return this.channel;
    this.child.send({ mp: PROTOCOL, type: 'switch' } satisfies ToChild);
    this.#sending = true;
    debug('worker %s (pid %d): its messages move to the byte channel', this.name, this.pid);
    return this.channel;
  }

  /** Messages go on the channel (useChannel switched this worker over). */
  get onChannel(): boolean {
    return this.#sending;
  }

  /**
   * Send `m` to the child: on the byte channel once switched to it, else by IPC. `done` is
   * called once a message on the channel has been written (with an error when the child
   * went away first); by IPC, never. Throws what the serializer throws for a value that
   * cannot be cloned, before anything is sent.
   */
  send(m: ToChild, done?: (err: Error | null) => void): void {
    if (!this.#sending) {
      this.child.send(m);
      return;
    }
    const e = encodeMessage(m);
    this.channel!.writeMessage(e.tag, e.parts, e.pooled, done);
  }

  /**
   * A message from the child: to the engine now, or once the frames it announces have
   * arrived. `own`: the frame of numbers it carried in itself (src/protocol/child-frames.ts).
   */
  #receive(m: FromChild, events: WorkerEvents, own: Claim | null): void {
    if (m.type === 'switched') {
      // The child's last message by IPC: what it wrote on the channel since comes next.
      this.channel?.openMessages();
      return;
    }
    const slots = m.type === 'result' || m.type === 'numbers' ? m.frames : undefined;
    if (slots === undefined && this.#parked.length === 0) return events.message(this, m);
    const claim = own ?? (slots === undefined || this.channel === null ? null : this.channel.claim(frameCount(slots)));
    this.#parked.push({ m, claim });
    if (this.#parked.length === 1) this.#deliver(events);
  }

  /**
   * Deliver held-back messages in order while their frames are all here. Pooled frames
   * (packed numbers) are given back once the engine has read them (Sink.result's contract).
   * A child that dies mid-frame leaves its message here: its batch is judged by the exit.
   */
  #deliver(events: WorkerEvents): void {
    const parked = this.#parked;
    while (parked.length > 0) {
      const { m, claim } = parked[0]!;
      if (claim !== null && !claim.done) return claim.whenDone(() => this.#deliver(events));
      parked.shift();
      if (claim !== null) {
        if (m.type === 'numbers') m.values = claim.frames[0]!;
        else if (m.type === 'result') insertBinary(m.values, m.frames!, claim.frames);
      }
      try {
        events.message(this, m);
      } finally {
        claim?.release();
      }
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Has the child exited (with a code or by a signal)? */
  get exited(): boolean {
    return this.exitCode !== null || this.signal !== null;
  }

  /** Send `signal` to the child unless it has exited already. */
  kill(signal: 'SIGKILL' | 'SIGTERM'): void {
    if (!this.exited) this.child.kill(signal);
  }

  /**
   * Let the child and its IPC channel keep the event loop alive, or not. Idle workers must
   * not keep the parent alive (a forgotten pool); busy ones must, or a pending map could be
   * abandoned by an event loop that thinks there is nothing to do.
   */
  setRef(ref: boolean): void {
    this.refd = ref;
    if (ref) {
      this.child.ref();
      this.child.channel?.ref();
      this.channel?.socket.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
      this.channel?.socket.unref();
    }
  }

  /** How it ended, for messages: "by signal SIGKILL", "with exit code 1". Same facts as WorkerLostError's fields. */
  describeExit(): string {
    if (this.signal) return `by signal ${this.signal}${this.exitCode !== null ? ` (exit code ${this.exitCode})` : ''}`;
    return `with exit code ${this.exitCode}`;
  }

  /**
   * The ProtocolError of a child that exited with EXIT_PROTOCOL, which a child of another
   * multiproc build does on receiving our first message (src/process/child.ts); else null.
   */
  protocolExit(): ProtocolError | null {
    if (this.exitCode !== EXIT_PROTOCOL || this.signal) return null;
    return new ProtocolError(
      `worker ${this.name} (pid ${this.pid}) exited with code ${EXIT_PROTOCOL} (EXIT_PROTOCOL): it could not understand this side's protocol ${PROTOCOL}; both processes must load the same multiproc version`,
      { fault: 'version' },
    );
  }

  /** The error of `batch`, which was running when this worker died. */
  lostError(batch: Batch): WorkerLostError {
    const items = batch.count === 1 ? 'its task' : `its batch of ${batch.count} items (from item ${batch.start})`;
    return new WorkerLostError(
      `${batch.job.what}: worker ${this.name} (pid ${this.pid}) died ${this.describeExit()} while running ${items}. ` +
        'The task may have called process.exit(), crashed, run out of memory or been killed; a new worker replaced it.',
      { exitCode: this.exitCode, signal: this.signal, pid: this.pid },
    );
  }
}

/** A child's exit as Process.exitCode (and Python's exitcode) says it: minus the signal number when killed. */
function exitCodeOf(code: number | null, signal: string | null): number | null {
  if (code !== null || signal === null) return code;
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  return n === undefined ? null : -n;
}

/**
 * The pool cannot start workers: `seen` describes the workers in a row that ended while
 * starting (the last one last).
 */
export function startFailure(label: string, seen: string[]): BrokenProcessPool {
  return new BrokenProcessPool(
    `${label}: worker ${seen[seen.length - 1]} before it was ready, the last of ${seen.length} workers in a row that ended while starting ` +
      `(before it: ${seen.slice(0, -1).join('; ')}). A worker that dies while starting is replaced, as one may be killed from outside ` +
      '(the OOM killer), but none became ready, so workers cannot start here: check what a worker loads (the initializer and its module, ' +
      'code that runs at import) and that the parent runs under the loader its modules need (e.g. tsx).',
  );
}

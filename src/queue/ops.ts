// What a Queue or a pipe Connection does with its channel, wherever the channel lives. Proxy
// side: runs in any process that holds one.
//
// A public object holds a Reference (src/remote/reference.ts) for its lifetime and handle,
// and ChannelOps for its work: in the process that created the channel, LocalOps call the
// Channel directly (no socket, no copy: items are packed once at put() anyway); elsewhere,
// the process's one RemoteChannel for that channel (src/queue/remote-channel.ts) buffers,
// prefetches and acknowledges. `attachOps` picks one and binds the reference to its owner.

import type { CallContext, Host } from '../remote/host.ts';
import type { Reference } from '../remote/reference.ts';
import type { WaiterOptions } from '../remote/waiter.ts';
import type { Channel, ChannelKind } from './channel.ts';
import { RemoteChannel, tooManyTaskDone } from './remote-channel.ts';

const RESOLVED = Promise.resolve();

/** The operations a Queue or a pipe Connection needs from its channel, local or remote. */
export interface ChannelOps {
  readonly maxsize: number;
  put(item: unknown, wait: boolean, options: WaiterOptions, what: string): Promise<void>;
  /** Send bytes (Connection.sendBytes): a Buffer item, or a raw frame on a socket. */
  putBytes(data: Buffer, what: string): Promise<void>;
  get(wait: boolean, options: WaiterOptions, what: string): Promise<unknown>;
  /**
   * The next item if one is ready now (prefetched, or queued in this process), handed over
   * as get() would; NOTHING otherwise. Throws what decoding it throws. Queues only.
   */
  getNow?(): unknown;
  /** Whether an item is ready, waiting up to `timeout` ms; `signal` abandons the wait (wait() racing several). */
  poll(timeout: number | undefined, what: string, signal?: AbortSignal): Promise<boolean>;
  qsize(): Promise<number>;
  taskDone(): Promise<void>;
  join(options: WaiterOptions): Promise<void>;
  /** Shut the queue down (Queue.shutdown). */
  shutdown(immediate: boolean): Promise<void>;
  /** Buffered puts reach the host, and it confirmed them. */
  flush(): Promise<void>;
  /** Give back prefetched items (a `for await` ended). */
  release(): void;
}

/** In the creating process: direct calls of the channel(s), no socket. */
class LocalOps implements ChannelOps {
  readonly #host: Host;
  readonly #in: Channel | null;
  readonly #out: Channel | null;
  /** Keeps this process alive while one of its own get()/put() calls waits (CallContext.keepAlive). */
  readonly #hold: (what: string) => () => void;
  readonly #ctx: CallContext;

  constructor(host: Host, inbox: Channel | null, outbox: Channel | null) {
    this.#host = host;
    this.#in = inbox;
    this.#out = outbox;
    this.#ctx = host.localContext();
    this.#hold = this.#ctx.keepAlive;
  }

  get maxsize(): number {
    return (this.#out ?? this.#in)!.maxsize;
  }

  put(item: unknown, wait: boolean, options: WaiterOptions, what: string): Promise<void> {
    return this.#out!.putLocal(item, wait, options, what, this.#hold);
  }

  putBytes(data: Buffer, what: string): Promise<void> {
    return this.#out!.putLocal(data, true, {}, what, this.#hold);
  }

  get(wait: boolean, options: WaiterOptions, what: string): Promise<unknown> {
    return this.#in!.getLocal(wait, options, what, this.#hold);
  }

  getNow(): unknown {
    return this.#in!.takeLocal();
  }

  poll(timeout: number | undefined, _what: string, signal?: AbortSignal): Promise<boolean> {
    const ctx = signal ? this.#host.localContext(signal) : this.#ctx;
    try {
      return Promise.resolve(this.#in!.poll(ctx, timeout));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  qsize(): Promise<number> {
    return Promise.resolve(this.#in!.size);
  }

  taskDone(): Promise<void> {
    return this.#in!.taskDone(this.#ctx, 1) === 1 ? RESOLVED : Promise.reject(tooManyTaskDone());
  }

  join(options: WaiterOptions): Promise<void> {
    return Promise.resolve(this.#in!.join(this.#host.localContext(options.signal)));
  }

  shutdown(immediate: boolean): Promise<void> {
    this.#in!.shutdown(this.#ctx, immediate);
    return RESOLVED;
  }

  flush(): Promise<void> {
    return RESOLVED;
  }

  release(): void {}
}

/** The channels a hosted object (a Channel, a pipe end) reads and writes, or null when it is not one. */
export type ChannelsOf = (target: object) => { inbox: Channel | null; outbox: Channel | null } | null;

/**
 * The ChannelOps of `ref`'s channel for `owner`, with the reference bound to `owner`: local
 * calls when the channel lives in this process, the shared RemoteChannel otherwise (which
 * gives back what it prefetched when its last owner in this process goes). `noun` names the
 * kind in messages ('queue', 'pipe').
 */
export function attachOps(ref: Reference, owner: object, noun: ChannelKind, channelsOf: ChannelsOf): ChannelOps {
  if (ref.local) {
    const channels = channelsOf(ref.target!);
    if (channels) {
      ref.bind(owner);
      return new LocalOps(ref.host!, channels.inbox, channels.outbox);
    }
  }
  const channel = RemoteChannel.for(ref.client!, ref.id, ref.meta, noun);
  channel.attach();
  ref.bind(owner, () => channel.detach());
  return channel;
}

// The library's one diagnostics channel. Runs on every side (parent, child, host).
//
// Three outlets, and nothing else of the library writes to stderr on its own:
//   debug(...)   every event worth knowing when diagnosing, through util.debuglog:
//                silent unless the process runs with NODE_DEBUG=multiproc, then one line
//                each on stderr ("MULTIPROC <pid>: ..."). Free when off: the arguments are
//                formatted only when someone listens.
//   warn(code, message)
//                something went wrong that nobody can be told through a rejection (a
//                connection a host dropped, a close hook that threw, a one-way call that
//                failed): a process warning (process.emitWarning, type 'MultiprocWarning',
//                with `code`), rate-limited per code. The first event of a code is warned
//                at once; the next ones within WARNING_INTERVAL are counted, and one summary
//                warning ("N more ...") follows when the interval ends. So a flood (1,500
//                idle connections timing out) costs a couple of stderr lines, not one line
//                each; NODE_DEBUG=multiproc still shows every event. Warnings reach
//                `process.on('warning')` listeners and obey --no-warnings / NODE_NO_WARNINGS
//                like Node's own.
//   the 'multiproc' diagnostics_channel
//                every debug() and warn() event, none rate-limited, as a DiagnosticEvent
//                record, for code that wants them (a logger, a test):
//                  import { subscribe } from 'node:diagnostics_channel';
//                  subscribe('multiproc', (event) => myLogger.info(event));
//                Publishing costs nothing while nobody subscribes.
//
// Warning codes in use (the `code` of the warning):
//   MP_HOST_DROPPED   a host closed a connection for a protocol error, a failed or timed-out
//                     handshake, or a socket error other than the peer simply going away
//   MP_HOST_REFUSED   a host refused connections: too many were waiting to authenticate
//   MP_HOST_LISTEN    a host could not listen, or its listening socket failed (EMFILE…)
//   MP_HOST_HOOK      a close hook or an onRelease callback of a hosted object threw
//   MP_HOST_ONEWAY    a one-way call (notify) failed at the host: nobody waits for its reply
//   MP_PUT_LOST       items whose put() had resolved (buffered) could not be delivered: the
//                     host went away before they reached it (the next put/close rejects too)
//   MP_UNCONFIRMED    before a graceful exit, a host did not confirm what this process sent
//                     it (one-way calls, buffered puts): they may not have been handled
//   MP_STRANDED_WAIT  the event loop ran dry while calls waited on objects of this process
//                     that no other process can reach any more: the await never settles
//
// This module imports only Node built-ins, so every other module may use it.

import { channel } from 'node:diagnostics_channel';
import { debuglog, format } from 'node:util';

/** Minimum time between two warnings of one code, in ms (a summary of the rest follows). */
export const WARNING_INTERVAL = 30_000;

/** Name of the diagnostics_channel every event is published on. */
export const CHANNEL = 'multiproc';

/** What a subscriber of the 'multiproc' diagnostics channel receives. */
export interface DiagnosticEvent {
  /** 'warning': also a (rate-limited) process warning; 'debug': NODE_DEBUG only. */
  readonly level: 'debug' | 'warning';
  /** The warning code (MP_HOST_DROPPED…); undefined for debug events. */
  readonly code: string | undefined;
  readonly message: string;
}

const log = debuglog('multiproc');
const published = channel(CHANNEL);

/** True when someone listens (NODE_DEBUG=multiproc or a channel subscriber): callers may skip building costly arguments. */
export function debugEnabled(): boolean {
  return log.enabled || published.hasSubscribers;
}

/**
 * One diagnostic event, `util.format`-style: a line on stderr when NODE_DEBUG includes
 * multiproc, and a DiagnosticEvent on the channel. Does nothing (formats nothing) when
 * nobody listens.
 */
export function debug(message: string, ...args: unknown[]): void {
  if (!log.enabled && !published.hasSubscribers) return;
  const text = format(message, ...args);
  if (log.enabled) log('%s', text);
  if (published.hasSubscribers) published.publish({ level: 'debug', code: undefined, message: text } satisfies DiagnosticEvent);
}

interface Window {
  /** Events of this code since the last warning was emitted. */
  suppressed: number;
  /** The latest suppressed message, quoted in the summary. */
  latest: string;
  timer: NodeTimeout;
}

const windows = new Map<string, Window>();

function emit(code: string, message: string): void {
  process.emitWarning(message, 'MultiprocWarning', code);
}

/**
 * Warn once per `code` per WARNING_INTERVAL: the first event at once, the others counted
 * and summarised in one warning when the interval ends. Every event also goes to NODE_DEBUG
 * and the channel, unthrottled.
 */
export function warn(code: string, message: string): void {
  if (log.enabled) log('%s: %s', code, message);
  if (published.hasSubscribers) published.publish({ level: 'warning', code, message } satisfies DiagnosticEvent);
  const window = windows.get(code);
  if (window) {
    window.suppressed++;
    window.latest = message;
    return;
  }
  emit(code, message);
  open(code);
}

/** Start a quiet interval for `code`; when it ends, summarise what it held back (if anything). */
function open(code: string): void {
  const window: Window = {
    suppressed: 0,
    latest: '',
    timer: setTimeout(() => {
      windows.delete(code);
      if (window.suppressed === 0) return;
      const n = window.suppressed;
      emit(code, format('%d more such event%s in the last %d s (latest: %s); NODE_DEBUG=multiproc shows each', n, n === 1 ? '' : 's', Math.round(WARNING_INTERVAL / 1000), window.latest));
      // The summary counts as this interval's warning: the next events wait for the next one.
      open(code);
    }, WARNING_INTERVAL),
  };
  // Diagnostics must never keep a process alive. A process that exits inside a window loses
  // the summary of that window; its first warning was already emitted.
  window.timer.unref();
  windows.set(code, window);
}

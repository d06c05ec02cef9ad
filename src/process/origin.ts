// Where a by-source function was written, so that its frames in a worker's stack trace name
// the user's file instead of "eval at loadFunction". Parent side.
//
// A function sent by source crosses as its text only; the worker compiles that text under
// the name this module finds (src/process/loader.ts compileSource). The file is the one of
// the first frame of the user's program that sent the function (the call to map, apply,
// submit, new Process…), which is where an inline function is written. When the function's
// text occurs exactly once in that file, its line and column are sent too, and the worker's
// frames point at the real line; otherwise (the function lives in another file, or a
// TypeScript loader reprinted it) the frames say "name() sent by source from <file>" with
// lines counted from the function's first line.
//
// Both answers are remembered by the function's text, so a program that sends a fresh
// closure with every call (pool.apply((x) => x * 2, [i]) in a loop) captures and reads once.

import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SourceOrigin } from '../protocol/index.ts';
import { ownLibraryRoot } from '../runtime.ts';

/** Files larger than this are not read to find a function's line. */
const MAX_FILE_BYTES = 1 << 20;
/** How many answers and file texts are remembered (oldest dropped first). */
const MAX_REMEMBERED = 512;
const MAX_FILES = 16;

const origins = new Map<string, SourceOrigin | null>();
const files = new Map<string, string | null>();

/**
 * The origin of the by-source function whose original text is `text` and whose sent source
 * is `source` (they differ when a method shorthand was rewritten as a function expression),
 * found from the stack of the call, above `below`. Undefined when no user frame shows.
 */
export function sourceOrigin(text: string, source: string, below: Function): SourceOrigin | undefined {
  let origin = origins.get(text);
  if (origin === undefined) {
    const file = callerFile(below);
    origin = file === undefined ? null : locate(text, file);
    remember(origins, text, origin, MAX_REMEMBERED);
  }
  if (origin === null) return undefined;
  // The rewrite only adds a prefix to the first line (`square(x) {` → `function square(x) {`).
  const shift = source.length - text.length;
  return shift === 0 || origin.column === undefined ? origin : { ...origin, column: Math.max(1, origin.column - shift) };
}

/** The file of the first frame above `below` that is not the library's nor Node's. */
function callerFile(below: Function): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  try {
    Error.captureStackTrace(holder, below);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const root = ownLibraryRoot();
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    if (line.includes(root) || line.includes('node:') || line.includes('<anonymous>')) continue;
    const m = /^\s*at (?:.*? \()?(.+?):\d+:\d+\)?$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** Where `text` is in `file`: its line and column when it occurs there exactly once. */
function locate(text: string, file: string): SourceOrigin {
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  const content = read(path);
  const at = content === null ? -1 : content.indexOf(text);
  if (at === -1 || content!.indexOf(text, at + 1) !== -1) return { file: path };
  let line = 1;
  let lineStart = 0;
  for (let i = content!.indexOf('\n'); i !== -1 && i < at; i = content!.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { file: path, line, column: at - lineStart + 1 };
}

function read(path: string): string | null {
  let content = files.get(path);
  if (content === undefined) {
    try {
      const stat = statSync(path, { throwIfNoEntry: false });
      content = stat?.isFile() && stat.size <= MAX_FILE_BYTES ? readFileSync(path, 'utf8') : null;
    } catch {
      content = null;
    }
    remember(files, path, content, MAX_FILES);
  }
  return content;
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

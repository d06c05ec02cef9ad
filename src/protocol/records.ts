// Records: a long array of plain objects of one shape (the rows of a table: a chunk of a
// "DataFrame", a page of database rows) sent by columns. Runs on every side: the parent
// encodes a batch's one item and decodes a reply's one value; a worker does the reverse
// (src/process/engine/transfer.ts, engine.ts, src/process/child.ts). The message says so
// with `records: true` (src/protocol/child.ts).
//
// Why (issue 15, example 06): structured clone writes every row as an object of its own,
// each key and each string value again, and reads it back key by key: 50,000 rows of 8
// fields took 46-125 ms to serialize and 72-128 ms to deserialize (v8.serialize, one
// process, three runs); by columns, numbers in a Float64Array and strings as a dictionary
// and an index, 8-34 ms and 13-50 ms with rebuilding the rows. A map over a few large chunks
// is bound by that copying: the parent reads every result in turn.
//
// What is encoded, so that the worker (or the caller) gets exactly what structured clone
// would give: an array of at least MIN_RECORDS rows, of exactly Array (no subclass, no holes,
// no named properties of its own), each row a distinct object whose prototype is
// Object.prototype (not a Proxy, which structured clone refuses), with the same own
// enumerable string keys in the same order as the first row (and no inherited enumerable
// ones, no `__proto__` key), every value a primitive (number, string, boolean, null,
// undefined, bigint). Anything else is sent as it is. The caller encodes a message's only
// item (or value) and nothing else, so no row can also be referenced from elsewhere in the
// message (structured clone would keep that one object).
// A getter among the keys runs once, as structured clone runs it (twice when a later row
// turns out not to fit and the array is sent as it is).

import { types } from 'node:util';

/** Fewer rows than this go as they are: the checks and the rebuilding cost about what they save. */
export const MIN_RECORDS = 1024;

/** A column: numbers, strings as a dictionary and an index into it, or any primitives as they are. */
type Column = Float64Array | { dict: string[]; index: Uint32Array } | unknown[];

/** An array of rows by columns (what travels in the message in the array's place). */
export interface EncodedRecords {
  keys: string[];
  columns: Column[];
  length: number;
}

/** Is `v` a value structured clone copies as it is (a primitive it can clone)? */
function primitive(v: unknown): boolean {
  const t = typeof v;
  return v === null || (t !== 'object' && t !== 'function' && t !== 'symbol');
}

/** `rows` by columns, or null when it is not records (see the header); reads each row once. */
export function encodeRecords(rows: unknown): EncodedRecords | null {
  if (!Array.isArray(rows) || rows.length < MIN_RECORDS || Object.getPrototypeOf(rows) !== Array.prototype) return null;
  const n = rows.length;
  const first = rows[0] as Record<string, unknown>;
  if (typeof first !== 'object' || first === null || Object.getPrototypeOf(first) !== Object.prototype) return null;
  const keys = Object.keys(first);
  const width = keys.length;
  if (width === 0 || keys.includes('__proto__')) return null;
  const seen = new Set<unknown>();
  // Each column takes the kind of the first row's value (set as row 0 is read: a getter runs
  // once per row), and becomes a plain array of values on the first row that does not fit.
  const nums: (Float64Array | null)[] = new Array(width).fill(null);
  const strs: ({ dict: Map<string, number>; list: string[]; index: Uint32Array } | null)[] = new Array(width).fill(null);
  const anys: (unknown[] | null)[] = new Array(width).fill(null);
  for (let r = 0; r < n; r++) {
    const row = rows[r] as Record<string, unknown>;
    if (typeof row !== 'object' || row === null || Object.getPrototypeOf(row) !== Object.prototype || seen.has(row) || types.isProxy(row)) return null;
    seen.add(row);
    let j = 0;
    // for-in: own keys in order, then inherited enumerable ones (which make the count differ).
    for (const key in row) {
      if (j === width || key !== keys[j]) return null;
      const v = row[key];
      if (r === 0) {
        if (typeof v === 'number') nums[j] = new Float64Array(n);
        else if (typeof v === 'string') strs[j] = { dict: new Map(), list: [], index: new Uint32Array(n) };
        else anys[j] = [];
      }
      const num = nums[j];
      const str = strs[j];
      if (num !== null && typeof v === 'number') num[r] = v;
      else if (str !== null && typeof v === 'string') {
        let at = str.dict.get(v);
        if (at === undefined) {
          at = str.list.length;
          str.list.push(v);
          str.dict.set(v, at);
        }
        str.index[r] = at;
      } else {
        if (!primitive(v)) return null;
        let any = anys[j];
        if (any === null) {
          // The first value of another kind: this column is a plain array from now on.
          any = [];
          for (let p = 0; p < r; p++) any.push(num !== null ? num[p] : str!.list[str!.index[p]!]);
          anys[j] = any;
          nums[j] = null;
          strs[j] = null;
        }
        any.push(v);
      }
      j++;
    }
    if (j !== width) return null;
  }
  // Own keys of the array beyond its indices would be lost: structured clone keeps them.
  // (Checked last: it lists every index, and most arrays that are not records fail sooner.)
  if (Object.keys(rows).length !== n) return null;
  const columns = keys.map((_, j): Column => nums[j] ?? (strs[j] ? { dict: strs[j]!.list, index: strs[j]!.index } : anys[j]!));
  return { keys, columns, length: n };
}

/**
 * The rows `encoded` stands for: new objects, keys in the order they were sent, in an array
 * built by push (of packed elements, as structured clone makes it; `new Array(n)` is holey).
 */
export function decodeRecords(encoded: EncodedRecords): Record<string, unknown>[] {
  const { keys, columns, length } = encoded;
  const rows: Record<string, unknown>[] = [];
  const make = rowMaker(keys, columns);
  if (make !== null) {
    for (let i = 0; i < length; i++) rows.push(make(columns, i));
    return rows;
  }
  const read = columns.map((c): ((i: number) => unknown) => {
    if (c instanceof Float64Array || Array.isArray(c)) return (i) => c[i];
    return (i) => c.dict[c.index[i]!];
  });
  for (let i = 0; i < length; i++) {
    const row: Record<string, unknown> = {};
    for (let j = 0; j < keys.length; j++) row[keys[j]!] = read[j]!(i);
    rows.push(row);
  }
  return rows;
}

/**
 * A function that builds row `i` as one object literal (every row of one shape from the
 * start, which V8 builds several times faster than by assignment), or null where code
 * cannot be generated from strings (node --disallow-code-generation-from-strings).
 */
function rowMaker(keys: string[], columns: Column[]): ((columns: Column[], i: number) => Record<string, unknown>) | null {
  const fields = keys.map((key, j) => {
    const c = columns[j];
    const value = c instanceof Float64Array || Array.isArray(c) ? `c[${j}][i]` : `c[${j}].dict[c[${j}].index[i]]`;
    return `${JSON.stringify(key)}: ${value}`;
  });
  try {
    return new Function('c', 'i', `return { ${fields.join(', ')} };`) as (columns: Column[], i: number) => Record<string, unknown>;
  } catch {
    return null;
  }
}

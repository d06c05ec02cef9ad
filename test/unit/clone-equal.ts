// A strict structural comparison for unit tests: do two values look exactly like two results
// of one structured clone? Stricter than uvu's assert.equal (dequal), which takes -0 for 0,
// ignores prototypes, array holes and shared references, and loops forever on a cycle.

/**
 * The first difference between `a` and `b`, as `path: what differs`, or null when they are
 * the same clone: equal primitives (numbers by Object.is, so -0 and NaN count), the same
 * prototypes, the same own keys in the same order (array holes included), Map and Set
 * entries in order, the same bytes in typed arrays, Buffers and ArrayBuffers, the same time
 * in Dates, and the same sharing: an object reached twice in `a` is one object reached twice
 * in `b` at the same places (cycles included), and never two objects.
 */
export function cloneDifference(a: unknown, b: unknown, path = 'value'): string | null {
  return compare(a, b, path, new Map(), new Map());
}

function compare(a: unknown, b: unknown, path: string, ab: Map<object, object>, ba: Map<object, object>): string | null {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a !== 'object' || a === null || b === null) {
    return Object.is(a, b) ? null : `${path}: ${show(a)} vs ${show(b)}`;
  }
  const x = a as object;
  const y = b as object;
  // Sharing: each object of one side stands for exactly one object of the other.
  const seenX = ab.get(x);
  const seenY = ba.get(y);
  if (seenX !== undefined || seenY !== undefined) return seenX === y && seenY === x ? null : `${path}: shared references differ`;
  ab.set(x, y);
  ba.set(y, x);
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return `${path}: prototype ${nameOf(x)} vs ${nameOf(y)}`;
  const tag = Object.prototype.toString.call(x);
  if (tag !== Object.prototype.toString.call(y)) return `${path}: ${tag} vs ${Object.prototype.toString.call(y)}`;
  if (x instanceof Date) return Object.is(x.getTime(), (y as Date).getTime()) ? null : `${path}: Date ${x.getTime()} vs ${(y as Date).getTime()}`;
  if (x instanceof RegExp) return x.source === (y as RegExp).source && x.flags === (y as RegExp).flags ? null : `${path}: ${x} vs ${y}`;
  if (ArrayBuffer.isView(x)) {
    const v = y as ArrayBufferView;
    const bx = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    const by = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return bx.equals(by) ? null : `${path}: ${tag} bytes differ`;
  }
  if (x instanceof ArrayBuffer) return Buffer.from(x).equals(Buffer.from(y as ArrayBuffer)) ? null : `${path}: ArrayBuffer bytes differ`;
  if (tag === '[object Number]' || tag === '[object String]' || tag === '[object Boolean]' || tag === '[object BigInt]') {
    return Object.is((x as { valueOf(): unknown }).valueOf(), (y as { valueOf(): unknown }).valueOf()) ? null : `${path}: boxed values differ`;
  }
  if (x instanceof Error) {
    const e = y as Error;
    if (x.name !== e.name || x.message !== e.message) return `${path}: ${x.name}: ${x.message} vs ${e.name}: ${e.message}`;
  }
  if (x instanceof Map) {
    const mx = [...x];
    const my = [...(y as Map<unknown, unknown>)];
    if (mx.length !== my.length) return `${path}: Map size ${mx.length} vs ${my.length}`;
    for (let i = 0; i < mx.length; i++) {
      const d = compare(mx[i]![0], my[i]![0], `${path}.keys()[${i}]`, ab, ba) ?? compare(mx[i]![1], my[i]![1], `${path}.values()[${i}]`, ab, ba);
      if (d !== null) return d;
    }
    return null;
  }
  if (x instanceof Set) {
    const sx = [...x];
    const sy = [...(y as Set<unknown>)];
    if (sx.length !== sy.length) return `${path}: Set size ${sx.length} vs ${sy.length}`;
    for (let i = 0; i < sx.length; i++) {
      const d = compare(sx[i], sy[i], `${path}.values()[${i}]`, ab, ba);
      if (d !== null) return d;
    }
    return null;
  }
  // Arrays (holes are missing keys), plain objects and the own fields of Errors.
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (Array.isArray(x) && x.length !== (y as unknown[]).length) return `${path}: length ${x.length} vs ${(y as unknown[]).length}`;
  if (kx.length !== ky.length || kx.some((k, i) => k !== ky[i])) return `${path}: keys ${JSON.stringify(kx)} vs ${JSON.stringify(ky)}`;
  for (const k of kx) {
    const d = compare((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}[${JSON.stringify(k)}]`, ab, ba);
    if (d !== null) return d;
  }
  return null;
}

function nameOf(o: object): string {
  const proto = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
  return proto === null ? 'null' : (proto.constructor?.name ?? '?');
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

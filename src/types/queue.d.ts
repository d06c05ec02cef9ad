// Node.js declarations that src/queue/ needs beyond src/types/node.d.ts (which this file
// extends by declaration merging; see the note there on why @types/node is not used).

interface Buffer {
  readDoubleLE(offset?: number): number;
  writeDoubleLE(value: number, offset?: number): number;
}

interface String {
  /** ES2024; in Node since 20. */
  isWellFormed(): boolean;
}

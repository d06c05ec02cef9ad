// Compile-time declarations for the Node built-ins bench/ uses beyond src/types/*.d.ts
// (there is no @types/node; see src/types/node.d.ts). Ambient declarations merge with those.

declare module 'node:os' {
  export function loadavg(): number[];
  export function uptime(): number;
}

// process.resourceUsage(): the page faults of a measurement window (bench/node/case1_map.ts).
interface NodeResourceUsage {
  minorPageFault: number;
  majorPageFault: number;
  maxRSS: number;
}
declare namespace NodeJS {
  interface Process {
    resourceUsage(): NodeResourceUsage;
  }
}

// The parent's GC pauses over a measurement window (bench/node/case1_map.ts).
declare module 'node:perf_hooks' {
  export interface PerformanceEntry {
    readonly name: string;
    readonly entryType: string;
    readonly startTime: number;
    readonly duration: number;
  }
  export class PerformanceObserver {
    constructor(callback: (list: { getEntries(): PerformanceEntry[] }) => void);
    observe(options: { entryTypes: string[] }): void;
    disconnect(): void;
  }
}

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

// The public names of src/process: re-exports only, no logic.

export { Process, currentProcess, parentProcess, activeChildren, cpuCount, isMainProcess } from './process.ts';
export type { ProcessOptions, ProcessInfo } from './process.ts';
export { tasks } from './task.ts';
export type { Task, TaskModule, TaskRefBrand } from './task.ts';
export { Pool, AsyncResult } from './pool.ts';
export type { PoolOptions, ApplyAsyncOptions, MapAsyncOptions, CallOptions, MapOptions } from './pool.ts';
export { ProcessPoolExecutor } from './executor.ts';
export type { ProcessPoolExecutorOptions, ExecutorMapOptions, ShutdownOptions } from './executor.ts';
export { Future, asCompleted, wait, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED } from './future.ts';
export type { FutureOptions, ReturnWhen, WaitOptions, WaitResult, AsCompletedOptions, CompletedFuture } from './future.ts';
export { processMap } from './process-map.ts';
export type { ProcessMapOptions } from './process-map.ts';
export * from './progress.ts';

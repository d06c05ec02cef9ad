// The public surface of multiproc: re-exports only, no logic.

export * from './errors.ts';
export { Process, currentProcess, parentProcess, activeChildren, cpuCount, isMainProcess } from './process/process.ts';
export type { ProcessOptions, ProcessInfo } from './process/process.ts';
export { tasks } from './process/task.ts';
export type { Task, TaskModule, TaskRefBrand } from './process/task.ts';
export { progress, ProgressBar, arraySplit } from './process/progress.ts';
export type { ProgressBarOptions, ProgressOption, ProgressIterable, ProgressStream } from './process/progress.ts';

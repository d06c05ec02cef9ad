// Queues, pipes and synchronization primitives shared between processes: the public names
// of src/queue/, re-exported by src/index.ts. Re-exports only.

export { Queue, JoinableQueue, SimpleQueue } from './queue.ts';
export type { PutOptions, GetOptions, QueueOptions } from './queue.ts';
export { Pipe, Connection } from './pipe.ts';
export type { PipeOptions, RecvOptions } from './pipe.ts';
export { Listener, Client } from './listener.ts';
export type { ListenerOptions, ClientOptions, AcceptOptions } from './listener.ts';
export type { Waitable } from './wait.ts';
export * as connection from './connection.ts';
export { Value, RawValue, sharedArray as Array, RawArray, SharedValue, SharedArray } from './sharedctypes.ts';
export type { SharedOptions } from './sharedctypes.ts';
export type { Typecode, NumberTypecode, BigIntTypecode, ValueOf, InputOf } from './typecodes.ts';
export { Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier } from './sync.ts';
export type { AcquireOptions, SyncWaitOptions, SyncOptions, BarrierOptions } from './sync.ts';

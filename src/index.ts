// The public surface of multiproc: re-exports only, no logic.

export * from './errors.ts';
export * from './process/index.ts';
export {
  Queue,
  JoinableQueue,
  SimpleQueue,
  Pipe,
  Connection,
  Listener,
  Client,
  connection,
  Lock,
  RLock,
  Semaphore,
  BoundedSemaphore,
  Event,
  Condition,
  Barrier,
  Value,
  RawValue,
  Array,
  RawArray,
  SharedValue,
  SharedArray,
} from './queue/index.ts';
export type {
  PutOptions,
  GetOptions,
  QueueOptions,
  PipeOptions,
  RecvOptions,
  ListenerOptions,
  ClientOptions,
  AcceptOptions,
  Waitable,
  AcquireOptions,
  SyncWaitOptions,
  SyncOptions,
  BarrierOptions,
  SharedOptions,
  Typecode,
  NumberTypecode,
  BigIntTypecode,
  ValueOf,
  InputOf,
} from './queue/index.ts';
export * from './manager/index.ts';
export { repeat, collect } from './helpers.ts';

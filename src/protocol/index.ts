// The whole wire spec of multiproc, one module per channel: re-exports only.
//   version.ts   the brand and version every message or handshake carries
//   child.ts     parent <-> child IPC messages (ToChild, FromChild), task references
//   child-frames.ts  the same messages as frames of a pool worker's byte channel
//   records.ts   a long array of same-shape plain objects sent by columns
//   host.ts      proxy <-> host socket messages (ToHost, FromHost)
//   connection.ts  Listener <-> Client socket messages (ConnectionMessage)
//   handle.ts    the Handle record that stands for a shared object across processes
//   errors.ts    errors as plain records (WireError, encodeError, decodeError)
//   values.ts    what may cross (structured clone; class instances refused)
// Nothing here imports a face of the library (process/, queue/, manager/, remote/).

export * from './version.ts';
export * from './child.ts';
export * from './child-frames.ts';
export * from './records.ts';
export * from './host.ts';
export * from './connection.ts';
export * from './handle.ts';
export * from './errors.ts';
export * from './values.ts';

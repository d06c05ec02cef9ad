// A bare forked Node child, no library: the reference of case 10 (what a multiproc worker
// costs beyond `child_process.fork` itself), of case 9's tiny-task floor and of case 2's IPC
// floor. It answers every IPC message with the message and its pid, and leaves when the
// parent disconnects. CommonJS, so the listener is attached synchronously while the main
// module loads: a message sent right after fork() cannot arrive before it.

// A message with `import` (a module URL) is answered once that module is imported (case 10's
// reference for a worker that imports its task module).
process.on('message', (message) => {
  if (typeof message.import === 'string') import(message.import).then(() => process.send({ ...message, by: process.pid }));
  else process.send({ ...message, by: process.pid });
});
process.on('disconnect', () => process.exit(0));

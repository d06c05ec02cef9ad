// A bare forked Node child, no library: the reference of case 10 (what a multiproc worker
// costs beyond `child_process.fork` itself), of case 9's tiny-task floor and of case 2's IPC
// floor. It answers every IPC message with the message and its pid, and leaves when the
// parent disconnects. CommonJS, so the listener is attached synchronously while the main
// module loads: a message sent right after fork() cannot arrive before it.

process.on('message', (message) => process.send({ ...message, by: process.pid }));
process.on('disconnect', () => process.exit(0));

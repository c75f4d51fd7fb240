// Node's own IPC channel (child_process.fork), as a child process echo:
// every message sent back as it came, with the serialization the parent chose.
process.on('message', (m) => process.send!(m));
process.on('disconnect', () => process.exit(0));

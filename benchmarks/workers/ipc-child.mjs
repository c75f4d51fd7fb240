// Node's IPC channel, the hand-rolled way: echo each message back.
process.on('message', (m) => process.send(m));

// Node's own IPC channel (child_process.fork), as a child process echo:
// every message sent back as it came, with the serialization the parent chose.
// A message `{ items: n }` is answered with n numbers, one message each (the stream rows' raw mechanism).
process.on('message', (m) => {
  const items = (m as { items?: unknown } | null)?.items;
  if (typeof items !== 'number') return void process.send!(m);
  for (let i = 0; i < items; i++) process.send!(i);
});
process.on('disconnect', () => process.exit(0));

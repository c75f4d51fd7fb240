// birpc over a worker thread, serving the bench API (loaded only when birpc is installed).
// birpc has no transfer list: values are always cloned.
import { parentPort } from 'node:worker_threads';
import { createBirpc } from 'birpc';

const port = parentPort!;
createBirpc(
  { ping(): void {}, echo: <T>(value: T): T => value },
  { post: (d) => port.postMessage(d), on: (fn) => port.on('message', fn), serialize: (v) => v, deserialize: (v) => v },
);

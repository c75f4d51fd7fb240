import { parentPort } from 'node:worker_threads';
import { createBirpc } from 'birpc';
createBirpc(
  { add: (a, b) => a + b, echo: (v) => v },
  { post: (d) => parentPort.postMessage(d), on: (fn) => parentPort.on('message', fn), serialize: (v) => v, deserialize: (v) => v },
);

// The raw mechanisms the iterables benchmark compares farcall's streams with, in a worker:
// one postMessage per item (no flow control at all), or a web ReadableStream transferred over the port.
import { parentPort } from 'node:worker_threads';

const NAME = 'a record of about a hundred bytes, as a parsed line would be...........';
const make = { number: (i) => i, record: (i) => ({ id: i, name: NAME, ok: true }) };

parentPort.on('message', ({ mode, kind, n }) => {
  const item = make[kind];
  if (mode === 'post') {
    for (let i = 0; i < n; i++) parentPort.postMessage(item(i));
    return;
  }
  let i = 0;
  const rs = new ReadableStream({ pull: (c) => (i < n ? c.enqueue(item(i++)) : c.close()) });
  parentPort.postMessage(rs, [rs]);
});

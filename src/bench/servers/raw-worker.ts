// The raw mechanism of a worker thread: every message posted back as it came.
// A message `{ moved }` carries an ArrayBuffer that was transferred here and
// is transferred back; a message `{ items: n }` is answered with n numbers,
// one postMessage each (the stream rows' raw mechanism); anything else is cloned back.
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
port.on('message', (m: unknown) => {
  const moved = (m as { moved?: unknown } | null)?.moved;
  const items = (m as { items?: unknown } | null)?.items;
  if (typeof items === 'number') {
    for (let i = 0; i < items; i++) port.postMessage(i);
    return;
  }
  if (moved instanceof ArrayBuffer) port.postMessage(m, [moved]);
  else port.postMessage(m);
});

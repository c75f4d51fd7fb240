// The raw mechanism of a worker thread: every message posted back as it came.
// A message `{ moved }` carries an ArrayBuffer that was transferred here and
// is transferred back; anything else is cloned back.
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
port.on('message', (m: unknown) => {
  const moved = (m as { moved?: unknown } | null)?.moved;
  if (moved instanceof ArrayBuffer) port.postMessage(m, [moved]);
  else port.postMessage(m);
});

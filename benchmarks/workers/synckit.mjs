// synckit's side of the sync-call benchmark: the same add as tasks.mjs.
import { runAsWorker } from 'synckit';
runAsWorker((a, b) => a + b);

import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker from a TypeScript file. Node 20 does not apply tsx's hooks
 * to a worker's entry module, so the worker starts from a small JavaScript
 * bootstrap that registers tsx and then imports the real entry.
 * With a compiled .js worker, `new Worker(url)` is all you need.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  const bootstrap = `
    const { workerData } = require('node:worker_threads');
    require('tsx/cjs/api').register();
    import('tsx/esm/api').then((api) => { api.register(); return import(workerData.entry); });
  `;
  return new Worker(bootstrap, { ...options, eval: true, workerData: { entry: url.href } });
}

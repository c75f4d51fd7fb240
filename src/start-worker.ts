import type { Worker, WorkerOptions } from 'node:worker_threads';
import { resolveModule } from './module-href.ts';
import { checkOptionNames, type OptionNames } from './options.ts';
import { startThread } from './pool/thread.ts';

/** The options startWorker() takes: Node's, but `eval` (the module is a file). */
export type StartWorkerOptions = Omit<WorkerOptions, 'eval'>;

const START_WORKER_OPTIONS = {
  argv: true,
  env: true,
  workerData: true,
  stdin: true,
  stdout: true,
  stderr: true,
  execArgv: true,
  resourceLimits: true,
  transferList: true,
  trackUnmanagedFds: true,
  name: true,
} as const satisfies OptionNames<StartWorkerOptions>;

/**
 * `new Worker(module, options)`, with the module found as createPool() and
 * spawn() find theirs: a `.js` name whose file is not there stands for its
 * `.ts` source, and a TypeScript module loads when the app runs under tsx
 * (Node 20 does not start a worker on a .ts file by itself). So
 * `startWorker(new URL('./math.worker.js', import.meta.url))` runs the
 * source under tsx and the compiled file under node.
 */
export function startWorker(module: string | URL, options?: StartWorkerOptions): Worker {
  const href = resolveModule('startWorker', module);
  checkOptionNames('startWorker', options, START_WORKER_OPTIONS, { eval: 'startWorker() starts a module file; use new Worker(code, { eval: true })' });
  return startThread(new URL(href), options);
}

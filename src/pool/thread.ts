import { Worker, type WorkerOptions } from 'node:worker_threads';

const TS_MODULE = /\.[mc]?tsx?$/;

/**
 * Starts a thread on `entry` (a pool thread also gets the `userModule` it
 * serves). Both travel in argv and are taken out of it again, so the
 * user's workerData and argv stay theirs.
 *
 * Node 20 does not apply tsx's hooks to a worker's entry module, so when
 * the entry or the user's module is TypeScript the thread starts from a
 * JavaScript bootstrap that registers tsx first (the app runs under tsx,
 * so it is installed).
 */
export function startThread(entry: URL, options: WorkerOptions = {}, userModule?: string): Worker {
  const argv = userModule === undefined ? (options.argv ?? []) : [userModule, ...(options.argv ?? [])];
  if (!TS_MODULE.test(entry.pathname) && !TS_MODULE.test(userModule ?? '')) return new Worker(entry, { ...options, argv });
  const bootstrap = `
    const entry = process.argv.splice(2, 1)[0];
    require('tsx/cjs/api').register();
    import('tsx/esm/api').then((api) => { api.register(); return import(entry); });
  `;
  return new Worker(bootstrap, { ...options, eval: true, argv: [entry.href, ...argv] });
}

/** The compiled or source sibling of the calling module. */
export function entryBeside(metaUrl: string, name: string): URL {
  return new URL(`./${name}${metaUrl.endsWith('.ts') ? '.ts' : '.js'}`, metaUrl);
}

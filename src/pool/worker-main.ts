/**
 * A pool thread's entry: loads the user's module and serves its exports,
 * unless the module called `expose()` itself.
 */
import { parentPort } from 'node:worker_threads';
import { expose, isExposed } from '../endpoint.ts';

// The module sees its own argv, as in a plain worker.
const [module] = process.argv.splice(2, 1);
const ns = (await import(module!)) as Record<string, unknown>;
if (!isExposed(parentPort!)) expose({ ...ns }, parentPort);

/**
 * A pool thread's entry: loads the user's module and serves its exports,
 * unless the module called `expose()` itself; then tells the pool it is
 * ready.
 */
import { parentPort } from 'node:worker_threads';
import { expose, isExposed, wrap } from '../endpoint.ts';
import { attachToPool, type PoolSide } from './control.ts';

// The module sees its own argv, as in a plain worker.
const [module] = process.argv.splice(2, 1);
const ns = (await import(module!)) as Record<string, unknown>;
if (!isExposed(parentPort!)) expose({ ...ns }, parentPort);
// After the import, so a module's own expose() options made the connection.
attachToPool(wrap<PoolSide>(parentPort!));

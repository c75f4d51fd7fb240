import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { typeScriptLoader } from '../module-href.ts';

const TS_MODULE = /\.[mc]?tsx?$/;

/**
 * Starts a thread on `entry` (a pool thread also gets the `userModule` it
 * serves). Both travel in argv and are taken out of it again, so the
 * user's workerData and argv stay theirs.
 *
 * Node 20 applies tsx's hooks to no module of a worker, so when the entry or
 * the user's module is TypeScript the thread starts from a JavaScript
 * bootstrap that registers the tsx this process runs under first.
 */
export function startThread(entry: URL, options: WorkerOptions = {}, userModule?: string): Worker {
  const argv = userModule === undefined ? (options.argv ?? []) : [userModule, ...(options.argv ?? [])];
  const ts = typeScriptLoader();
  if (ts?.kind !== 'tsx' || (!TS_MODULE.test(entry.pathname) && !TS_MODULE.test(userModule ?? ''))) return new Worker(entry, { ...options, argv });
  const bootstrap = `
    const entry = process.argv.splice(2, 1)[0];
    require(${JSON.stringify(createRequire(join(ts.dir, 'package.json')).resolve('tsx/cjs/api'))}).register();
    import(${JSON.stringify(esmApi(ts.dir))}).then((api) => { api.register(); return import(entry); });
  `;
  return new Worker(bootstrap, { ...options, eval: true, argv: [entry.href, ...argv] });
}

/** The file URL of tsx's ESM API (its `import` export: require.resolve would give the CommonJS one). */
const esmApis = new Map<string, string>();
function esmApi(dir: string): string {
  const known = esmApis.get(dir);
  if (known) return known;
  const exports = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
  const href = pathToFileURL(join(dir, exports['./esm/api']!.import.default)).href;
  esmApis.set(dir, href);
  return href;
}

/** The compiled or source sibling of the calling module. */
export function entryBeside(metaUrl: string, name: string): URL {
  return new URL(`./${name}${metaUrl.endsWith('.ts') ? '.ts' : '.js'}`, metaUrl);
}

/**
 * How a worker, pool or child module is named and found: one rule for
 * startWorker(), createPool(), createSyncFn() and spawn().
 *
 * - A path (relative to the cwd), a file URL string or a URL.
 * - A file that is there is used as it is.
 * - A `.js` (`.mjs`, `.cjs`) name that is not there stands for its
 *   TypeScript source beside it (`.ts`, `.mts`, `.cts`), as in TypeScript
 *   imports; so `new URL('./tasks.js', import.meta.url)` names the source
 *   under tsx and the compiled file once built.
 * - A TypeScript module loads when this process can load TypeScript (it runs
 *   under tsx, or Node strips types itself); otherwise it is refused at
 *   once, saying how to fix it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe } from './codec/marks.ts';
import { ModuleNotFoundError, UnsupportedError } from './errors.ts';

const TS_MODULE = /\.[mc]?tsx?$/;

/** A module given as a path (relative to the cwd), a file URL string or a URL, as a URL string. */
export function moduleHref(fn: string, module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) throw new TypeError(`${fn}() expects a module path or file URL, got ${describe(module)}`);
  if (module.startsWith('file:')) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/**
 * The module `fn` was given, found by the rule above, as a URL string.
 * Throws ModuleNotFoundError when no file is there, UnsupportedError for
 * TypeScript this process cannot load.
 */
export function resolveModule(fn: string, module: unknown): string {
  const href = moduleHref(fn, module);
  if (!href.startsWith('file:')) return href;
  const path = fileURLToPath(href);
  if (existsSync(path)) {
    if (TS_MODULE.test(path) && !typeScriptLoader()) throw cannotLoad(fn, `module ${path} is TypeScript`, path);
    return href;
  }
  const source = path.replace(/\.([mc]?)js$/, '.$1ts');
  if (source === path || !existsSync(source)) throw new ModuleNotFoundError(`${fn}() module ${path} does not exist`);
  if (!typeScriptLoader()) throw cannotLoad(fn, `module ${path} does not exist, and its source ${basename(source)} is TypeScript`, source);
  return pathToFileURL(source).href;
}

function cannotLoad(fn: string, what: string, source: string): UnsupportedError {
  return new UnsupportedError(
    `${fn}(): ${what}, which this process cannot load: run the app under tsx (npx tsx main.ts, or node --import tsx main.js), ` +
      `or compile ${basename(source)} and name the .js file`,
  );
}

/** How this process loads TypeScript: Node itself, tsx (its package directory), or not at all. */
export type TypeScriptLoader = { kind: 'node' } | { kind: 'tsx'; dir: string };

let loader: TypeScriptLoader | null | undefined;

export function typeScriptLoader(): TypeScriptLoader | undefined {
  if (loader === undefined) loader = findLoader();
  return loader ?? undefined;
}

function findLoader(): TypeScriptLoader | null {
  if ((process.features as { typescript?: unknown }).typescript) return { kind: 'node' };
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS?.split(/\s+/) ?? [])];
  if (!flags.some((f) => /(^|[\\/])tsx([\\/@]|$)/.test(f))) return null;
  // tsx's own CLI passes the absolute path of its loader; `--import tsx` resolves from the cwd.
  for (const f of flags) {
    const m = /^(?:file:\/\/)?(.*[\\/]node_modules[\\/]tsx)[\\/]/.exec(f);
    if (m) return { kind: 'tsx', dir: f.startsWith('file:') ? fileURLToPath(`file://${m[1]}`) : m[1]! };
  }
  try {
    return { kind: 'tsx', dir: dirname(createRequire(join(process.cwd(), 'noop.js')).resolve('tsx/package.json')) };
  } catch {
    return null;
  }
}

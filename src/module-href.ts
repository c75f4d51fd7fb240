import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe } from './codec/marks.ts';
import { ModuleNotFoundError } from './errors.ts';

/** A module given as a path (relative to the cwd), a file URL string or a URL, as a URL string. */
export function moduleHref(fn: string, module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) throw new TypeError(`${fn}() expects a module path or file URL, got ${describe(module)}`);
  if (module.startsWith('file:')) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/**
 * Throws ModuleNotFoundError when a file URL names no file, so a wrong path
 * fails where it was given rather than at the first call. A `.js` name
 * whose `.ts` source is there counts as there: a TypeScript loader maps one
 * to the other.
 */
export function checkModuleExists(fn: string, href: string): void {
  if (!href.startsWith('file:')) return;
  const path = fileURLToPath(href);
  const source = path.replace(/\.(m|c)?js$/, (_, m: string | undefined) => `.${m ?? ''}ts`);
  if (!existsSync(path) && !existsSync(source)) throw new ModuleNotFoundError(`${fn}() module ${path} does not exist`);
}

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from './codec/marks.ts';

/** A module given as a path (relative to the cwd), a file URL string or a URL, as a URL string. */
export function moduleHref(fn: string, module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) throw new TypeError(`${fn}() expects a module path or file URL, got ${describe(module)}`);
  if (module.startsWith('file:')) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/** Service names, and where a service's files live by default. */
import { mkdirSync, lstatSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const MAX_NAME = 128;

/**
 * Checks a service name. Names become file names and NATS subject tokens,
 * so only letters, digits, '-', '_' and '.' not at the start.
 */
export function checkServiceName(fn: string, name: unknown): asserts name is string {
  const got = typeof name === 'string' ? JSON.stringify(name) : String(name);
  if (typeof name !== 'string') throw new TypeError(`${fn}() service name must be a string, got ${got}`);
  if (name.length === 0) throw new TypeError(`${fn}() service name is empty`);
  if (name.length > MAX_NAME) throw new TypeError(`${fn}() service name is ${name.length} characters; at most ${MAX_NAME}`);
  if (/[/\\]|^\.|\.\./.test(name)) throw new TypeError(`${fn}() service name ${got} looks like a path; a name is letters, digits, '-' and '_'`);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new TypeError(`${fn}() service name ${got} may hold only letters, digits, '-' and '_'`);
}

/**
 * The directory for registry entries and sockets: the `registry` option,
 * else FARCALL_REGISTRY_DIR, else `farcall` in $XDG_RUNTIME_DIR, else a
 * directory of this user's own under the temp dir. Created 0700; a
 * default one under the shared temp dir must be this user's and private.
 */
export function registryDir(option: string | undefined): string {
  const chosen = option ?? process.env.FARCALL_REGISTRY_DIR;
  if (chosen) {
    mkdirSync(chosen, { recursive: true, mode: 0o700 });
    return chosen;
  }
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) {
    const dir = join(runtime, 'farcall');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
  const dir = join(tmpdir(), `farcall-${userInfo().username}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Anyone can create a directory under /tmp first: trust it only if it is ours and closed to others.
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} is not a private directory of this user; set FARCALL_REGISTRY_DIR or the registry option to one`);
  }
  return dir;
}

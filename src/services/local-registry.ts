/**
 * The embedded registry: no daemon, one file per instance in a directory.
 *
 *   <dir>/<name>@<id>.json    the entry, written to .<id>.tmp then renamed, so a reader sees all of it or none
 *   <dir>/<id>.sock           the instance's socket, by default
 *
 * An instance removes its entry when it closes. One that crashed cannot:
 * whoever lists next sees its pid gone (or taken by another process, told
 * apart by the process's start time) and removes the entry; a caller whose
 * connection is refused asks check(), which also tries the socket. Entries
 * are never rewritten, only created and removed, so concurrent starts and
 * stops need no lock: two removers of one stale entry race harmlessly.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { describe } from '../codec/marks.ts';
import { registryDir } from './names.ts';
import type { InstanceInfo, Registration, Registry } from './registry.ts';

interface Entry extends InstanceInfo {
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for the instance. */
  procStart?: string;
}

/** How soon after a change in the directory watchers hear of it (changes come in bursts). */
const SETTLE_MS = 20;
/** Watchers also look this often, in case the directory was replaced under them. */
const BACKSTOP_MS = 5_000;
/** How long check() waits for a socket to accept. */
const PROBE_MS = 1_000;

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidAlive(entry: Entry): boolean {
  try {
    process.kill(entry.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return entry.procStart === undefined || procStart(entry.pid) === entry.procStart;
}

function answers(address: InstanceInfo['address']): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = typeof address === 'string' ? net.connect(address) : net.connect(address.port, address.host);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_MS, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const ignoreMissing = (err: NodeJS.ErrnoException): void => {
  if (err.code !== 'ENOENT') throw err;
};

export class LocalRegistry implements Registry {
  constructor(readonly where: string) {}

  private file(info: InstanceInfo): string {
    return join(this.where, `${info.name}@${info.id}.json`);
  }

  async register(info: InstanceInfo): Promise<Registration> {
    const entry: Entry = { ...info, procStart: procStart(info.pid) };
    const tmp = join(this.where, `.${info.id}.tmp`);
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, this.file(info));
    let closed: Promise<void> | undefined;
    return { close: () => (closed ??= unlink(this.file(info)).catch(ignoreMissing)) };
  }

  async list(name?: string): Promise<InstanceInfo[]> {
    let files: string[];
    try {
      files = await readdir(this.where);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const prefix = name === undefined ? undefined : `${name}@`;
    const found = await Promise.all(
      files
        .filter((f) => f.endsWith('.json') && !f.startsWith('.') && (prefix === undefined || f.startsWith(prefix)))
        .map(async (f) => {
          let entry: Entry;
          try {
            entry = JSON.parse(await readFile(join(this.where, f), 'utf8')) as Entry;
          } catch {
            // Removed since readdir, or not ours: either way not an instance.
            return undefined;
          }
          if (!isEntry(entry)) return undefined;
          if (pidAlive(entry)) return strip(entry);
          await this.remove(entry);
          return undefined;
        }),
    );
    return found.filter((e): e is InstanceInfo => e !== undefined).sort((a, b) => a.startedAt - b.startedAt);
  }

  async check(info: InstanceInfo): Promise<boolean> {
    let entry: Entry;
    try {
      entry = JSON.parse(await readFile(this.file(info), 'utf8')) as Entry;
    } catch {
      return false;
    }
    if (isEntry(entry) && pidAlive(entry) && (await answers(entry.address))) return true;
    await this.remove(isEntry(entry) ? entry : info);
    return false;
  }

  /** Removes a dead instance's entry, and its socket file when it left one here. */
  private async remove(info: InstanceInfo): Promise<void> {
    await unlink(this.file(info)).catch(ignoreMissing);
    const socket = join(this.where, `${info.id}.sock`);
    if (info.address === socket) await unlink(socket).catch(ignoreMissing);
  }

  watch(name: string, changed: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    const soon = (): void => {
      timer ??= setTimeout(() => {
        timer = undefined;
        changed();
      }, SETTLE_MS);
    };
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(this.where, { persistent: false }, (_event, file) => {
        if (file === null || file.startsWith(`${name}@`)) soon();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No watching here (the directory went away): the backstop still looks.
    }
    const backstop = setInterval(changed, BACKSTOP_MS).unref();
    return () => {
      watcher?.close();
      clearInterval(backstop);
      clearTimeout(timer);
    };
  }
}

function isEntry(e: unknown): e is Entry {
  const o = e as Entry;
  return (
    typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.name === 'string' && Number.isInteger(o.pid) &&
    (typeof o.address === 'string' || (typeof o.address === 'object' && o.address !== null && typeof o.address.port === 'number'))
  );
}

function strip({ procStart: _, ...info }: Entry): InstanceInfo {
  return { ...info, version: String(info.version ?? '0.0.0'), metadata: info.metadata ?? {} };
}

/** The registry an option names: a directory (or the default one) of files, or a Registry of the caller's own. */
export function registryOf(where: unknown): Registry {
  if (where === undefined || typeof where === 'string') return new LocalRegistry(registryDir(where));
  const r = where as Registry;
  if (typeof r === 'object' && r !== null && typeof r.list === 'function' && typeof r.register === 'function' && typeof r.watch === 'function') return r;
  throw new TypeError(`option registry must be a directory or a Registry, got ${describe(where)}`);
}

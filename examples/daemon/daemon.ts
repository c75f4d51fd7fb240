// A daemon other processes call over a Unix socket: a small key-value store
// whose clients can subscribe to changes.
// Run alone with: npx tsx examples/daemon/daemon.ts [socket path]   (Ctrl-C stops it)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listen } from 'farcall';

const store = new Map<string, string>();
const watchers = new Set<(key: string, value: string) => void>();

export const kv = {
  get: (key: string): string | undefined => store.get(key),
  async set(key: string, value: string): Promise<void> {
    store.set(key, value);
    // A watcher whose client went away rejects; that must not fail this set().
    await Promise.allSettled([...watchers].map((w) => w(key, value)));
  },
  /** `onChange` arrives as a proxy back into the client; returns an unsubscribe id. */
  watch(onChange: (key: string, value: string) => void): number {
    watchers.add(onChange);
    return watchers.size;
  },
  size: (): number => store.size,
};

export const defaultPath = join(tmpdir(), `farcall-kv-${process.getuid?.() ?? 'user'}.sock`);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = process.argv[2] ?? defaultPath;
  // Mode 0600 by default: only this user may connect. A stale socket file
  // left by a crashed daemon is replaced; a live daemon's is not.
  const server = await listen(kv, path);
  server.on('clientError', (err) => console.error('daemon: a client was dropped:', err.message));
  console.log(`daemon listening on ${server.address}`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop).on('SIGTERM', stop);
}

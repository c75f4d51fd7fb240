// One command for the whole picture: npx tsx examples/daemon/demo.ts
// Starts the daemon as its own process, has one client watch for changes
// while two others write, then stops the daemon.
import { spawn as spawnProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, proxy } from 'farcall';
import { client } from './client.ts';
import type { kv } from './daemon.ts';

const path = join(mkdtempSync(join(tmpdir(), 'farcall-demo-')), 'kv.sock');
const daemon = spawnProcess(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./daemon.ts', import.meta.url)), path], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [line] = (await once(daemon.stdout!, 'data')) as [Buffer];
console.log(`daemon (pid ${daemon.pid}): ${line.toString().trim()}`);

const watcher = await connect<typeof kv>(path);
let changes = 0;
const seenAll = new Promise<void>((resolve) => {
  void watcher.api.watch(
    proxy((key: string, value: string) => {
      console.log(`watcher: ${key} = ${value}`);
      if (++changes === 2) resolve();
    }),
  );
});
await watcher.api.size(); // the watch call above has reached the daemon once this returns

await Promise.all([client('alice', path), client('bob', path)]);
await seenAll;
await watcher.close();

daemon.kill('SIGTERM');
const [code] = await once(daemon, 'exit');
console.log(`daemon stopped (exit code ${code})`);

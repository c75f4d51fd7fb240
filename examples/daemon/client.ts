// A client of the daemon. Run with: npx tsx examples/daemon/client.ts [socket path]
import { pathToFileURL } from 'node:url';
import { connect, proxy } from 'farcall';
import { defaultPath, type kv } from './daemon.ts';

export async function client(name: string, path = defaultPath): Promise<void> {
  // reconnect: if the daemon restarts, later calls go to the new one.
  const conn = await connect<typeof kv>(path, { reconnect: true });
  await conn.api.set(`${name}:seen`, new Date().toISOString());
  console.log(`${name}: the store holds ${await conn.api.size()} keys`);
  await conn.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const conn = await connect<typeof kv>(process.argv[2] ?? defaultPath);
  await conn.api.watch(proxy((key: string, value: string) => console.log(`changed: ${key} = ${value}`)));
  await conn.api.set('hello', 'world');
  console.log('hello =', await conn.api.get('hello'));
  await conn.close();
}

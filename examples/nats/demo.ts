// The same service over NATS, on "several hosts": npx tsx examples/nats/demo.ts
// Starts a local nats-server, two instances of 'thumbs' (each its own process,
// as if on two hosts) and a client; then kills one instance in the middle of
// the calls. The client's idempotent calls carry on, on the other instance.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { connect as connectService } from 'farcall';
import type { thumbsApi } from './instance.ts';

const natsServer = [...(process.env.PATH ?? '').split(':').map((d) => `${d}/nats-server`), '/usr/sbin/nats-server'].find((p) => existsSync(p));
if (!natsServer) {
  console.log('This example needs nats-server, which is not installed here.');
  console.log('Install it (Debian/Ubuntu: sudo apt-get install -y nats-server; elsewhere: https://docs.nats.io) and run it again.');
  process.exit(1);
}

// A free loopback port for the server (the OS picks one; we let go of it for nats-server).
const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});
const url = `nats://127.0.0.1:${port}`;
const server = spawn(natsServer, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
for (let i = 0; ; i++) {
  const up = await new Promise<boolean>((resolve) => {
    const s = tcpConnect(port, '127.0.0.1').once('connect', () => (s.destroy(), resolve(true))).once('error', () => resolve(false));
  });
  if (up) break;
  if (i === 200) throw new Error(`nats-server did not start on port ${port}`);
  await new Promise((r) => setTimeout(r, 25));
}
console.log(`nats-server (pid ${server.pid}) on ${url}`);

const instance = fileURLToPath(new URL('./instance.ts', import.meta.url));
async function start(label: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', instance, url, label], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  console.log(line.toString().trim());
  return child;
}
const hostA = await start('host A');
const hostB = await start('host B');

const nc = await connect({ servers: url });
// resize() may run twice without harm: when its instance dies mid-call, it is made again on another.
const thumbs = await connectService<typeof thumbsApi>({ service: 'thumbs', nats: nc, idempotent: ['resize'] });
thumbs.on('disconnect', (cause) => console.log(`client: lost a session (${cause.message})`));

const made = new Map<string, number>();
const count = (answer: string) => {
  const who = answer.slice(answer.indexOf('made by ') + 8);
  made.set(who, (made.get(who) ?? 0) + 1);
};
const batch = async (n: number) => {
  for (const answer of await Promise.all(Array.from({ length: n }, (_, i) => thumbs.api.resize(100 + i)))) count(answer);
};
await batch(200);
console.log(`200 calls: ${[...made].map(([who, n]) => `${n} by ${who}`).join(', ')}`);

made.clear();
const during = batch(200);
hostA.kill('SIGKILL');
console.log('host A killed with calls in flight');
await during;
console.log(`200 more calls, all answered: ${[...made].map(([who, n]) => `${n} by ${who}`).join(', ')}`);
console.log(`a bad width still comes back as an error: ${await thumbs.api.resize(0).catch((e: Error) => `${e.name}: ${e.message}`)}`);

await thumbs.close();
await nc.close();
hostB.kill('SIGTERM');
await once(hostB, 'exit');
server.kill('SIGTERM');
await once(server, 'exit');
console.log('instances and nats-server stopped');

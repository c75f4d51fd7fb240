/**
 * `farcall bench --transports nats`: services over a local nats-server that
 * each subject starts for itself, the caller and the responder on separate
 * connections in this process: raw `nc.request` with v8-serialized bodies
 * (the raw mechanism), farcall over NATS, and Moleculer with its NATS
 * transporter (a peer, when installed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { deserialize, serialize } from 'node:v8';
import { connectNats } from '../services/nats/connect.ts';
import { loadNats } from '../services/nats/client.ts';
import { serveNats } from '../services/nats/serve.ts';
import type { Payload } from './payloads.ts';
import * as api from './servers/api.ts';
import type { Running, Subject } from './subject.ts';

/** Where nats-server is, or undefined. */
function natsServerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/bin'];
  return dirs.map((d) => `${d}/nats-server`).find((p) => existsSync(p));
}

/** One NATS message carries at most the server's max_payload (1 MiB by default), headers included. */
const LARGEST = 900 * 1024;

function cannot(who: string, carries: { transfer: boolean; buffers: boolean }): (p: Payload) => string | undefined {
  return (p) => {
    if (!natsServerBinary()) return 'nats-server is not installed (Debian/Ubuntu: apt-get install -y nats-server)';
    if (p.bytes > LARGEST) return "one NATS message carries at most 1 MiB (the server's max_payload)";
    if (p.kind === 'buffer' && !carries.buffers) return `${who} carries its params as JSON, which has no ArrayBuffer`;
    if (p.moved && !carries.transfer) return `${who} has no transfer list (its copied row carries the same bytes)`;
    return undefined;
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** A nats-server on a free loopback port, listening when this resolves. */
async function startNatsServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(natsServerBinary()!, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const exited = once(child, 'exit').then(([code]) => Promise.reject(new Error(`nats-server exited with code ${code} before listening`)));
  exited.catch(() => {});
  const listening = async (): Promise<void> => {
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = tcpConnect(port, '127.0.0.1').once('connect', () => (s.destroy(), resolve(true))).once('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await Promise.race([listening(), exited]);
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** A nats-server and two connections to it, one for each side. */
async function natsPair(): Promise<{ url: string; server: import('@nats-io/transport-node').NatsConnection; client: import('@nats-io/transport-node').NatsConnection; stop(): Promise<void> }> {
  const { connect } = await loadNats();
  const nats = await startNatsServer();
  const server = await connect({ servers: nats.url });
  const client = await connect({ servers: nats.url });
  return {
    url: nats.url,
    server,
    client,
    async stop() {
      await Promise.all([server.close(), client.close()]);
      await nats.stop();
    },
  };
}

const rawNats: Subject = {
  id: 'nats/raw',
  transport: 'nats',
  who: 'raw nc.request',
  role: 'raw',
  needs: '@nats-io/transport-node',
  cannot: cannot('raw nc.request', { transfer: false, buffers: true }),
  async start() {
    const pair = await natsPair();
    // The responder decodes and re-encodes, as the framed socket echo does.
    pair.server.subscribe('bench.echo', { callback: (_e, m) => void m.respond(serialize(deserialize(m.data))) });
    await pair.server.flush();
    const request = (v: unknown) => pair.client.request('bench.echo', serialize(v), { timeout: 30_000 }).then((m) => deserialize(m.data) as unknown);
    return { ping: () => request(undefined), echo: request, stop: () => pair.stop() };
  },
};

const farcallNats: Subject = {
  id: 'nats/farcall',
  transport: 'nats',
  who: 'farcall',
  role: 'farcall',
  needs: '@nats-io/transport-node',
  cannot: cannot('farcall', { transfer: true, buffers: true }),
  async start() {
    const pair = await natsPair();
    const svc = await serveNats('bench', api, { nats: pair.server });
    const c = await connectNats<typeof api>({ service: 'bench', nats: pair.client });
    return {
      ping: () => c.api.ping(),
      echo: (v) => c.api.echo(v),
      echoMoved: (buf) => c.api.echoMoved(buf),
      async stop() {
        await c.close();
        await svc.close();
        await pair.stop();
      },
    };
  },
};

interface MoleculerModule {
  ServiceBroker: new (options: object) => {
    createService(schema: object): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    waitForServices(names: string, timeout: number): Promise<void>;
    call(action: string, params?: unknown): Promise<unknown>;
  };
}

const moleculerNats: Subject = {
  id: 'nats/moleculer',
  transport: 'nats',
  who: 'Moleculer',
  role: 'peer',
  // Its NATS transporter loads the `nats` package (2.x) itself.
  needs: 'moleculer',
  cannot: cannot('Moleculer', { transfer: false, buffers: false }),
  async start(): Promise<Running> {
    const { ServiceBroker } = (await import('moleculer' as string)) as MoleculerModule;
    const nats = await startNatsServer();
    const options = { transporter: { type: 'NATS', options: { url: nats.url } }, logger: false };
    const server = new ServiceBroker({ nodeID: 'bench-server', ...options });
    server.createService({ name: 'bench', actions: { echo: (ctx: { params: { v: unknown } }) => ({ v: ctx.params.v }) } });
    const client = new ServiceBroker({ nodeID: 'bench-client', ...options });
    await server.start();
    await client.start();
    await client.waitForServices('bench', 10_000);
    // Moleculer's params are an object, carried as JSON: the value rides in one.
    const echo = (v: unknown) => client.call('bench.echo', { v }).then((r) => (r as { v: unknown }).v);
    return {
      ping: () => client.call('bench.echo', {}),
      echo,
      async stop() {
        await Promise.all([client.stop(), server.stop()]);
        await nats.stop();
      },
    };
  },
};

export const NATS_SUBJECTS: readonly Subject[] = [rawNats, farcallNats, moleculerNats];

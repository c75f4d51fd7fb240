/**
 * Everything `farcall bench` measures: farcall over each transport, the raw
 * mechanism beneath it, and the peers a user would otherwise pick. Each
 * subject serves the same three calls: ping() (no arguments, nothing back),
 * echo(value) (copied both ways) and, where a transfer list exists,
 * echoMoved(buffer) (moved both ways).
 */
import { fork, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Worker } from 'node:worker_threads';
import { connect, createPool, releaseProxy, spawn, transfer, wrap, type SocketAddress } from '../index.ts';
import { startThread } from '../pool/thread.ts';
import { EchoClient } from './framed.ts';
import { nodeEndpoint } from './comlink-endpoint.ts';
import { NATS_SUBJECTS } from './nats.ts';
import type { Payload } from './payloads.ts';
import type { Context, Subject, TransportId } from './subject.ts';

export { TRANSPORTS, type Context, type Role, type Running, type Subject, type TransportId } from './subject.ts';

/** farcall's stream transports take frames up to this size here, so a 64 MiB buffer fits with its header. */
export const MAX_MESSAGE = 256 * 1024 * 1024;

export type BenchApi = typeof import('./servers/api.ts');

const fromSource = import.meta.url.endsWith('.ts');

/** A helper module shipped beside this one (`.ts` in the source tree, `.js` once built; `.cts`/`.cjs` for CommonJS). */
export function helper(name: string, commonjs = false): URL {
  const ext = commonjs ? (fromSource ? '.cts' : '.cjs') : fromSource ? '.ts' : '.js';
  return new URL(`./servers/${name}${ext}`, import.meta.url);
}

/** Calls answered in order: a queue of waiting calls is all the bookkeeping. */
class Fifo {
  private readonly waiting: Array<{ resolve(v: unknown): void; reject(e: Error): void }> = [];
  private failure: Error | undefined;

  wait(send: () => void): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      send();
    });
  }

  answer(v: unknown): void {
    this.waiting.shift()?.resolve(v);
  }

  fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}

const noTransfer = (who: string) => (p: Payload) => (p.moved ? `${who} has no transfer list (its copied row carries the same bytes)` : undefined);

function onDeath(w: Worker, fifo: Fifo): void {
  w.on('error', (err) => fifo.fail(err));
  w.on('exit', (code) => fifo.fail(new Error(`the worker exited with code ${code}`)));
}

/** postMessage to `n` echo workers in turn, replies matched in order: the raw mechanism of a worker (n = 1) and of a pool. */
function rawPostMessage(transport: TransportId, n: (ctx: Context) => number): Subject {
  return {
    id: `${transport}/raw`,
    transport,
    who: transport === 'pool' ? 'raw postMessage (round robin)' : 'raw postMessage',
    role: 'raw',
    cannot: () => undefined,
    async start(ctx) {
      const workers = Array.from({ length: n(ctx) }, () => startThread(helper('raw-worker')));
      const fifos = workers.map((w) => {
        const fifo = new Fifo();
        w.on('message', (m) => fifo.answer(m));
        onDeath(w, fifo);
        return fifo;
      });
      let next = 0;
      const send = (msg: unknown, list?: ArrayBuffer[]): Promise<unknown> => {
        const i = next;
        next = (next + 1) % workers.length;
        return fifos[i]!.wait(() => workers[i]!.postMessage(msg, list));
      };
      return {
        ping: () => send(null),
        echo: (v) => send(v),
        echoMoved: (buf) => send({ moved: buf }, [buf]).then((m) => (m as { moved: ArrayBuffer }).moved),
        async stop() {
          await Promise.all(workers.map((w) => w.terminate()));
        },
      };
    },
  };
}

const farcallWorker: Subject = {
  id: 'worker/farcall',
  transport: 'worker',
  who: 'farcall',
  role: 'farcall',
  cannot: () => undefined,
  async start() {
    const w = startThread(helper('farcall-worker'));
    const api = wrap<BenchApi>(w);
    return {
      ping: () => api.ping(),
      echo: (v) => api.echo(v),
      echoMoved: (buf) => api.echoMoved(transfer(buf, [buf])),
      async stop() {
        api[releaseProxy]();
        await w.terminate();
      },
    };
  },
};

type ComlinkModule = typeof import('comlink');

const comlinkWorker: Subject = {
  id: 'worker/comlink',
  transport: 'worker',
  who: 'comlink',
  role: 'peer',
  needs: 'comlink',
  cannot: () => undefined,
  async start() {
    const Comlink = (await import('comlink' as string)) as ComlinkModule;
    const w = startThread(helper('comlink-worker'));
    const api = Comlink.wrap<BenchApi>(nodeEndpoint(w));
    return {
      ping: () => api.ping(),
      echo: (v) => api.echo(v),
      echoMoved: (buf) => api.echoMoved(Comlink.transfer(buf, [buf])),
      async stop() {
        api[Comlink.releaseProxy]();
        await w.terminate();
      },
    };
  },
};

type BirpcModule = typeof import('birpc');

const birpcWorker: Subject = {
  id: 'worker/birpc',
  transport: 'worker',
  who: 'birpc',
  role: 'peer',
  needs: 'birpc',
  cannot: noTransfer('birpc'),
  async start() {
    const { createBirpc } = (await import('birpc' as string)) as BirpcModule;
    const w = startThread(helper('birpc-worker'));
    const api = createBirpc<Pick<BenchApi, 'ping' | 'echo'>>(
      {},
      { post: (d) => w.postMessage(d), on: (fn) => w.on('message', fn), serialize: (v) => v, deserialize: (v) => v },
    );
    return {
      ping: () => api.ping(),
      echo: (v) => api.echo(v),
      async stop() {
        api.$close();
        await w.terminate();
      },
    };
  },
};

/** Waits for a child to exit; SIGKILL if it has not within `ms`. */
export async function ended(child: ChildProcess, ms = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await once(child, 'exit');
  clearTimeout(timer);
}

function childFifo(child: ChildProcess, fifo: Fifo): void {
  child.on('error', (err) => fifo.fail(err));
  child.on('exit', (code, signal) => fifo.fail(new Error(`the child process exited (${signal ?? `code ${code}`})`)));
}

const rawPipe: Subject = {
  id: 'child/raw',
  transport: 'child',
  who: 'raw framed pipe echo',
  role: 'raw',
  cannot: (p) => (p.moved ? 'a pipe has no transfer: the raw echo writes the buffer as it is (its copied row is the base)' : undefined),
  async start() {
    const child = spawnProcess(process.execPath, [...process.execArgv, fileURLToPath(helper('socket-server')), 'framed', 'pipe'], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    });
    const client = new EchoClient(child.stdio[3] as net.Socket);
    return {
      ping: () => client.call(undefined),
      echo: (v) => client.call(v),
      async stop() {
        client.close();
        await ended(child);
      },
    };
  },
};

const farcallChild: Subject = {
  id: 'child/farcall',
  transport: 'child',
  who: 'farcall',
  role: 'farcall',
  cannot: () => undefined,
  async start() {
    const child = await spawn<BenchApi>(helper('api'), { maxMessageSize: MAX_MESSAGE });
    return {
      ping: () => child.api.ping(),
      echo: (v) => child.api.echo(v),
      echoMoved: (buf) => child.api.echoMoved(transfer(buf, [buf])),
      stop: () => child.close(),
    };
  },
};

function nodeIpc(serialization: 'json' | 'advanced'): Subject {
  return {
    id: `child/ipc-${serialization}`,
    transport: 'child',
    who: `Node IPC (${serialization})`,
    role: 'peer',
    cannot: (p) =>
      serialization === 'json' && p.kind === 'buffer'
        ? 'JSON cannot carry an ArrayBuffer'
        : p.moved
          ? 'Node IPC has no transfer list (its copied row carries the same bytes)'
          : undefined,
    async start() {
      const child = fork(helper('ipc-echo'), [], { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const fifo = new Fifo();
      child.on('message', (m) => fifo.answer(m));
      childFifo(child, fifo);
      const send = (m: unknown): Promise<unknown> => fifo.wait(() => child.send(m as never));
      return {
        ping: () => send(null),
        echo: (v) => send(v),
        async stop() {
          child.disconnect();
          await ended(child);
        },
      };
    },
  };
}

/** Starts socket-server in its own process and reads the address it listens on. */
export async function serverProcess(kind: 'farcall' | 'framed' | 'copy', where: string): Promise<{ address: SocketAddress; stop(): Promise<void> }> {
  const child = spawnProcess(process.execPath, [...process.execArgv, fileURLToPath(helper('socket-server')), kind, where], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`the ${kind} server process exited with code ${code} before listening`))),
  ])) as [string];
  lines.close();
  return {
    address: JSON.parse(line) as SocketAddress,
    async stop() {
      child.stdin!.end();
      await ended(child);
    },
  };
}

let sockets = 0;
const whereFor = (transport: 'unix' | 'tcp', ctx: Context): string => (transport === 'tcp' ? 'tcp' : join(ctx.dir, `s${sockets++}.sock`));

function rawSocket(transport: 'unix' | 'tcp'): Subject {
  return {
    id: `${transport}/raw`,
    transport,
    who: 'raw framed socket echo',
    role: 'raw',
    cannot: (p) => (p.moved ? 'a socket has no transfer: the raw echo writes the buffer as it is (its copied row is the base)' : undefined),
    async start(ctx) {
      const server = await serverProcess('framed', whereFor(transport, ctx));
      const a = server.address as string | { host: string; port: number };
      const socket = typeof a === 'string' ? net.connect(a) : net.connect(a.port, a.host);
      await once(socket, 'connect');
      const client = new EchoClient(socket);
      return {
        ping: () => client.call(undefined),
        echo: (v) => client.call(v),
        async stop() {
          client.close();
          await server.stop();
        },
      };
    },
  };
}

function farcallSocket(transport: 'unix' | 'tcp'): Subject {
  return {
    id: `${transport}/farcall`,
    transport,
    who: 'farcall',
    role: 'farcall',
    cannot: () => undefined,
    async start(ctx) {
      const server = await serverProcess('farcall', whereFor(transport, ctx));
      const conn = await connect<BenchApi>(server.address, { maxMessageSize: MAX_MESSAGE });
      return {
        ping: () => conn.api.ping(),
        echo: (v) => conn.api.echo(v),
        echoMoved: (buf) => conn.api.echoMoved(transfer(buf, [buf])),
        async stop() {
          await conn.close();
          await server.stop();
        },
      };
    },
  };
}

const farcallPool: Subject = {
  id: 'pool/farcall',
  transport: 'pool',
  who: 'farcall',
  role: 'farcall',
  cannot: () => undefined,
  async start(ctx) {
    const pool = createPool<BenchApi>(helper('api'), { minThreads: ctx.threads, maxThreads: ctx.threads });
    return {
      ping: () => pool.api.ping(),
      echo: (v) => pool.api.echo(v),
      echoMoved: (buf) => pool.api.echoMoved(transfer(buf, [buf])),
      stop: () => pool.close(),
    };
  },
};

type PiscinaModule = typeof import('piscina');

const piscinaPool: Subject = {
  id: 'pool/piscina',
  transport: 'pool',
  who: 'piscina',
  role: 'peer',
  needs: 'piscina',
  cannot: () => undefined,
  async start(ctx) {
    const { Piscina } = (await import('piscina' as string)) as PiscinaModule;
    const pool = new Piscina({
      filename: helper('piscina-task', true).href,
      name: 'echo',
      minThreads: ctx.threads,
      maxThreads: ctx.threads,
      // In the source tree piscina's threads need tsx to require the task module (a built one is plain JavaScript).
      ...(fromSource ? { execArgv: [...process.execArgv, '--require', createRequire(import.meta.url).resolve('tsx/cjs')] } : {}),
    });
    return {
      ping: () => pool.run(undefined, { name: 'ping' }),
      echo: (v) => pool.run(v, { name: 'echo' }),
      echoMoved: (buf) => pool.run(buf, { name: 'echoMoved', transferList: [buf] }),
      stop: () => pool.destroy(),
    };
  },
};

/** Every subject, grouped by transport: the raw mechanism first, then farcall, then its peers. */
export const SUBJECTS: readonly Subject[] = [
  rawPostMessage('worker', () => 1),
  farcallWorker,
  comlinkWorker,
  birpcWorker,
  rawPipe,
  farcallChild,
  nodeIpc('json'),
  nodeIpc('advanced'),
  rawSocket('unix'),
  farcallSocket('unix'),
  rawSocket('tcp'),
  farcallSocket('tcp'),
  rawPostMessage('pool', (ctx) => ctx.threads),
  farcallPool,
  piscinaPool,
  ...NATS_SUBJECTS,
];

/**
 * Real nats-server processes for the NATS tests: started on free loopback
 * ports, stopped after. A machine without nats-server skips those tests and
 * says so, rather than failing or passing silently.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { suite } from 'uvu';
import { loadNats } from '../../src/services/nats/client.ts';
import { within } from '../deadline.ts';

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/** Where the nats-server binary is, or undefined when this machine has none. */
export function natsServerBinary(): string | undefined {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`;
  }
  return CANDIDATES.find((p) => existsSync(p));
}

/** Why the NATS tests cannot run here, or undefined when they can. */
export function natsSkipReason(): string | undefined {
  if (natsServerBinary()) return undefined;
  return 'nats-server is not installed (Debian/Ubuntu: apt-get install -y nats-server)';
}

/** Prints, once per test file, that its NATS tests were skipped and why. */
export function reportSkipped(file: string): void {
  console.log(`\n  SKIPPED ${file}: ${natsSkipReason()}\n`);
}

/** A free loopback TCP port (the OS picks it; we release it for nats-server to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** One running nats-server. */
export interface NatsServer {
  readonly port: number;
  /** The nats-server process id (benchmarks read its CPU time). */
  readonly pid: number;
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  /** SIGKILLs it (a host going away) and resolves once it has exited. */
  kill(): Promise<void>;
  /** Stops it gracefully and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Resolves once something accepts TCP connections on `port`; fails after the bounded wait. */
async function listening(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const attempt = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}) before listening:\n${log()}`))),
  );
  const ready = (async () => {
    // Each attempt waits for the OS to answer (refused or accepted): no sleeping.
    while (!(await attempt())) await new Promise((r) => setImmediate(r));
  })();
  await within(10_000, `nats-server on port ${port}`, Promise.race([ready, exited]));
}

function exitOf(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function start(args: string[], port: number): Promise<NatsServer> {
  const bin = natsServerBinary();
  if (!bin) throw new Error(natsSkipReason());
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (log.length < 20_000) log += d.toString();
  });
  await listening(port, proc, () => log);
  const stopWith = (signal: NodeJS.Signals) => async () => {
    const done = exitOf(proc);
    proc.kill(signal);
    await within(10_000, `nats-server ${port} to exit on ${signal}`, done);
  };
  return { port, pid: proc.pid!, url: `nats://127.0.0.1:${port}`, kill: stopWith('SIGKILL'), stop: stopWith('SIGTERM') };
}

/** One nats-server on a free loopback port. */
export async function startNatsServer(): Promise<NatsServer> {
  return start([], await freePort());
}

/**
 * `size` nats-servers routed into one cluster on loopback, standing in for
 * that many hosts. Resolves once every server listens for clients; routes
 * form shortly after (a client sees the whole cluster once they have).
 */
export async function startNatsCluster(size = 3): Promise<NatsServer[]> {
  const ports = await Promise.all(Array.from({ length: size }, freePort));
  const clusterPorts = await Promise.all(Array.from({ length: size }, freePort));
  const routes = clusterPorts.map((p) => `nats-route://127.0.0.1:${p}`).join(',');
  return Promise.all(
    ports.map((port, i) =>
      start(['--server_name', `n${i}`, '--cluster_name', 'farcall-test', '--cluster', `nats://127.0.0.1:${clusterPorts[i]}`, '--routes', routes], port),
    ),
  );
}

/** A suite whose cases get a nats-server of their own and a client connection to it (`ctx.server`, `ctx.nc`). */
export function natsSuite(name: string) {
  const test = suite<{ server: NatsServer; nc: NatsConnection }>(name);
  test.before(async (ctx) => {
    const { connect } = await loadNats();
    ctx.server = await startNatsServer();
    ctx.nc = await connect({ servers: ctx.server.url });
  });
  test.after(async (ctx) => {
    await ctx.nc?.close();
    await ctx.server?.stop();
  });
  return test;
}

/**
 * A soak: mixed load on every transport (a worker, a child process, a Unix
 * socket and TCP, with connections opened and closed as it goes) for a set
 * time, sampling heap after GC, RSS and open descriptors. Used by the
 * suite (a short run) and benchmarks/soak.ts (a long one).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, listen, proxy, spawn, wrap, type Remote } from '../../src/index.ts';
import { tsWorker } from '../fixtures/ts-worker.ts';
import { rng, value } from './fuzz.ts';

export interface Sample {
  s: number;
  heap: number;
  rss: number;
  fds: number;
}

export interface SoakResult {
  samples: Sample[];
  calls: number;
  failures: Error[];
}

const fds = (): number => {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
};

const serverApi = {
  add: (a: number, b: number) => a + b,
  echo: (v: unknown) => v,
  async watch(onTick: (n: number) => unknown) {
    await onTick(1);
    await onTick(2);
    return 'done';
  },
};

type Api = { add(a: number, b: number): number; watch(cb: (n: number) => unknown): Promise<string> };

/** Runs the soak for `seconds`, sampling every `every` seconds. Needs --expose-gc. */
export async function soak(dir: string, seconds: number, every = 1, onSample?: (s: Sample) => void): Promise<SoakResult> {
  const gc = globalThis.gc as () => void;
  const unix = await listen(serverApi, join(dir, 'soak.sock'));
  const tcp = await listen(serverApi, { host: '127.0.0.1', port: 0 });
  const worker = tsWorker(new URL('../fixtures/math.worker.ts', import.meta.url));
  const inWorker = wrap<Api>(worker);
  const child = await spawn<Api>(new URL('../fixtures/streams/child-api.ts', import.meta.url), { stdio: 'ignore', startTimeout: 60_000 });
  const result: SoakResult = { samples: [], calls: 0, failures: [] };
  const end = performance.now() + seconds * 1000;
  const r = rng(1);

  const call = async (p: Promise<unknown>): Promise<void> => {
    result.calls++;
    try {
      await p;
    } catch (err) {
      result.failures.push(err as Error);
    }
  };
  /** Calls on a transport until the end, `inFlight` at a time, with a callback now and then. */
  const load = async (api: Remote<Api>, echo: boolean, inFlight: number, callbacks = true): Promise<void> => {
    while (performance.now() < end) {
      const batch: Array<Promise<void>> = [];
      for (let i = 0; i < inFlight; i++) {
        batch.push(call(api.add(i, 1)));
        if (echo) batch.push(call((api as unknown as Remote<typeof serverApi>).echo(value(r))));
      }
      if (callbacks && r() < 0.2) batch.push(call(api.watch(proxy(() => {}) as never)));
      await Promise.all(batch);
    }
  };
  /** Socket clients that come and go. */
  const churn = async (address: Parameters<typeof connect>[0]): Promise<void> => {
    while (performance.now() < end) {
      const conn = await connect<Api>(address);
      for (let i = 0; i < 20 && performance.now() < end; i++) await call(conn.api.add(i, i));
      await conn.close();
    }
  };
  const sampler = (async () => {
    const start = performance.now();
    while (performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, every * 1000));
      gc();
      const m = process.memoryUsage();
      const s = { s: Math.round((performance.now() - start) / 1000), heap: m.heapUsed, rss: m.rss, fds: fds() };
      result.samples.push(s);
      onSample?.(s);
    }
  })();
  const unixConn = await connect<Api>(unix.address);
  const tcpConn = await connect<Api>(tcp.address);
  await Promise.all([
    load(inWorker, false, 32),
    load(child.api, false, 16, false),
    load(unixConn.api, true, 32),
    load(tcpConn.api, true, 16),
    churn(unix.address),
    churn(tcp.address),
    sampler,
  ]);
  await unixConn.close();
  await tcpConn.close();
  await unix.close();
  await tcp.close();
  await child.close();
  await worker.terminate();
  return result;
}

/** Mean of `key` over the samples taken from `from` to `to` seconds. */
export function mean(samples: readonly Sample[], key: 'heap' | 'rss' | 'fds', from: number, to: number): number {
  const xs = samples.filter((s) => s.s >= from && s.s <= to).map((s) => s[key]);
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/**
 * How every farcall benchmark measures: latency with tinybench (warm-up,
 * then p50/p99 of sequential round trips), throughput with a hand-written
 * loop that keeps N calls in flight, and each figure the median of several
 * rounds with its spread, so one noisy round cannot make a number.
 */
import { Bench } from 'tinybench';

/** A median of rounds, with the smallest and largest round. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  unit: 'µs' | 'calls/s' | 'MiB/s';
}

export interface Latency {
  p50: Figure;
  p99: Figure;
}

export interface MeasureOptions {
  /** Rounds per figure. Default 5. */
  rounds?: number;
  /** Milliseconds each round measures. Default 300. */
  time?: number;
  /** Milliseconds of warm-up before the first round. Default 100. */
  warmup?: number;
}

export function figure(samples: number[], unit: Figure['unit']): Figure {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, min: s[0]!, max: s[s.length - 1]!, unit };
}

/** Sequential round trips of `call`: p50 and p99 in microseconds. */
export async function latency(call: () => Promise<unknown>, o: MeasureOptions = {}): Promise<Latency> {
  const { rounds = 5, time = 300, warmup = 100 } = o;
  const p50: number[] = [];
  const p99: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const bench = new Bench({ time, warmup: r === 0, warmupTime: warmup, iterations: 10 });
    bench.add('call', call);
    await bench.run();
    const result = bench.tasks[0]!.result as { latency?: { p50?: number; p99?: number } } | undefined;
    if (!result?.latency?.p50) throw new Error('tinybench returned no latency samples');
    p50.push(result.latency.p50 * 1000);
    p99.push(result.latency.p99! * 1000);
  }
  return { p50: figure(p50, 'µs'), p99: figure(p99, 'µs') };
}

/** Calls per second with `inFlight` calls outstanding at all times. */
export async function throughput(call: () => Promise<unknown>, inFlight: number, o: MeasureOptions = {}): Promise<Figure> {
  const { rounds = 5, time = 300, warmup = 100 } = o;
  await keepInFlight(call, inFlight, warmup);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await keepInFlight(call, inFlight, time));
  return figure(rates, 'calls/s');
}

function keepInFlight(call: () => Promise<unknown>, inFlight: number, time: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const end = start + time;
    let done = 0;
    let outstanding = 0;
    let failed = false;
    const next = (): void => {
      outstanding--;
      done++;
      if (failed) return;
      if (performance.now() < end) launch();
      else if (outstanding === 0) resolve(done / ((performance.now() - start) / 1000));
    };
    const fail = (err: unknown): void => {
      failed = true;
      reject(err);
    };
    const launch = (): void => {
      outstanding++;
      call().then(next, fail);
    };
    for (let i = 0; i < inFlight; i++) launch();
  });
}

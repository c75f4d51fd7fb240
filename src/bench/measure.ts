/**
 * How every farcall benchmark measures: latency as p50/p99 of sequential
 * round trips after a warm-up, throughput with a hand-written
 * loop that keeps N calls in flight, and each figure the median of several
 * rounds with its spread, so one noisy round cannot make a number.
 */

/** A median of rounds, with the smallest and largest round. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  unit: 'µs' | 'calls/s' | 'tasks/s' | 'MiB/s';
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

/**
 * Sequential round trips of `call`: p50 and p99 in microseconds, each call
 * timed on its own. (tinybench 6 reported 2–17 µs for a cross-thread
 * ping-pong that a plain loop times at ~50 µs on the same machine, so round
 * trips are sampled here directly.)
 */
export async function latency(call: () => Promise<unknown>, o: MeasureOptions = {}): Promise<Latency> {
  const { rounds = 5, time = 300, warmup = 100 } = o;
  await sample(call, warmup);
  const p50: number[] = [];
  const p99: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = await sample(call, time);
    s.sort((a, b) => a - b);
    p50.push(s[Math.floor(s.length * 0.5)]! * 1000);
    p99.push(s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! * 1000);
  }
  return { p50: figure(p50, 'µs'), p99: figure(p99, 'µs') };
}

/** Milliseconds of each sequential call, for `time` ms (at least 10 calls). */
async function sample(call: () => Promise<unknown>, time: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + time;
  while (out.length < 10 || performance.now() < end) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out;
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

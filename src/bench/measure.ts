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
  unit: 'µs' | 'ms' | 'calls/s' | 'tasks/s' | 'MiB/s' | 'items/s';
}

export interface Latency {
  p50: Figure;
  p99: Figure;
}

/** What latency() measured: the figures, and what they rest on. */
export interface LatencyRun extends Latency {
  /** Round trips timed in the smallest round (a p99 of fewer than 100 says little). */
  samples: number;
  /** Calls per second of the rounds themselves: one call at a time, back to back. */
  rate: Figure;
}

export interface MeasureOptions {
  /** Rounds per figure. Default 5. */
  rounds?: number;
  /** Milliseconds each round measures. Default 300. */
  time?: number;
  /** Milliseconds of warm-up before the first round. Default 100. */
  warmup?: number;
  /** Round trips each latency round times at least, however long they take. Default 10. */
  minSamples?: number;
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
export async function latency(call: () => Promise<unknown>, o: MeasureOptions = {}): Promise<LatencyRun> {
  const { rounds = 5, time = 300, warmup = 100, minSamples = 10 } = o;
  await sample(call, warmup, minSamples);
  const p50: number[] = [];
  const p99: number[] = [];
  const rate: number[] = [];
  let samples = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const s = await sample(call, time, minSamples);
    rate.push(s.length / ((performance.now() - start) / 1000));
    s.sort((a, b) => a - b);
    samples = Math.min(samples, s.length);
    p50.push(s[Math.floor(s.length * 0.5)]! * 1000);
    p99.push(s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! * 1000);
  }
  return { p50: figure(p50, 'µs'), p99: figure(p99, 'µs'), samples, rate: figure(rate, 'calls/s') };
}

/** Milliseconds of each sequential call, for `time` ms (at least `min` calls). */
async function sample(call: () => Promise<unknown>, time: number, min: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + time;
  while (out.length < min || performance.now() < end) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * Calls per second with `inFlight` calls outstanding at all times. The calls
 * flow without a break from the warm-up to the last round; each round is a
 * window of that flow (its completions ÷ its length), so only the last
 * round waits for the calls still out to come back.
 */
export function throughput(call: () => Promise<unknown>, inFlight: number, o: MeasureOptions = {}): Promise<Figure> {
  const { rounds = 5, time = 300, warmup = 100 } = o;
  return new Promise((resolve, reject) => {
    const rates: number[] = [];
    let round = warmup > 0 ? -1 : 0; // -1: warming up
    let windowStart = performance.now();
    let windowEnd = windowStart + (round < 0 ? warmup : time);
    let completed = 0;
    let outstanding = 0;
    let stopping = false;
    let failed = false;
    const next = (): void => {
      outstanding--;
      if (failed) return;
      completed++;
      const now = performance.now();
      if (!stopping && now >= windowEnd) {
        if (round >= 0) rates.push(completed / ((now - windowStart) / 1000));
        round++;
        completed = 0;
        windowStart = now;
        windowEnd = now + time;
        stopping = round === rounds;
      }
      if (!stopping) launch();
      else if (outstanding === 0) resolve(figure(rates, 'calls/s'));
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

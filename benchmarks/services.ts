// Services by name: a call by name beside a direct connect() to the same single instance (pinned round
// trip, 1,000 in flight), and the failover bars: one of three instances SIGKILLed under 1,000 calls in
// flight, a rolling restart under load, and how soon a new instance serves its first call.
// Run directly with `--pinned-part` it measures only the round trips and prints JSON
// (services() runs it that way under taskset -c 0).
import { fileURLToPath } from 'node:url';
import { connect, serve, withOptions } from '../src/index.ts';
import { figure, latency, throughput, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { runPinned } from '../src/bench/pinned.ts';
import { registryDirForTest, removeDir, startInstances, type InstanceProcess } from '../test/services/helpers.ts';
import { table, type Row } from './table.ts';

interface Api {
  echo(x: number): number;
  slow(ms: number): Promise<number>;
  pid(): number;
}

const progress = (what: string): void => void process.stderr.write(`  measuring ${what}…\n`);

/** Direct and by name to one instance in its own process, a round of each in turn, so drift hits both alike. */
async function byNameVsDirect(o: MeasureOptions, part: 'latency' | 'throughput'): Promise<Record<string, Figure>> {
  const dir = await registryDirForTest();
  const proc = await startInstances(dir, 'bench');
  try {
    const direct = await connect<Api>(proc.addresses[0]!);
    const named = await connect<Api>({ service: 'bench', registry: dir });
    const rounds = o.rounds ?? 5;
    const d: number[] = [];
    const n: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const [conn, out] of [[direct, d], [named, n]] as const) {
        const one = { ...o, rounds: 1 };
        out.push(part === 'latency' ? (await latency(() => conn.api.echo(1), one)).p50.median : (await throughput(() => conn.api.echo(1), 1000, one)).median);
      }
    }
    await Promise.all([direct.close(), named.close()]);
    const unit = part === 'latency' ? 'µs' : 'calls/s';
    return { 'direct connect(address)': figure(d, unit), 'connect({ service })': figure(n, unit) };
  } finally {
    await proc.kill();
    await removeDir(dir);
  }
}

/** 1,000 calls in flight over three instances, half idempotent; one instance SIGKILLed mid-run. */
async function sigkill(): Promise<{ idempotentFailed: number; idempotent: number; plainFailed: number; plainRejectMsMax: number; exitSeenMs: number; plain: number }> {
  const dir = await registryDirForTest();
  const procs = await Promise.all([0, 1, 2].map(() => startInstances(dir, 'kill')));
  try {
    const conn = await connect<Api>({ service: 'kill', registry: dir, idempotent: ['slow'] });
    const plainApi = withOptions(conn.api, { idempotent: false });
    let killedAt = 0;
    let stop = false;
    const r = { idempotentFailed: 0, idempotent: 0, plainFailed: 0, plainRejectMsMax: 0, exitSeenMs: 0, plain: 0 };
    const loop = async (idem: boolean): Promise<void> => {
      while (!stop) {
        try {
          await (idem ? conn.api : plainApi).slow(20);
        } catch {
          if (idem) r.idempotentFailed++;
          else {
            r.plainFailed++;
            r.plainRejectMsMax = Math.max(r.plainRejectMsMax, performance.now() - killedAt);
          }
        }
        if (idem) r.idempotent++;
        else r.plain++;
      }
    };
    const loops = [...Array.from({ length: 500 }, () => loop(true)), ...Array.from({ length: 500 }, () => loop(false))];
    await new Promise((res) => setTimeout(res, 500));
    killedAt = performance.now();
    procs[1]!.child.once('exit', () => (r.exitSeenMs = performance.now() - killedAt));
    await procs[1]!.kill();
    await new Promise((res) => setTimeout(res, 1_000));
    stop = true;
    await Promise.all(loops);
    await conn.close();
    return r;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await removeDir(dir);
  }
}

/** Each of three instances closed (gracefully) and started again in turn, under 200 calls in flight. */
async function rolling(): Promise<{ calls: number; failed: number }> {
  const dir = await registryDirForTest();
  const procs: InstanceProcess[] = await Promise.all([0, 1, 2].map(() => startInstances(dir, 'roll')));
  try {
    const conn = await connect<Api>({ service: 'roll', registry: dir });
    let stop = false;
    const r = { calls: 0, failed: 0 };
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          await conn.api.slow(5);
          r.calls++;
        } catch {
          r.failed++;
        }
      }
    };
    const loops = Array.from({ length: 200 }, loop);
    for (let i = 0; i < procs.length; i++) {
      await procs[i]!.stop();
      procs[i] = await startInstances(dir, 'roll');
    }
    stop = true;
    await Promise.all(loops);
    await conn.close();
    return r;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await removeDir(dir);
  }
}

/** Milliseconds from a new instance's serve() resolving to its first call, with a caller already calling. */
async function firstCall(times: number): Promise<number[]> {
  const dir = await registryDirForTest();
  const proc = await startInstances(dir, 'grow');
  const out: number[] = [];
  try {
    const conn = await connect<Api>({ service: 'grow', registry: dir });
    let stop = false;
    const loops = Array.from({ length: 20 }, async () => {
      while (!stop) await conn.api.echo(1);
    });
    for (let i = 0; i < times; i++) {
      let served: (t: number) => void;
      const first = new Promise<number>((r) => (served = r));
      const svc = await serve('grow', { echo: (x: number) => (served(performance.now()), x), slow: () => 0, pid: () => process.pid }, { registry: dir });
      const ready = performance.now();
      out.push((await first) - ready);
      await svc.close();
    }
    stop = true;
    await Promise.all(loops);
    await conn.close();
    return out;
  } finally {
    await proc.kill();
    await removeDir(dir);
  }
}

export async function services(o: MeasureOptions = {}): Promise<string> {
  progress('by name vs direct, pinned to one CPU');
  const pinnedBoth = (await runPinned(fileURLToPath(import.meta.url), ['--pinned-part'])) as { latency: Record<string, Figure>; throughput: Record<string, Figure> } | undefined;
  const pinned = pinnedBoth?.latency;
  progress('by name vs direct, 1,000 in flight');
  const tput = await byNameVsDirect(o, 'throughput');
  progress('one of three instances SIGKILLed');
  const k = await sigkill();
  progress('rolling restart');
  const roll = await rolling();
  progress('first call on a new instance');
  const first = await firstCall(5);
  const rows: Row[] = [];
  const base = 'direct connect(address)';
  if (pinned) for (const [who, f] of Object.entries(pinned)) rows.push({ what: 'round trip p50, pinned to 1 CPU', who, figure: f, base: who === base ? undefined : pinned[base], lowerIsBetter: true });
  for (const [who, f] of Object.entries(tput)) rows.push({ what: '1,000 in flight', who, figure: f, base: who === base ? undefined : tput[base], lowerIsBetter: false });
  const pt = pinnedBoth?.throughput;
  if (pt) for (const [who, f] of Object.entries(pt)) rows.push({ what: '1,000 in flight, pinned to 1 CPU', who, figure: f, base: who === base ? undefined : pt[base], lowerIsBetter: false });
  const firstF = figure(first, 'µs');
  return (
    table('Services: calling by name beside a direct connect() to the same single instance (Unix socket, instance in its own process)', rows) +
    (pinned ? '' : '\n(taskset not found: no pinned rows.)\n') +
    `\n| bar | measured |\n| --- | --- |\n` +
    `| one of three instances SIGKILLed under 1,000 calls in flight: failed idempotent calls | ${k.idempotentFailed} of ${k.idempotent.toLocaleString('en-US')} |\n` +
    `| same: non-idempotent calls that failed; their last rejection, and the child's exit event, after kill() | ${k.plainFailed} of ${k.plain.toLocaleString('en-US')}; ${k.plainRejectMsMax.toFixed(1)} ms; exit seen at ${k.exitSeenMs.toFixed(1)} ms |\n` +
    `| rolling restart of three instances under 200 calls in flight: failed calls | ${roll.failed} of ${roll.calls.toLocaleString('en-US')} |\n` +
    `| a new instance's first call after serve() resolved (5 starts) | median ${(firstF.median).toFixed(0)} ms, max ${firstF.max.toFixed(0)} ms |\n`
  );
}

if (process.argv.includes('--pinned-part')) {
  console.log(JSON.stringify({ latency: await byNameVsDirect({}, 'latency'), throughput: await byNameVsDirect({}, 'throughput') }));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await services());
}

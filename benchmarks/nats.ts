// Services over NATS, on one local nats-server: farcall beside raw nc.request with
// the same payload and beside Moleculer 0.15 with its NATS transporter, sequential
// and 1,000 in flight; farcall over a Unix socket for scale. Each contender runs one
// round in turn, so a burst of load from elsewhere on the machine lands on all of them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBroker } from 'moleculer';
import { connect, listen } from '../src/index.ts';
import { figure, latency, throughput, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { loadNats } from '../src/services/nats/client.ts';
import { connectNats } from '../src/services/nats/connect.ts';
import { serveNats } from '../src/services/nats/serve.ts';
import { natsSkipReason, startNatsServer } from '../test/nats/server.ts';
import { table, type Row } from './table.ts';

const api = { add: (a: number, b: number) => a + b };
const IN_FLIGHT = 1000;

type Contenders = Record<string, () => Promise<unknown>>;

/** Microseconds of CPU the nats-server process `pid` has used so far (Linux: from /proc), NaN when unreadable. */
function serverMicros(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name) are user and system time in clock ticks (100 a second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

const ownMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Each contender's figures, one per round, in the order measured. */
interface Rounds {
  /** The measure itself (µs of a round trip, or calls/s). */
  value: Record<string, number[]>;
  /** CPU per call: this process (caller and instance), and nats-server. */
  own: Record<string, number[]>;
  server: Record<string, number[]>;
  /** Share of the wall time this process spent on CPU: near 1, it was what limited the round. */
  busy: Record<string, number[]>;
}

/** Milliseconds each contender runs, unmeasured, before the first round: the JIT has settled for all alike. */
const WARM_MS = 1_000;

/**
 * Round r of every contender, then round r + 1 in the opposite order, after
 * the same warm-up for each; per round, the CPU time each call cost in this process (caller and
 * instance) and in nats-server, which other work on the machine inflates
 * far less than it does the wall-clock figures.
 */
async function interleaved(
  calls: Contenders,
  measure: (call: () => Promise<unknown>, o: MeasureOptions) => Promise<number>,
  o: MeasureOptions,
  serverPid: number,
): Promise<Rounds> {
  for (const call of Object.values(calls)) await measure(call, { ...o, rounds: 1, time: WARM_MS, warmup: 0 });
  const out: Rounds = { value: {}, own: {}, server: {}, busy: {} };
  const order = Object.entries(calls);
  for (let r = 0; r < (o.rounds ?? ROUNDS); r++) {
    // Forwards, then backwards: a pair measured side by side sees the same load, and neither always goes first.
    for (const [who, call] of r % 2 ? [...order].reverse() : order) {
      let n = 0;
      const counted = () => (n++, call());
      const [own0, server0, t0] = [ownMicros(), serverMicros(serverPid), performance.now()];
      // A short warm-up fills the in-flight window again; its calls count in the CPU figures, as they cost CPU.
      const value = await measure(counted, { time: ROUND_MS, ...o, rounds: 1, warmup: 20 });
      const own = ownMicros() - own0;
      (out.value[who] ??= []).push(value);
      (out.own[who] ??= []).push(own / n);
      (out.server[who] ??= []).push((serverMicros(serverPid) - server0) / n);
      (out.busy[who] ??= []).push(own / 1000 / (performance.now() - t0));
    }
  }
  return out;
}

/**
 * Rounds per figure, and milliseconds each: the ratios the bars are about
 * are taken round by round, so more and shorter rounds than elsewhere (the
 * two of a pair closer in time, under the same load from other work).
 */
const ROUNDS = 15;
const ROUND_MS = 200;

const figures = (m: Record<string, number[]>, unit: Figure['unit']): Record<string, Figure> =>
  Object.fromEntries(Object.entries(m).map(([who, s]) => [who, figure(s, unit)]));

/** `a` over `b`, round by round (the two measured one after the other): their median and spread. */
const paired = (a: number[], b: number[]): Figure => figure(a.map((v, i) => v / b[i]!), 'µs');
const ratio = (f: Figure): string => `${f.median.toFixed(2)}× (${f.min.toFixed(2)}–${f.max.toFixed(2)})`;

/** Moleculer over NATS: a broker serving math.add, another calling it, both on `url`. */
async function moleculer(url: string): Promise<{ call: () => Promise<unknown>; stop(): Promise<void> }> {
  const options = { transporter: { type: 'NATS', options: { url } }, logger: false } as const;
  const server = new ServiceBroker({ nodeID: 'bench-server', ...options });
  server.createService({ name: 'math', actions: { add: (ctx: { params: { a: number; b: number } }) => ctx.params.a + ctx.params.b } });
  const client = new ServiceBroker({ nodeID: 'bench-client', ...options });
  await server.start();
  await client.start();
  await client.waitForServices('math', 10_000);
  return { call: () => client.call('math.add', { a: 1, b: 2 }), stop: async () => void (await Promise.all([client.stop(), server.stop()])) };
}

export async function nats(o: MeasureOptions = {}): Promise<string> {
  const skip = natsSkipReason();
  if (skip) return `### Services over NATS\n\nskipped: ${skip}\n`;
  const { connect: natsConnect } = await loadNats();
  const server = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'farcall-bench-nats-'));
  const progress = (what: string): void => void process.stderr.write(`  measuring ${what}…\n`);
  try {
    // Instance and caller on connections of their own, as on two hosts.
    const serverNc = await natsConnect({ servers: server.url });
    const clientNc = await natsConnect({ servers: server.url });
    // Raw: a JSON body of the same two numbers, a queue-group responder that adds them.
    serverNc.subscribe('raw.add', {
      queue: 'raw',
      callback: (_e, m) => {
        const [a, b] = m.json<[number, number]>();
        m.respond(JSON.stringify(a + b));
      },
    });
    await serverNc.flush();
    const svc = await serveNats('bench', api, { nats: serverNc });
    const fc = await connectNats<typeof api>({ service: 'bench', nats: clientNc });
    const mol = await moleculer(server.url);
    const sock = join(dir, 's.sock');
    const unix = await listen(api, sock);
    const uc = await connect<typeof api>(sock);

    const calls: Contenders = {
      raw: () => clientNc.request('raw.add', JSON.stringify([1, 2]), { timeout: 10_000 }).then((m) => m.json<number>()),
      farcall: () => fc.api.add(1, 2),
      moleculer: mol.call,
      unix: () => uc.api.add(1, 2),
    };
    progress('sequential round trips (raw nc.request, farcall over NATS, Moleculer, farcall over a Unix socket, in turn)');
    const seqRounds = await interleaved(calls, async (call, m) => (await latency(call, m)).p50.median, o, server.pid);
    progress(`${IN_FLIGHT.toLocaleString('en-US')} in flight (the same, in turn)`);
    const parRounds = await interleaved(calls, async (call, m) => (await throughput(call, IN_FLIGHT, m)).median, o, server.pid);
    const seq = figures(seqRounds.value, 'µs');
    const par = figures(parRounds.value, 'calls/s');
    const cpuRounds = Object.fromEntries(Object.keys(calls).map((who) => [who, parRounds.own[who]!.map((v, i) => v + parRounds.server[who]![i]!)]));
    const cpu = figures(cpuRounds, 'µs');
    await Promise.all([fc.close(), uc.close(), mol.stop()]);
    await Promise.all([svc.close(), unix.close()]);
    await Promise.all([serverNc.close(), clientNc.close()]);
    const rows = (what: string, f: Record<string, Figure>, lowerIsBetter: boolean): Row[] => [
      { what, who: 'raw nc.request (JSON)', figure: f.raw!, lowerIsBetter },
      { what, who: 'farcall over NATS', figure: f.farcall!, base: f.raw!, lowerIsBetter },
      { what, who: 'Moleculer 0.15 over NATS', figure: f.moleculer!, base: f.raw!, lowerIsBetter },
      { what, who: 'farcall over a Unix socket', figure: f.unix!, base: f.raw!, lowerIsBetter },
    ];
    const pct = (s: number[]): string => `${Math.round(figure(s, 'µs').median * 100)}%`;
    const who = Object.keys(calls);
    const names: Record<string, string> = { raw: 'raw nc.request', farcall: 'farcall over NATS', moleculer: 'Moleculer', unix: 'farcall over a Unix socket' };
    return (
      table('Services over NATS (one local nats-server; caller and instance on separate connections)', [
        ...rows('round trip, sequential (p50)', seq, true),
        ...rows(`${IN_FLIGHT.toLocaleString('en-US')} in flight`, par, false),
        ...rows(`CPU per call, ${IN_FLIGHT.toLocaleString('en-US')} in flight (both sides + nats-server)`, cpu, true),
      ]) +
      `\nRatios taken round by round (each pair measured one after the other), median (min–max) of ${seqRounds.value.farcall!.length} rounds:\n\n` +
      '| bar | ratio |\n| --- | ---: |\n' +
      `| sequential round trip, farcall ÷ raw nc.request (≤ 1.15) | ${ratio(paired(seqRounds.value.farcall!, seqRounds.value.raw!))} |\n` +
      `| ${IN_FLIGHT.toLocaleString('en-US')} in flight calls/s, farcall ÷ raw nc.request (≥ 1.0) | ${ratio(paired(parRounds.value.farcall!, parRounds.value.raw!))} |\n` +
      `| ${IN_FLIGHT.toLocaleString('en-US')} in flight calls/s, farcall ÷ Moleculer (≥ 3) | ${ratio(paired(parRounds.value.farcall!, parRounds.value.moleculer!))} |\n` +
      `| CPU per call, Moleculer ÷ farcall | ${ratio(paired(cpuRounds.moleculer!, cpuRounds.farcall!))} |\n` +
      `\nWith ${IN_FLIGHT.toLocaleString('en-US')} in flight, CPU per call in this process (both sides) and in nats-server, and the share of each round this process was on a CPU (near 100%, it was what limited the round): ` +
      who.map((w) => `${names[w]} ${figure(parRounds.own[w]!, 'µs').median.toFixed(2)} + ${figure(parRounds.server[w]!, 'µs').median.toFixed(2)} µs, ${pct(parRounds.busy[w]!)}`).join('; ') +
      '.\n'
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await nats());

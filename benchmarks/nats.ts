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

/** Microseconds of CPU this process and the nats-server process `pid` have used so far (Linux: the server's from /proc). */
function cpuMicros(pid: number): number {
  const own = process.cpuUsage();
  let server = 0;
  try {
    // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name) are user and system time in clock ticks (100 a second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    server = (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    server = NaN;
  }
  return own.user + own.system + server;
}

/**
 * Round r of every contender, then round r + 1: medians of the rounds, each
 * contender's own; with the CPU time each call cost in this process (caller
 * and instance) and in nats-server together, which other work on the machine
 * does not inflate as it does the wall-clock figures.
 */
async function interleaved(
  calls: Contenders,
  measure: (call: () => Promise<unknown>, o: MeasureOptions) => Promise<Figure>,
  o: MeasureOptions,
  serverPid: number,
): Promise<{ figures: Record<string, Figure>; cpu: Record<string, Figure> }> {
  const rounds = o.rounds ?? 5;
  const samples: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  let unit: Figure['unit'] = 'µs';
  for (let r = 0; r < rounds; r++) {
    for (const [who, call] of Object.entries(calls)) {
      let n = 0;
      const counted = () => (n++, call());
      const before = cpuMicros(serverPid);
      const f = await measure(counted, { ...o, rounds: 1, warmup: r === 0 ? (o.warmup ?? 100) : 20 });
      (cpu[who] ??= []).push((cpuMicros(serverPid) - before) / n);
      (samples[who] ??= []).push(f.median);
      unit = f.unit;
    }
  }
  const each = (m: Record<string, number[]>, u: Figure['unit']) => Object.fromEntries(Object.entries(m).map(([who, s]) => [who, figure(s, u)]));
  return { figures: each(samples, unit), cpu: each(cpu, 'µs') };
}

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
    const { figures: seq } = await interleaved(calls, async (call, m) => (await latency(call, m)).p50, o, server.pid);
    progress(`${IN_FLIGHT.toLocaleString('en-US')} in flight (the same, in turn)`);
    const { figures: par, cpu } = await interleaved(calls, (call, m) => throughput(call, IN_FLIGHT, m), o, server.pid);

    await Promise.all([fc.close(), uc.close(), mol.stop()]);
    await Promise.all([svc.close(), unix.close()]);
    await Promise.all([serverNc.close(), clientNc.close()]);
    const rows = (what: string, f: Record<string, Figure>, lowerIsBetter: boolean): Row[] => [
      { what, who: 'raw nc.request (JSON)', figure: f.raw!, lowerIsBetter },
      { what, who: 'farcall over NATS', figure: f.farcall!, base: f.raw!, lowerIsBetter },
      { what, who: 'Moleculer 0.15 over NATS', figure: f.moleculer!, base: f.raw!, lowerIsBetter },
      { what, who: 'farcall over a Unix socket', figure: f.unix!, base: f.raw!, lowerIsBetter },
    ];
    const vsMoleculer = par.farcall!.median / par.moleculer!.median;
    return (
      table('Services over NATS (one local nats-server; caller and instance on separate connections)', [
        ...rows('round trip, sequential (p50)', seq, true),
        ...rows(`${IN_FLIGHT.toLocaleString('en-US')} in flight`, par, false),
        ...rows(`CPU per call, ${IN_FLIGHT.toLocaleString('en-US')} in flight (both sides + nats-server)`, cpu, true),
      ]) + `\nfarcall over NATS with ${IN_FLIGHT.toLocaleString('en-US')} in flight: ${vsMoleculer.toFixed(1)}× Moleculer's calls/s, ${(cpu.moleculer!.median / cpu.farcall!.median).toFixed(1)}× less CPU per call.\n`
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await nats());

// Services over NATS: farcall beside raw nc.request with the same payload, on one
// local nats-server, sequential and 1,000 in flight; farcall over a Unix socket for scale.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen } from '../src/index.ts';
import { loadNats } from '../src/services/nats/client.ts';
import { connectNats } from '../src/services/nats/connect.ts';
import { serveNats } from '../src/services/nats/serve.ts';
import { latency, throughput, type MeasureOptions } from '../src/bench/measure.ts';
import { natsSkipReason, startNatsServer } from '../test/nats/server.ts';
import { table, type Row } from './table.ts';

const api = { add: (a: number, b: number) => a + b };

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
    const raw = () => clientNc.request('raw.add', JSON.stringify([1, 2]), { timeout: 10_000 }).then((m) => m.json<number>());
    const svc = await serveNats('bench', api, { nats: serverNc });
    const fc = await connectNats<typeof api>({ service: 'bench', nats: clientNc });
    const sock = join(dir, 's.sock');
    const unix = await listen(api, sock);
    const uc = await connect<typeof api>(sock);

    progress('raw nc.request');
    const rawL = (await latency(raw, o)).p50;
    const rawT = await throughput(raw, 1000, o);
    progress('farcall over NATS');
    const fcL = (await latency(() => fc.api.add(1, 2), o)).p50;
    const fcT = await throughput(() => fc.api.add(1, 2), 1000, o);
    progress('farcall over a Unix socket');
    const uL = (await latency(() => uc.api.add(1, 2), o)).p50;
    const uT = await throughput(() => uc.api.add(1, 2), 1000, o);

    await Promise.all([fc.close(), uc.close()]);
    await Promise.all([svc.close(), unix.close()]);
    await Promise.all([serverNc.close(), clientNc.close()]);
    const rows: Row[] = [
      { what: 'round trip, sequential', who: 'raw nc.request (JSON)', figure: rawL, lowerIsBetter: true },
      { what: 'round trip, sequential', who: 'farcall over NATS', figure: fcL, base: rawL, lowerIsBetter: true },
      { what: 'round trip, sequential', who: 'farcall over a Unix socket', figure: uL, base: rawL, lowerIsBetter: true },
      { what: '1,000 in flight', who: 'raw nc.request (JSON)', figure: rawT, lowerIsBetter: false },
      { what: '1,000 in flight', who: 'farcall over NATS', figure: fcT, base: rawT, lowerIsBetter: false },
      { what: '1,000 in flight', who: 'farcall over a Unix socket', figure: uT, base: rawT, lowerIsBetter: false },
    ];
    return table('Services over NATS (one local nats-server; caller and instance on separate connections)', rows);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await nats());

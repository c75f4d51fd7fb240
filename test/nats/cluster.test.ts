/**
 * Three nats-servers routed into one cluster on loopback stand in for three
 * hosts: two instances attached to different servers, a client on the third.
 * Under load, the server of one instance is killed (that instance is gone
 * with its host), or the client's own server is killed (the client
 * reconnects to another). Either way every idempotent call succeeds, retried
 * on a new session; none hangs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadNats } from '../../src/services/nats/client.ts';
import { connectNats } from '../../src/services/nats/connect.ts';
import { serveNats } from '../../src/services/nats/serve.ts';
import { within } from '../deadline.ts';
import { natsSkipReason, reportSkipped, startNatsCluster, type NatsServer } from './server.ts';

const test = suite('nats cluster');
const api = { work: async (i: number) => i * 2 };
const CALLERS = 20;
const EACH = 400;

/** Runs the load, kills the server `victim` picks once some calls are done, and counts what failed. */
async function underLoad(victim: (servers: NatsServer[], hostOf: Map<string, number>, instances: readonly string[]) => number): Promise<void> {
  const { connect } = await loadNats();
  const servers = await startNatsCluster(3);
  const conns: NatsConnection[] = [];
  try {
    // Each instance knows only its own server: killing it takes that instance off the cluster, like its host going away.
    const hostOf = new Map<string, number>();
    for (const i of [0, 1]) {
      const nc = await connect({ servers: servers[i]!.url, reconnect: false });
      conns.push(nc);
      hostOf.set((await serveNats('work', api, { nats: nc })).id, i);
    }
    // The client knows every server, its own first, and moves to another when its own goes.
    const client = await connect({ servers: [2, 0, 1].map((i) => servers[i]!.url), noRandomize: true, reconnectTimeWait: 50 });
    conns.push(client);
    // Routes form after the servers listen; wait until both instances answer discovery from the client's server.
    await within(10_000, 'both instances visible across the cluster', (async () => {
      for (;;) {
        const seen = new Set<string>();
        try {
          for await (const m of await client.requestMany('$SRV.PING.work', '', { maxWait: 200 })) seen.add(m.json<{ id: string }>().id);
        } catch (err) {
          // Until the routes carry the instances' interest, the client's server says no one answers.
          if (!/no responders/.test(String((err as Error).message))) throw err;
        }
        if (seen.size === 2) return;
      }
    })());

    const c = await connectNats<typeof api>({ service: 'work', nats: client, idempotent: ['work'] });
    let failed = 0;
    let done = 0;
    const load = async (from: number) => {
      for (let i = from; i < from + EACH; i++) {
        try {
          assert.is(await c.api.work(i), i * 2);
          done++;
        } catch (err) {
          failed++;
          if (failed === 1) console.error(err);
        }
      }
    };
    const running = Promise.all(Array.from({ length: CALLERS }, (_, k) => load(k * EACH)));
    await within(10_000, 'some calls to finish first', (async () => { while (done < 200) await new Promise((r) => setImmediate(r)); })());
    await servers[victim(servers, hostOf, c.instances)]!.kill();
    await within(30_000, 'the load to finish', running);
    assert.is(failed, 0, `${failed} idempotent calls failed`);
    assert.is(done, CALLERS * EACH);
    await c.close();
  } finally {
    await Promise.all(conns.map((nc) => nc.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  }
}

test('the server of an instance killed under load: 0 failed idempotent calls', async () => {
  await underLoad((_servers, hostOf, instances) => hostOf.get(instances[0]!)!);
});

test("the client's own server killed under load, the client reconnecting to another: 0 failed idempotent calls", async () => {
  await underLoad(() => 2);
});

if (natsSkipReason()) reportSkipped('test/nats/cluster.test.ts');
else test.run();

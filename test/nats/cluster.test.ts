/**
 * Three nats-servers routed into one cluster on loopback stand in for three
 * hosts: two instances attached to different servers, a client on the third,
 * and the server of one instance killed while calls are in flight. Every
 * idempotent call succeeds (retried on the other instance); none hangs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNats } from '../../src/services/nats/client.ts';
import { connectNats } from '../../src/services/nats/connect.ts';
import { serveNats } from '../../src/services/nats/serve.ts';
import { within } from '../deadline.ts';
import { natsSkipReason, reportSkipped, startNatsCluster } from './server.ts';

const test = suite('nats cluster');

test('one server of three killed under load: 0 failed idempotent calls', async () => {
  const { connect } = await loadNats();
  const servers = await startNatsCluster(3);
  const conns: Array<import('@nats-io/transport-node').NatsConnection> = [];
  try {
    const api = { work: async (i: number) => i * 2 };
    // Each instance knows only its own server: killing it takes that instance off the cluster, like its host going away.
    const hostOf = new Map<string, number>();
    for (const i of [0, 1]) {
      const nc = await connect({ servers: servers[i]!.url, reconnect: false });
      conns.push(nc);
      hostOf.set((await serveNats('work', api, { nats: nc })).id, i);
    }
    const client = await connect({ servers: servers[2]!.url });
    conns.push(client);
    // Routes form after the servers listen; wait until both instances answer discovery from the client's server.
    await within(10_000, 'both instances visible across the cluster', (async () => {
      for (;;) {
        const seen = new Set<string>();
        for await (const m of await client.requestMany('$SRV.PING.work', '', { maxWait: 200 })) seen.add(m.json<{ id: string }>().id);
        if (seen.size === 2) return;
      }
    })());

    const c = await connectNats<typeof api>({ service: 'work', nats: client, idempotent: ['work'] });
    let failed = 0;
    let done = 0;
    const load = async (from: number) => {
      for (let i = from; i < from + 400; i++) {
        try {
          assert.is(await c.api.work(i), i * 2);
          done++;
        } catch (err) {
          failed++;
          if (failed === 1) console.error(err);
        }
      }
    };
    const running = Promise.all(Array.from({ length: 20 }, (_, k) => load(k * 400)));
    await within(10_000, 'some calls to finish first', (async () => { while (done < 200) await new Promise((r) => setImmediate(r)); })());
    // Kill the server of an instance the client has a session with.
    await servers[hostOf.get(c.instances[0]!)!]!.kill();
    await within(20_000, 'the load to finish', running);
    assert.is(failed, 0, `${failed} idempotent calls failed`);
    assert.is(done, 8_000);
    await c.close();
  } finally {
    await Promise.all(conns.map((nc) => nc.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  }
});

if (natsSkipReason()) reportSkipped('test/nats/cluster.test.ts');
else test.run();

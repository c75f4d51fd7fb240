// The conformance suite over NATS: an instance of the API served with serveNats() on a
// nats-server of its own, a client with connectNats(), each on its own NATS connection.
// The crash cases are NATS's own (test/nats/service.test.ts): a dead instance is noticed by
// a heartbeat, within a bound of its own, and the next call then looks for another instance.
import type { NatsConnection } from '@nats-io/transport-node';
import * as api from './api.ts';
import { loadNats } from '../../src/services/nats/client.ts';
import { connectNats } from '../../src/services/nats/connect.ts';
import { serveNats } from '../../src/services/nats/serve.ts';
import { natsSkipReason, reportSkipped, startNatsServer, type NatsServer } from '../nats/server.ts';
import { runConformance, type ConformanceApi } from './harness.ts';

let server: Promise<NatsServer> | undefined;
let opened = 0;
let open = 0;

if (natsSkipReason()) reportSkipped('test/conformance/nats.test.ts');
else {
  runConformance({
    name: 'nats',
    transfers: true,
    crashes: false,
    knowsExitCause: false,
    peerTables: false,
    async open() {
      const { connect } = await loadNats();
      const s = await (server ??= startNatsServer());
      open++;
      const conns: NatsConnection[] = [await connect({ servers: s.url }), await connect({ servers: s.url })];
      // A service name of its own per connection: a case that closes its connection leaves the others alone.
      const name = `conformance-${opened++}`;
      const svc = await serveNats(name, { ...api }, { nats: conns[0]! });
      const conn = await connectNats<ConformanceApi>({ service: name, nats: conns[1]! });
      return {
        api: conn.api,
        async close() {
          await conn.close();
          await svc.close();
          await Promise.all(conns.map((nc) => nc.close()));
          // The last connection closed (the suite's shared one, after every case): the server goes too.
          if (--open === 0) await (await server)?.stop();
        },
      };
    },
  });
}

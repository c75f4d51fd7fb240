/**
 * The NATS test infrastructure and the optional client library: real
 * nats-server processes on loopback, one and a routed cluster of three, and
 * the main entry never loading @nats-io/transport-node.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNats } from '../../src/services/nats/client.ts';
import { within } from '../deadline.ts';
import { natsSkipReason, reportSkipped, startNatsCluster, startNatsServer } from './server.ts';

const test = suite('nats infrastructure');
const root = fileURLToPath(new URL('../..', import.meta.url));

test('importing farcall, or the NATS backend before its first use, does not load the NATS client library', () => {
  // A fresh process: which modules did `import 'farcall'` (the sources) and the backend's entry points pull in?
  const script = `
    const { register } = await import('node:module');
    register('data:text/javascript,' + encodeURIComponent(
      'export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes("@nats-io")) console.log("LOADED " + r.url); return r; }'
    ));
    await import('./src/index.ts');
    await import('./src/services/nats/serve.ts');
    await import('./src/services/nats/connect.ts');
    await import('./src/services/nats/ls.ts');
    console.log('DONE');
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.ok(out.includes('DONE'), out);
  assert.not.ok(out.includes('LOADED'), `the main entry loaded the NATS client:\n${out}`);
});

test('loadNats() loads the client library on demand', async () => {
  const nats = await loadNats();
  assert.type(nats.connect, 'function');
  assert.type(nats.headers, 'function');
});

const skip = natsSkipReason();
if (skip) {
  reportSkipped('test/nats/infra.test.ts (server cases)');
} else {
  test('a nats-server on a free loopback port carries a request and stops after', async () => {
    const { connect } = await loadNats();
    const server = await startNatsServer();
    try {
      const nc = await connect({ servers: server.url });
      nc.subscribe('echo', { queue: 'q', callback: (_e, m) => void m.respond(m.data) });
      const reply = await within(10_000, 'echo reply', nc.request('echo', 'hi', { timeout: 5_000 }));
      assert.is(reply.string(), 'hi');
      await nc.close();
    } finally {
      await server.stop();
    }
  });

  test('a three-server cluster routes a request from one server to a responder on another', async () => {
    const { connect } = await loadNats();
    const servers = await startNatsCluster(3);
    try {
      const responder = await connect({ servers: servers[0]!.url });
      const caller = await connect({ servers: servers[2]!.url });
      responder.subscribe('far', { callback: (_e, m) => void m.respond(m.data) });
      await responder.flush();
      // Routes form after the servers listen: the interest reaches the far server
      // shortly after; until then a request meets "no responders" at once.
      const reply = await within(10_000, 'a reply across the cluster', (async () => {
        for (;;) {
          try {
            return await caller.request('far', 'across', { timeout: 2_000 });
          } catch (err) {
            if (!String((err as Error).message).match(/no responders|503/i)) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      })());
      assert.is(reply.string(), 'across');
      await Promise.all([responder.close(), caller.close()]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
}

test.run();

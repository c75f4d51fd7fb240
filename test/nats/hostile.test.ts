/**
 * Hostile input to an instance over NATS: a peer may cost itself its
 * session, never the instance. Malformed hellos are refused, garbage ends
 * only the session that sent it, messages for no session are answered with
 * a goodbye, the session of a client that went silent is ended, and false
 * announcements of instances cost a client nothing.
 */
import * as assert from 'uvu/assert';
import { loadNats } from '../../src/services/nats/client.ts';
import { connectNats } from '../../src/services/nats/connect.ts';
import { serveNats, SESSION_SWEEP_MS } from '../../src/services/nats/serve.ts';
import { within } from '../deadline.ts';
import { natsSkipReason, reportSkipped, natsSuite } from './server.ts';

const api = { echo: <T>(v: T): T => v };
const test = natsSuite('nats hostile input');

// Polled, not spun: the longest wait here is seconds, on a machine shared with other runs.
const until = (what: string, ok: () => boolean) =>
  within(SESSION_SWEEP_MS * 3, what, (async () => { while (!ok()) await new Promise((r) => setTimeout(r, 20)); })());

test('a malformed hello is refused, said at once', async ({ nc }) => {
  const svc = await serveNats('hostile1', api, { nats: nc });
  try {
    for (const body of ['', 'has space', 'wild.*', 'x'.repeat(300)]) {
      const answer = (await nc.request('farcall.hostile1.hello', body, { timeout: 5_000 })).json<{ refused?: string }>();
      assert.is(answer.refused, 'malformed hello', JSON.stringify(body));
    }
    assert.is(svc.sessions, 0);
  } finally {
    await svc.close();
  }
});

test('garbage on a session ends that session only; the instance serves the others', async ({ nc }) => {
  const svc = await serveNats('hostile2', api, { nats: nc });
  const good = await connectNats<typeof api>({ service: 'hostile2', nats: nc, sessions: 1 });
  try {
    const { createInbox, headers } = await loadNats();
    const inbox = createInbox();
    const heard: string[] = [];
    nc.subscribe(inbox, { callback: (_e, m) => void heard.push(m.headers?.get('Farcall-Bye') ?? 'data') });
    const hello = (await nc.request('farcall.hostile2.hello', inbox, { timeout: 5_000 })).json<{ subject: string }>();
    assert.is(svc.sessions, 2);
    nc.publish(hello.subject, new Uint8Array([0xff, 0, 1, 2, 3]), { reply: inbox });
    await until('the garbage session to end', () => svc.sessions === 1);
    // A bad deadline header is garbage too.
    const again = (await nc.request('farcall.hostile2.hello', inbox, { timeout: 5_000 })).json<{ subject: string }>();
    const h = headers();
    h.set('Farcall-Deadline', 'soon');
    nc.publish(again.subject, new Uint8Array(0), { reply: inbox, headers: h });
    await until('the bad-deadline session to end', () => svc.sessions === 1);
    // So is a batch whose lengths claim more than the message holds.
    const third = (await nc.request('farcall.hostile2.hello', inbox, { timeout: 5_000 })).json<{ subject: string }>();
    const b = headers();
    b.set('Farcall-Batch', '1,1000');
    nc.publish(third.subject, new Uint8Array(4), { reply: inbox, headers: b });
    await until('the bad-batch session to end', () => svc.sessions === 1);
    // A message for a session the instance does not know is answered with a goodbye, not silence.
    nc.publish(hello.subject, new Uint8Array([1]), { reply: inbox });
    await until('a goodbye', () => heard.includes(`instance ${svc.id} of hostile2 has no such session`));
    // Without a reply subject it names no session: dropped.
    nc.publish(hello.subject, new Uint8Array([1]));
    assert.is(await good.api.echo('still here'), 'still here');
  } finally {
    await good.close();
    await svc.close();
  }
});

test(`the session of a client gone silent ends within ${2 * SESSION_SWEEP_MS} ms`, async ({ nc, server }) => {
  const svc = await serveNats('hostile3', api, { nats: nc });
  const { connect } = await loadNats();
  const own = await connect({ servers: server.url });
  const c = await connectNats<typeof api>({ service: 'hostile3', nats: own, sessions: 2 });
  try {
    assert.is(await c.api.echo(1), 1);
    assert.is(svc.sessions, 2);
    // The client's connection goes away without a goodbye, as when its process is killed.
    await own.close();
    await until('the sessions to be ended', () => svc.sessions === 0);
  } finally {
    await svc.close();
  }
});

test('false announcements leave a client its sessions: garbage, a bad id, another version, an instance that answers nonsense', async ({ nc }) => {
  const svc = await serveNats('hostile4', api, { nats: nc, version: '1.0.0' });
  const c = await connectNats<typeof api>({ service: 'hostile4', nats: nc, version: '1', sessions: 2 });
  try {
    const before = [...c.instances];
    // A "new instance" that answers its hello with nonsense: proof the client tried it, and the last announcement it takes.
    const fake = nc.subscribe('farcall.hostile4.FAKE.hello', { max: 1, callback: (_err, m) => void m.respond('{}') });
    for (const body of ['not json', '{"id":"a.b","version":"1.0.0"}', '{"id":"OTHER","version":"2.0.0"}', '{"id":"FAKE","version":"1.2.0"}']) {
      nc.publish('farcall.hostile4.up', body);
    }
    await within(5_000, 'the hello to the fake instance', (async () => {
      while (!fake.isClosed()) await c.api.echo(0);
    })());
    for (let i = 0; i < 20; i++) assert.is(await c.api.echo(i), i);
    assert.equal(c.instances, before);
  } finally {
    await c.close();
    await svc.close();
  }
});

if (natsSkipReason()) reportSkipped('test/nats/hostile.test.ts');
else test.run();

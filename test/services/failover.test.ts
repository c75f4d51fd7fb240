// Three instances in their own processes under load, one SIGKILLed: idempotent calls all succeed elsewhere,
// the others on that instance fail clearly at once, pinned callbacks and proxies fail with their instance, nothing hangs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, connect, proxy, withOptions, type ProxyMarked } from '../../src/index.ts';
import { within } from '../deadline.ts';
import { registryDirForTest, removeDir, startInstances, type InstanceProcess } from './helpers.ts';

interface Api {
  slow(ms: number): Promise<number>;
  ticks(cb: (n: number) => void, times: number, ms: number): Promise<number>;
  pid(): number;
  session(): { pid(): number } & ProxyMarked;
}

test('one of three instances SIGKILLed under load', async () => {
  const dir = await registryDirForTest();
  let procs: InstanceProcess[] = [];
  try {
    procs = await within(30_000, 'three instances', Promise.all([0, 1, 2].map(() => startInstances(dir, 'load'))));
    const conn = await connect<Api>({ service: 'load', registry: dir, idempotent: ['slow'] });
    const once = withOptions(conn.api, { idempotent: false });
    const victim = procs[1]!;

    // Pinned calls on every instance: each calls back from where it runs until it ends.
    const pinned = Array.from({ length: 6 }, () => {
      const heard: number[] = [];
      const call = conn.api.ticks(proxy((n: number) => heard.push(n)), 200, 5);
      return { heard, result: call.then((pid) => ({ pid }), (err: unknown) => ({ err })) };
    });
    await within(5_000, 'callbacks from every instance', (async () => {
      while (pinned.some((p) => p.heard.length === 0)) await new Promise((r) => setImmediate(r));
    })());

    // Proxies from every instance: each keeps answering from the instance it came from.
    const sessions = await Promise.all(Array.from({ length: 9 }, () => conn.api.session()));
    const homes = await Promise.all(sessions.map((s) => s.pid()));
    assert.equal(new Set(homes).size, 3, 'sessions from all three instances');
    for (let i = 0; i < sessions.length; i++) assert.is(await sessions[i]!.pid(), homes[i]);

    const idempotent: Array<Promise<number>> = [];
    const plain: Array<Promise<{ pid: number } | { err: unknown }>> = [];
    for (let i = 0; i < 600; i++) {
      idempotent.push(conn.api.slow(50 + (i % 50)));
      plain.push(once.slow(50 + (i % 50)).then((pid) => ({ pid }), (err: unknown) => ({ err })));
    }
    await victim.kill();

    const pids = await within(20_000, 'idempotent calls', Promise.all(idempotent));
    assert.is(pids.length, 600, 'every idempotent call succeeded');
    const outcomes = await within(20_000, 'other calls', Promise.all(plain));
    const failed = outcomes.filter((o): o is { err: unknown } => 'err' in o);
    assert.ok(failed.length > 0, 'some non-idempotent calls were on the killed instance');
    for (const { err } of failed) {
      assert.instance(err, ChannelClosedError);
      assert.match((err as Error).message, victim.ids[0]!, 'the error names the instance');
    }

    const ends = await within(20_000, 'pinned calls', Promise.all(pinned.map((p) => p.result)));
    const lost = ends.filter((e) => 'err' in e);
    assert.ok(lost.length > 0 && lost.length < 6, `the pinned calls on the killed instance failed, the others ran: ${lost.length}`);
    for (const e of lost) assert.instance((e as { err: unknown }).err, ChannelClosedError);

    for (let i = 0; i < sessions.length; i++) {
      if (homes[i] === victim.pid) assert.instance(await sessions[i]!.pid().catch((e: unknown) => e), ChannelClosedError);
      else assert.is(await sessions[i]!.pid(), homes[i]);
    }

    // After the death, calls keep working on the two left, and the dead one is dropped.
    for (let i = 0; i < 20; i++) assert.is.not(await within(5_000, 'a call after', conn.api.pid()), victim.pid);
    await conn.close();
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await removeDir(dir);
  }
});

test.run();

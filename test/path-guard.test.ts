/**
 * The path guard, attacked by a peer that writes every message itself (raw
 * protocol messages, see src/protocol.ts) instead of using wrap(): over a
 * port, and over a Unix socket as a client of listen().
 */
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expose, listen } from '../src/index.ts';
import { CallKind, MsgType } from '../src/protocol.ts';
import { unpackPortData } from '../src/transport/port.ts';
import { RawClient, frameOf, tempDir, within } from './streams/helpers.ts';

class Service {
  secret = 'instance data';
  greet(name: string): string {
    return `hello ${name}`;
  }
}

function target() {
  return {
    name: 'svc',
    add: (a: number, b: number) => a + b,
    plain: function plain() {
      return 1;
    },
    nested: { deep: { value: 1 } },
    service: new Service(),
    Service,
    list: [1, 2, 3],
    async run(cb: (n: number) => Promise<unknown>) {
      return await cb(1);
    },
  };
}

type Reply = { t: number; i: number; v?: unknown; e?: { k: number; n?: string; m?: string; v?: unknown } };

interface Attacker {
  post(msg: unknown): void;
  send(k: number, p: unknown[], a?: unknown[], extra?: Record<string, unknown>): Promise<Reply>;
  callsIn: Array<Record<string, unknown>>;
  /** Resolves with the next call the server makes to this peer. */
  nextCallIn(): Promise<Record<string, unknown>>;
  close(): void;
}

/** Numbers calls, routes replies to their senders and calls from the server to `callsIn`. */
function speaker(post: (msg: unknown) => void): Attacker & { receive(m: Record<string, unknown>): void } {
  let nextId = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  const callsIn: Array<Record<string, unknown>> = [];
  let onCallIn: ((m: Record<string, unknown>) => void) | undefined;
  return {
    post,
    callsIn,
    receive(m) {
      if (m.t === MsgType.Call) {
        callsIn.push(m);
        onCallIn?.(m);
      } else {
        const reply = waiting.get(m.i as number);
        waiting.delete(m.i as number);
        reply?.(m as unknown as Reply);
      }
    },
    send(k, p, a = [], extra = {}) {
      const i = nextId++;
      const reply = new Promise<Reply>((resolve) => {
        waiting.set(i, resolve);
        post({ t: MsgType.Call, i, h: 0, k, p, a, ...extra });
      });
      return within(5000, `the reply to call ${i} (${p.join('.')})`, reply);
    },
    nextCallIn: () => within(5000, 'a call from the server', new Promise((resolve) => (onCallIn = resolve))),
    close: () => {},
  };
}

/** A peer that speaks the protocol by hand on a port served by expose(). */
function portAttacker(exposed: object = target()): Attacker & { closed: Promise<void> } {
  const { port1, port2 } = new MessageChannel();
  expose(exposed, port1);
  const closed = new Promise<void>((resolve) => port2.once('close', resolve));
  const a = speaker((msg) => port2.postMessage(msg));
  port2.on('message', (data: unknown) => {
    for (const m of unpackPortData(data) as unknown as Array<Record<string, unknown>>) a.receive(m);
  });
  return opened({ ...a, closed, close: () => port2.close() });
}

/** Every attacker still open: closed after each test, so a failing test does not leave the run hanging. */
const open = new Set<Attacker>();

function opened<A extends Attacker>(a: A): A {
  const close = a.close;
  a.close = () => {
    if (open.delete(a)) close();
  };
  open.add(a);
  return a;
}

const tmp = tempDir();
let sockets = 0;

/** A peer that speaks the protocol by hand, in frames, to a Unix socket served by listen(). */
async function socketAttacker(exposed: object = target()): Promise<Attacker> {
  // Sets on, so that the path guard itself is what refuses them.
  const server = await listen(exposed, tmp.path(`guard-${sockets++}.sock`), { allowPropertySets: true });
  const client = await RawClient.open(server.address as string);
  await client.greet();
  const a = speaker((msg) => client.write(frameOf(msg)));
  client.onMessage = (m) => a.receive(m as Record<string, unknown>);
  return opened({
    ...a,
    close: () => {
      client.destroy();
      void server.close();
    },
  });
}

function refused(r: Reply, what: string, name?: string): void {
  assert.is(r.t, MsgType.Throw, `${what}: expected an error reply, got ${JSON.stringify(r)}`);
  if (name) assert.is(r.e?.n, name, `${what}: ${r.e?.m}`);
}

/**
 * A read of a guarded path is refused, or (for a name that is not there at
 * all, as comlink reads it) answers undefined: never a value.
 */
function notRead(r: Reply, what: string): void {
  if (r.t === MsgType.Return) assert.is((r as { v?: unknown }).v, undefined, `${what}: read as ${JSON.stringify(r)}`);
  else refused(r, what, 'NoSuchMethodError');
}

const snapshot = () =>
  [Object.prototype, Function.prototype, Array.prototype, Service.prototype, globalThis].map((o) =>
    Reflect.ownKeys(o).map(String).sort().join(),
  );
const before = snapshot();
const originals = { toString: Object.prototype.toString, hasOwnProperty: Object.prototype.hasOwnProperty, greet: Service.prototype.greet };

const unreachable: string[][] = [
  ['process'],
  ['globalThis'],
  ['global'],
  ['require'],
  ['constructor'],
  ['__proto__'],
  ['prototype'],
  ['toString'],
  ['valueOf'],
  ['hasOwnProperty'],
  ['isPrototypeOf'],
  ['__defineGetter__'],
  ['__lookupGetter__'],
  ['__defineSetter__'],
  ['__lookupSetter__'],
  ['propertyIsEnumerable'],
  ['toLocaleString'],
  ['add', 'constructor'],
  ['add', '__proto__'],
  ['add', 'call'],
  ['add', 'apply'],
  ['add', 'bind'],
  ['add', 'toString'],
  ['plain', 'prototype'],
  ['plain', 'caller'],
  ['plain', 'arguments'],
  ['nested', 'constructor', 'constructor'],
  ['nested', '__proto__', 'constructor'],
  ['service', 'constructor'],
  ['service', '__proto__'],
  ['Service', 'prototype'],
  ['Service', 'constructor'],
  ['Service', '__proto__'],
  ['Service', 'call'],
  ['Service', 'bind'],
  ['service', 'greet', 'call'],
  ['service', 'greet', 'constructor'],
  ['list', 'constructor'],
  ['list', '__proto__'],
  ['run', 'constructor'],
];

const transports: Array<[string, (exposed?: object) => Attacker | Promise<Attacker>]> = [
  ['port', portAttacker],
  ['Unix socket', socketAttacker],
];

for (const [over, attacker] of transports) {
  test(`over a ${over}: no guarded path can be read`, async () => {
    const a = await attacker();
    for (const p of unreachable) notRead(await a.send(CallKind.Get, p), `get ${p.join('.')}`);
    a.close();
  });

  test(`over a ${over}: no guarded path can be called, and Function cannot be reached to build code`, async () => {
    const a = await attacker();
    for (const p of unreachable) {
      refused(await a.send(CallKind.Apply, p, ['return process']), `call ${p.join('.')}`, 'NoSuchMethodError');
      refused(await a.send(CallKind.Construct, p, ['return process']), `new ${p.join('.')}`, 'NoSuchMethodError');
    }
    a.close();
  });

  test(`over a ${over}: a createEndpoint request cannot reach guarded paths either`, async () => {
    const a = await attacker();
    for (const p of [['constructor'], ['__proto__'], ['add', 'constructor']]) {
      // A socket cannot carry a port, so there the request is refused before any path is looked at.
      refused(await a.send(CallKind.Endpoint, p), `endpoint ${p.join('.')}`, over === 'port' ? 'NoSuchMethodError' : 'UnsupportedError');
    }
    a.close();
  });

  test(`over a ${over}: an exposed function: callable, but nothing of Function.prototype is reachable`, async () => {
    const a = await attacker(function greet(name: string) {
      return `hi ${name}`;
    });
    assert.is((await a.send(CallKind.Apply, [], ['you'])).v, 'hi you');
    for (const p of [['constructor'], ['call'], ['apply'], ['bind'], ['toString'], ['prototype'], ['__proto__']]) {
      refused(await a.send(CallKind.Apply, p, ['return process']), `call ${p.join('.')}`, 'NoSuchMethodError');
      notRead(await a.send(CallKind.Get, p), `get ${p.join('.')}`);
    }
    a.close();
  });

  test(`over a ${over}: own properties and class-prototype methods stay reachable`, async () => {
    const a = await attacker();
    assert.equal(await a.send(CallKind.Get, ['name']), { t: MsgType.Return, i: 1, v: 'svc' });
    assert.is((await a.send(CallKind.Apply, ['add'], [2, 3])).v, 5);
    assert.is((await a.send(CallKind.Apply, ['service', 'greet'], ['you'])).v, 'hello you');
    assert.is((await a.send(CallKind.Get, ['service', 'secret'])).v, 'instance data');
    assert.is((await a.send(CallKind.Get, ['nested', 'deep', 'value'])).v, 1);
    a.close();
  });

  test(`over a ${over}: no prototype can be written, through any path`, async () => {
    const a = await attacker();
    const sets: string[][] = [
      ['__proto__'],
      ['__proto__', 'polluted'],
      ['constructor'],
      ['constructor', 'prototype', 'polluted'],
      ['prototype'],
      ['toString'],
      ['hasOwnProperty'],
      ['nested', '__proto__'],
      ['nested', '__proto__', 'polluted'],
      ['nested', 'constructor', 'prototype', 'polluted'],
      ['service', '__proto__', 'greet'],
      ['service', 'constructor', 'prototype', 'greet'],
      ['Service', 'prototype', 'greet'],
      ['Service', 'prototype'],
      ['add', 'prototype'],
      ['add', '__proto__', 'call'],
      ['list', '__proto__', 'polluted'],
    ];
    for (const p of sets) {
      refused(await a.send(CallKind.Set, p, [{ polluted: true }]), `set ${p.join('.')}`, 'NoSuchMethodError');
      refused(await a.send(CallKind.Set, p, ['polluted']), `set ${p.join('.')}`, 'NoSuchMethodError');
    }
    // A value with an own "__proto__" key is data, not a prototype.
    const evil = JSON.parse('{"__proto__": {"polluted": true}}');
    assert.is((await a.send(CallKind.Set, ['nested', 'fresh'], [evil])).t, MsgType.Return);
    assert.is((await a.send(CallKind.Apply, ['add'], [evil, evil])).t, MsgType.Return);
    a.close();
    assert.equal(snapshot(), before);
    assert.is(({} as { polluted?: unknown }).polluted, undefined);
    assert.is(Object.prototype.toString, originals.toString);
    assert.is(Object.prototype.hasOwnProperty, originals.hasOwnProperty);
    assert.is(Service.prototype.greet, originals.greet);
  });

  test(`over a ${over}: an error a peer sends back cannot pollute a prototype when it is rebuilt`, async () => {
    const a = await attacker();
    const called = a.nextCallIn();
    const result = a.send(CallKind.Apply, ['run'], [undefined], { x: [[0, 'proxy', 5]] });
    const call = await called;
    assert.is(call.h, 5, 'the server calls the peer back on the handle it sent');
    const own = (json: string): unknown => JSON.parse(json);
    a.post({
      t: MsgType.Throw,
      i: call.i,
      e: {
        k: 1,
        n: '__proto__',
        m: 'evil',
        p: own('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
        c: { k: 1, n: 'constructor', m: 'cause', p: own('{"__proto__": {"polluted": true}}') },
        e: [{ k: 1, n: 'toString', m: 'member' }],
      },
    });
    refused(await result, 'run() with a failing callback');
    a.close();
    assert.equal(snapshot(), before);
    assert.is(({} as { polluted?: unknown }).polluted, undefined);
  });

  test(`over a ${over}: a thenable set by a peer is not called back`, async () => {
    const a = await attacker();
    const set = await a.send(CallKind.Set, ['nested', 'then'], [undefined], { x: [[0, 'proxy', 9]] });
    // A socket client may not store a function at all (see set-guard.ts); a port's peer may.
    if (over === 'port') {
      assert.is(set.t, MsgType.Return);
      refused(await a.send(CallKind.Get, ['nested']), 'get of an object holding a remote then');
    } else {
      refused(set, 'set of a remote then', 'UnsupportedError');
      assert.is((await a.send(CallKind.Get, ['nested'])).t, MsgType.Return, 'nothing was stored');
    }
    assert.is((await a.send(CallKind.Apply, ['add'], [1, 1])).v, 2);
    assert.equal(a.callsIn, [], 'the server never called the peer');
    a.close();
  });

  test(`over a ${over}: handles and special values that were never given are refused`, async () => {
    const a = await attacker();
    const send = (msg: Record<string, unknown>): Promise<Reply> => a.send(CallKind.Apply, ['add'], [1, 2], msg);
    refused(await send({ h: 12345 }), 'an unknown handle', 'ProxyReleasedError');
    refused(await send({ x: [[7, 'proxy', 1]] }), 'a special value past the arguments');
    refused(await send({ x: [[0, 'no such handler', 1]] }), 'an unknown transfer handler');
    refused(await send({ x: [[0, '__proto__', 1]] }), 'a transfer handler named __proto__');
    refused(await send({ x: [[0, 'proxy', 'not a handle']] }), 'a proxy without a handle');
    // Replies and releases nobody asked for are ignored.
    a.post({ t: MsgType.Return, i: 999, v: 1 });
    a.post({ t: MsgType.Throw, i: 998, e: { k: 1, n: 'Error', m: 'x' } });
    a.post({ t: MsgType.Release, h: 4242 });
    a.post({ t: MsgType.Cancel, i: 4242 });
    assert.is((await a.send(CallKind.Apply, ['add'], [2, 2])).v, 4, 'the connection still serves');
    a.close();
  });
}

const malformed: Array<[string, unknown]> = [
  ['a string', 'hello'],
  ['null', null],
  ['a number', 42],
  ['an unknown type', { t: 99 }],
  ['a call without an id', { t: MsgType.Call, h: 0, k: 0, p: ['add'], a: [] }],
  ['a negative id', { t: MsgType.Call, i: -1, h: 0, k: 0, p: ['add'], a: [] }],
  ['a fractional handle', { t: MsgType.Call, i: 1, h: 0.5, k: 0, p: ['add'], a: [] }],
  ['an unknown kind', { t: MsgType.Call, i: 1, h: 0, k: 17, p: ['add'], a: [] }],
  ['a path that is not a list', { t: MsgType.Call, i: 1, h: 0, k: 0, p: 'add', a: [] }],
  ['a path with a number', { t: MsgType.Call, i: 1, h: 0, k: 0, p: [0], a: [] }],
  ['arguments that are not a list', { t: MsgType.Call, i: 1, h: 0, k: 0, p: ['add'], a: { 0: 1 } }],
  ['malformed special values', { t: MsgType.Call, i: 1, h: 0, k: 0, p: ['add'], a: [], x: [[0]] }],
  ['a negative deadline', { t: MsgType.Call, i: 1, h: 0, k: 0, p: ['add'], a: [], d: -5 }],
  ['a return without an id', { t: MsgType.Return, v: 1 }],
  ['a release without a handle', { t: MsgType.Release }],
];

for (const [label, msg] of malformed) {
  test(`malformed message (${label}): the connection is dropped, the server keeps serving others`, async () => {
    const exposed = target();
    const bad = portAttacker(exposed);
    const good = portAttacker(exposed);
    bad.post(msg);
    await bad.closed; // the server closed the port it was served on
    assert.is((await good.send(CallKind.Apply, ['add'], [20, 22])).v, 42);
    good.close();
  });
}

test('a batch with one malformed message drops the connection, nothing of it is served', async () => {
  const exposed = { hits: 0, hit() { return ++this.hits; } };
  const bad = portAttacker(exposed);
  bad.post([{ t: MsgType.Call, i: 0, h: 0, k: 0, p: ['hit'], a: [] }, { t: 'bad' }, { t: MsgType.Call, i: 0, h: 0, k: 0, p: ['hit'], a: [] }]);
  await bad.closed;
  assert.ok(exposed.hits <= 1, `served ${exposed.hits} calls after a malformed message`);
});

test.after.each(() => {
  for (const a of open) a.close();
});

test.after(() => tmp.remove());

test.run();

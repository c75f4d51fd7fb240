/**
 * Every public entry point, given the wrong thing, throws a TypeError that
 * says what it expected and what it got.
 */
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expose, proxy, transfer, wrap } from '../src/index.ts';

/** Calls `fn` (loosely typed, as JavaScript callers may) and checks the TypeError it throws. */
function rejects(fn: () => unknown, ...includes: string[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.instance(thrown, TypeError, `expected a TypeError, got ${String(thrown)}`);
  const message = (thrown as Error).message;
  for (const s of includes) assert.ok(message.includes(s), `"${message}" should mention "${s}"`);
}

const loose = <F>(f: F) => f as unknown as (...args: unknown[]) => unknown;

test('wrap() without an endpoint names what it expected and what it got', () => {
  const w = loose(wrap);
  rejects(() => w(), 'wrap() expects a Worker, MessagePort', 'got undefined');
  rejects(() => w(null), 'got null');
  rejects(() => w(42), 'got number 42');
  rejects(() => w('port'), 'got a string');
  rejects(() => w({}), 'got an object (Object)');
  rejects(() => w({ postMessage() {} }), 'addEventListener()', 'got an object (Object)');
  rejects(() => w(() => {}), 'got a function');
});

test('wrap() with bad options names the option', () => {
  const { port1 } = new MessageChannel();
  const w = loose(wrap);
  rejects(() => w(port1, 'fast'), 'options must be an object', 'got a string');
  rejects(() => w(port1, { timeout: -1 }), 'option timeout', 'non-negative number', 'got number -1');
  rejects(() => w(port1, { timeout: Infinity }), 'option timeout');
  rejects(() => w(port1, { timeout: '10' }), 'option timeout', 'got a string');
  rejects(() => w(port1, { transferHandlers: {} }), 'option transferHandlers must be a Map');
  port1.close();
});

test('expose() without something to serve, or without an endpoint', () => {
  const { port1 } = new MessageChannel();
  const e = loose(expose);
  rejects(() => e(42, port1), 'expose() expects an object or a function to serve', 'got number 42');
  rejects(() => e(null, port1), 'got null');
  rejects(() => e(undefined, port1), 'got undefined');
  rejects(() => e('api', port1), 'got a string');
  rejects(() => e({}), 'expose() needs an endpoint outside a worker thread');
  rejects(() => e({}, {}), 'expose() expects a Worker, MessagePort', 'got an object (Object)');
  rejects(() => e({}, 7), 'got number 7');
  rejects(() => e({}, port1, { timeout: 'soon' }), 'option timeout');
  port1.close();
});

test('proxy() of a primitive', () => {
  const p = loose(proxy);
  rejects(() => p(1), 'proxy() expects an object or a function', 'got number 1');
  rejects(() => p('fn'), 'got a string');
  rejects(() => p(null), 'got null');
  rejects(() => p(undefined), 'got undefined');
  rejects(() => p(Symbol('s')), 'got symbol');
});

test('transfer() of a primitive, or with a list that is not of transferables', () => {
  const t = loose(transfer);
  const buf = new ArrayBuffer(8);
  rejects(() => t(1, [buf]), 'transfer() expects the object being sent', 'got number 1');
  rejects(() => t(buf, buf), 'expects an array of transferables', 'got an object (ArrayBuffer)');
  rejects(() => t(buf), 'expects an array of transferables', 'got undefined');
  rejects(() => t(buf, [1]), 'item 0 is number 1');
  rejects(() => t({}, [buf, 'x']), 'item 1 is a string');
  rejects(() => t({}, [new Uint8Array(buf)]), 'item 0 is an object (Uint8Array)', 'transfer its .buffer');
  rejects(() => t({}, [{}]), 'item 0 is an object (Object)');
  rejects(() => t({}, [null]), 'item 0 is null');
});

test('the right arguments are accepted', () => {
  const { port1, port2 } = new MessageChannel();
  const buf = new ArrayBuffer(8);
  expose({}, port1, { timeout: 0 });
  wrap(port2, { timeout: 10, transferHandlers: new Map() });
  proxy(() => {});
  transfer({ buf }, [buf]);
  transfer(buf, []);
  port1.close();
});

test.run();

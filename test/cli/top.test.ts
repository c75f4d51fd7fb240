// `farcall top` run as a user runs it: into a pipe, and in a pseudo-terminal, against instances this process serves.
import { rm, writeFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, serve, type Connection, type Service } from '../../src/index.ts';
import { registryDirForTest, removeDir } from '../services/helpers.ts';
import { commandPid, inTerminal, piped, SETTINGS_AFTER, type Live } from './run.ts';

const api = {
  echo: <T>(x: T): T => x,
  fail: (): never => {
    throw Object.assign(new Error('refused'), { code: 'E_REFUSED' });
  },
};

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const CLEAR = '\x1b[H\x1b[2J';

let dir = '';
let busy: Service;
let plain: Service;
let conn: Connection<typeof api>;

test.before(async () => {
  dir = await registryDirForTest();
  busy = await serve('thumbs', api, { registry: dir, metrics: true });
  plain = await serve('plain', api, { registry: dir });
  conn = await connect<typeof api>(busy.address as string);
  await conn.api.echo(1);
  await conn.api.fail().catch(() => {});
});

test.after(async () => {
  await conn.close();
  await Promise.all([busy.close(), plain.close()]);
  await removeDir(dir);
});

/** The frames printed whole from `from` on (the last may still be coming). */
function framesFrom(output: string, from = 0): string[] {
  const parts = output.slice(from).split(/^(?=farcall top {2})/m);
  return parts.slice(0, -1).filter((p) => p.startsWith('farcall top  '));
}

/** The cells of `method`'s row in a frame. */
const row = (frame: string, method: string): string[] | undefined => frame.split('\n').find((l) => l.startsWith(`  ${method} `))?.trim().split(/\s{2,}/);

test('into a pipe: plain lines per sample, rates from the second on, instances that start picked up and those that go dropped; --once and SIGINT end it with exit 0', async () => {
  // --once first, and to its end: its connection would count as a second client in top's frames.
  const once = piped(['top', '--once'], dir);
  try {
    assert.is(await once.exit(), 0, once.output());
  } finally {
    once.child.kill('SIGKILL');
  }
  assert.is(once.output().split(/^(?=farcall top {2})/m).length, 1, once.output());
  assert.match(once.output(), new RegExp(`thumbs {2}${busy.id} `));
  const top = piped(['top', '--interval', '100'], dir);
  let late: Service | undefined;
  try {
    await top.waitFor('two frames', (o) => framesFrom(o).length >= 2);
    const frames = framesFrom(top.output());
    for (const f of frames.slice(0, 2)) {
      assert.match(f, /^farcall top {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}every 0\.1 s {2}2 services, 2 instances\n/);
      assert.match(f, new RegExp(`^thumbs {2}${busy.id} {2}pid ${process.pid} {2}v0\\.0\\.0 {2}up \\d+s {2}1 client {2}0 in flight$`, 'm'));
      assert.match(f, /^ {2}METHOD\s+CALLS\/S\s+ERR\/S\s+ERRORS\s+P99 MS\s+IN FLIGHT$/m);
      assert.match(f, new RegExp(`^plain {2}${plain.id} .*\\n {2}metrics are off: serve it with \\{ metrics: true \\} to record them$`, 'm'));
      assert.not.match(f, /\$farcall/);
      assert.ok(f.endsWith('\n\n'), 'a blank line after each sample');
    }
    assert.equal(row(frames[0]!, 'fail')!.slice(0, 4), ['fail', '-', '-', '1']);
    const [, calls, errors, total, , inFlight] = row(frames[1]!, 'fail')!;
    assert.match(calls!, /^\d+(\.\d)?$/);
    assert.match(errors!, /^\d+(\.\d)?$/);
    assert.is(total, '1');
    assert.is(inFlight, '0');
    assert.not.match(top.output(), /\x1b/);

    late = await serve('late', api, { registry: dir, metrics: true });
    const id = late.id;
    await top.waitFor('a frame with the new instance', (o) => framesFrom(o).some((f) => f.includes(`\nlate  ${id}  `) && f.includes('3 services, 3 instances')));
    await late.close();
    const closedAt = top.output().length;
    await top.waitFor('a frame without it', (o) => framesFrom(o, closedAt).some((f) => !f.includes('late  ') && f.includes('2 services, 2 instances')));
    top.child.kill('SIGINT');
    assert.is(await top.exit(), 0, top.output());
  } finally {
    top.child.kill('SIGKILL');
    await late?.close();
  }
});

/** A frame drawn in the terminal with the busy instance's table in it. */
const drawn = (o: string): boolean => o.includes(ENTER) && o.includes(`thumbs  ${busy.id}`) && /\n {2}fail\s/.test(o.slice(o.lastIndexOf(CLEAR)));

/** After the last frame: the cursor shown again, the normal screen back, raw mode off (echo and canonical input on). */
function restored(t: Live): void {
  const out = t.output();
  const [screen, settings = ''] = out.split(SETTINGS_AFTER);
  assert.ok(screen!.includes(ENTER), 'the alternate screen was entered');
  assert.ok(screen!.lastIndexOf(LEAVE) > screen!.lastIndexOf(CLEAR), `the terminal put back after the last frame: ${JSON.stringify(screen!.slice(-300))}`);
  assert.not.ok(screen!.slice(screen!.lastIndexOf(LEAVE)).includes(CLEAR), 'nothing drawn after');
  assert.match(settings, /(^|\s)icanon(\s|$)/, settings);
  assert.match(settings, /(^|\s)echo(\s|$)/, settings);
}

test('in a terminal: drawn in place; q and Ctrl-C quit with exit 0 and the terminal put back', async () => {
  const q = inTerminal(['top', '--interval', '100'], dir);
  const ctrlC = inTerminal(['top', '--interval', '100'], dir);
  try {
    await Promise.all([q.waitFor('a frame', drawn), ctrlC.waitFor('a frame', drawn)]);
    q.child.stdin!.write('q');
    ctrlC.child.stdin!.write('\x03');
    assert.is(await q.exit(), 0, q.output());
    assert.is(await ctrlC.exit(), 0, ctrlC.output());
    restored(q);
    restored(ctrlC);
    assert.match(q.output(), /farcall top {2}\d\d:\d\d:\d\d {2}every 0\.1 s {2}2 services, 2 instances {2}\(q quits\)/);
  } finally {
    q.child.kill('SIGKILL');
    ctrlC.child.kill('SIGKILL');
  }
});

test('in a terminal: SIGINT, and an error while sampling (the registry replaced by a file), also put the terminal back', async () => {
  const broken = await registryDirForTest();
  const signalled = inTerminal(['top', '--interval', '100'], dir);
  const failing = inTerminal(['top', '--interval', '100'], broken);
  try {
    await Promise.all([
      signalled.waitFor('a frame', drawn),
      failing.waitFor('a frame', (o) => o.includes('no service instances are registered on this host')),
    ]);
    process.kill(commandPid(signalled), 'SIGINT');
    await rm(broken, { recursive: true });
    await writeFile(broken, '');
    assert.is(await signalled.exit(), 0, signalled.output());
    assert.is(await failing.exit(), 1, failing.output());
    restored(signalled);
    restored(failing);
    assert.match(failing.output(), /farcall: Error: ENOTDIR/);
  } finally {
    signalled.child.kill('SIGKILL');
    failing.child.kill('SIGKILL');
    await rm(broken, { force: true, recursive: true });
  }
});

test('usage: a bad interval, --once with --count; --help', async () => {
  const [fast, both, help] = [piped(['top', '--interval', '50'], dir), piped(['top', '--once', '--count', '3'], dir), piped(['top', '--help'], dir)];
  assert.is(await fast.exit(), 2, fast.output());
  assert.match(fast.output(), /farcall top: --interval must be a whole number of at least 100, got '50'\nRun 'farcall top --help' for the options\./);
  assert.is(await both.exit(), 2, both.output());
  assert.match(both.output(), /--once is --count 1; it cannot go with --count 3/);
  assert.is(await help.exit(), 0);
  assert.match(help.output(), /^Usage: farcall top \[options\]/);
  for (const option of ['--interval MS', '--count N', '--once', '--service NAME', '--registry DIR']) assert.ok(help.output().includes(option), option);
});

test.run();

// `farcall ls` and `farcall call` run as a user runs them, against instances in their own processes.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryDirForTest, removeDir, startInstances, type InstanceProcess } from '../services/helpers.ts';
import { run, runAll, said, type Run } from './run.ts';

let dir = '';
let procs: InstanceProcess[] = [];

test.before(async () => {
  dir = await registryDirForTest();
  procs = await Promise.all([startInstances(dir, 'thumbs', { version: '1.4.0' }), startInstances(dir, 'mailer', { version: '0.2.1' })]);
});

test.after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await removeDir(dir);
});

test('farcall ls: one line per instance with name, id, pid, address, version and uptime; --json the same as data', async () => {
  const [r, json] = (await runAll([['ls'], ['ls', '--json']], dir)) as [Run, Run];
  assert.is(r.code, 0, said(r));
  const [header, ...lines] = r.stdout.trimEnd().split('\n');
  assert.match(header!, /^NAME\s+ID\s+PID\s+ADDRESS\s+VERSION\s+UPTIME$/);
  assert.is(lines.length, 2);
  const thumbs = lines.find((l) => l.startsWith('thumbs'))!;
  assert.match(thumbs, new RegExp(`^thumbs\\s+${procs[0]!.ids[0]}\\s+${procs[0]!.pid}\\s+${procs[0]!.addresses[0]}\\s+1\\.4\\.0\\s+\\d+s$`));
  assert.is(json.code, 0, said(json));
  const list = JSON.parse(json.stdout) as Array<{ name: string; id: string; pid: number; version: string; uptimeMs: number; metadata: Record<string, string> }>;
  assert.equal(list.map((i) => i.name).sort(), ['mailer', 'thumbs']);
  const m = list.find((i) => i.name === 'mailer')!;
  assert.is(m.id, procs[1]!.ids[0]);
  assert.is(m.pid, procs[1]!.pid);
  assert.is(m.version, '0.2.1');
  assert.type(m.uptimeMs, 'number');
});

test('farcall call: by service or by address, JSON in and out, exit codes 0 / 1 / 2 / 3', async () => {
  const [ok, nested, byPath, threw, missing, noServer, badJson] = (await runAll([
    ['call', 'thumbs', 'echo', '{"w":200,"tags":["a"]}'],
    ['call', 'thumbs', 'counter.inc'],
    ['call', procs[1]!.addresses[0]!, 'pid'],
    ['call', 'thumbs', 'nosuch'],
    ['call', 'nobody', 'x'],
    ['call', join(dir, 'none.sock'), 'x'],
    ['call', 'thumbs', 'echo', '{oops'],
  ], dir)) as [Run, Run, Run, Run, Run, Run, Run];
  assert.is(ok.code, 0, said(ok));
  assert.equal(JSON.parse(ok.stdout), { w: 200, tags: ['a'] });
  assert.is(nested.code, 0, said(nested));
  assert.is(nested.stdout.trim(), '1');
  assert.is(byPath.code, 0, said(byPath));
  assert.is(Number(byPath.stdout), procs[1]!.pid);
  assert.is(threw.code, 1, said(threw));
  assert.match(threw.stderr, /nosuch\(\) threw NoSuchMethodError \(ERR_FARCALL_NO_SUCH_METHOD\): "nosuch" is not exposed/);
  assert.is(missing.code, 3, said(missing));
  assert.match(missing.stderr, new RegExp(`no live instance of service 'nobody' in the registry at ${dir}`));
  assert.is(noServer.code, 3, said(noServer));
  assert.is(badJson.code, 2, said(badJson));
  assert.match(badJson.stderr, /argument 1 is not JSON: \{oops/);
});

test('--help for each command, the overview lists them, a short command line exits 2', async () => {
  const [ls, call, top, bad] = (await runAll([['ls', '--help'], ['call', '--help'], ['--help'], ['call', 'thumbs']], dir)) as [Run, Run, Run, Run];
  assert.is(ls.code, 0, said(ls));
  assert.match(ls.stdout, /Usage: farcall ls/);
  assert.match(ls.stdout, /--json/);
  assert.is(call.code, 0, said(call));
  assert.match(call.stdout, /Usage: farcall call <service\|address> <method>/);
  assert.match(call.stdout, /Exit codes: 0/);
  assert.match(top.stdout, /^\s+ls\s+list the services/m);
  assert.match(top.stdout, /^\s+call\s+call a method/m);
  assert.match(top.stdout, /^\s+stats\s+print each method's calls/m);
  assert.match(top.stdout, /^\s+top\s+a live view/m);
  assert.is(bad.code, 2, said(bad));
  assert.match(bad.stderr, /farcall call: call needs a service \(or an address\) and a method/);
});

test('an instance killed without deregistering is not listed, and its entry is removed', async () => {
  const victim = await startInstances(dir, 'doomed');
  procs.push(victim);
  await victim.kill();
  const r = await run(['ls', '--json'], dir);
  assert.is(r.code, 0, said(r));
  assert.not.ok((JSON.parse(r.stdout) as Array<{ name: string }>).some((i) => i.name === 'doomed'));
});

test.run();

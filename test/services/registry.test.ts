// The embedded registry: entries as files, liveness, stale entries, concurrent starts and stops, names, directories.
import { once } from 'node:events';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, serve, type Service } from '../../src/index.ts';
import { LocalRegistry } from '../../src/services/local-registry.ts';
import { registryDir } from '../../src/services/names.ts';
import { within } from '../deadline.ts';
import { registryDirForTest, rejects, removeDir, startInstances, until } from './helpers.ts';

const api = { ping: () => 'pong' };

test('an instance registers one complete entry, and removes it when it closes', async () => {
  const dir = await registryDirForTest();
  try {
    const svc = await serve('thumbs', api, { registry: dir, version: '1.4.0', metadata: { zone: 'a' } });
    const files = await readdir(dir);
    assert.equal(files.filter((f) => f.endsWith('.json')), [`thumbs@${svc.id}.json`]);
    assert.not.ok(files.some((f) => f.endsWith('.tmp')), 'no temporary file left');
    const entry = JSON.parse(await readFile(join(dir, `thumbs@${svc.id}.json`), 'utf8'));
    assert.is(entry.name, 'thumbs');
    assert.is(entry.id, svc.id);
    assert.is(entry.pid, process.pid);
    assert.is(entry.address, svc.address);
    assert.is(entry.version, '1.4.0');
    assert.equal(entry.metadata, { zone: 'a' });
    assert.type(entry.startedAt, 'number');
    assert.is((await stat(join(dir, `thumbs@${svc.id}.json`))).mode & 0o777, 0o600);
    await svc.close();
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.json')), []);
  } finally {
    await removeDir(dir);
  }
});

test('names: empty, too long, path-like or odd names are refused, naming the problem', async () => {
  const cases: Array<[unknown, RegExp]> = [
    ['', /service name is empty/],
    ['a'.repeat(129), /129 characters; at most 128/],
    ['../etc', /looks like a path/],
    ['a/b', /looks like a path/],
    ['.hidden', /looks like a path/],
    ['a b', /only letters, digits/],
    [42, /must be a string, got 42/],
  ];
  for (const [name, message] of cases) {
    await rejects(() => serve(name as string, api), message, `serve(${String(name)})`);
    await rejects(() => connect({ service: name as string }), message, `connect(${String(name)})`);
  }
  await rejects(() => serve('ok', api, { versoin: '1.0.0' } as never), /serve\(\) has no option versoin \(did you mean version\?\)/);
  await rejects(() => serve('ok', api, { mxMessageSize: 1 } as never), /serve\(\) has no option mxMessageSize \(did you mean maxMessageSize\?\)/);
  await rejects(() => serve('ok', api, { version: 'one' }), /version must be a version like '1.4.0', got "one"/);
  await rejects(() => connect({ service: 'ok', version: 'banana' }), /semver range like '\^1.4'.*got "banana"/);
  await rejects(() => connect({ service: 'ok', balanse: 'x' } as never), /connect\(\) has no option balanse \(did you mean balance\?\)/);
  await rejects(() => serve('ok', api, { nats: {} }), /option nats must be a NATS connection/);
  await rejects(() => connect({ service: 'ok', nats: {} }), /option nats must be a NATS connection/);
});

test('default directory: $XDG_RUNTIME_DIR/farcall, else a private one of this user under the temp dir, refused if not private', async () => {
  const base = await registryDirForTest();
  const saved = { xdg: process.env.XDG_RUNTIME_DIR, tmp: process.env.TMPDIR, reg: process.env.FARCALL_REGISTRY_DIR };
  try {
    delete process.env.FARCALL_REGISTRY_DIR;
    process.env.XDG_RUNTIME_DIR = base;
    assert.is(registryDir(undefined), join(base, 'farcall'));
    assert.is((await stat(join(base, 'farcall'))).mode & 0o777, 0o700);
    delete process.env.XDG_RUNTIME_DIR;
    process.env.TMPDIR = join(base, 'tmp');
    await mkdir(process.env.TMPDIR);
    const mine = join(base, 'tmp', `farcall-${userInfo().username}`);
    assert.is(registryDir(undefined), mine);
    assert.is((await stat(mine)).mode & 0o777, 0o700);
    process.env.TMPDIR = join(base, 'shared');
    await mkdir(join(base, 'shared', `farcall-${userInfo().username}`), { recursive: true, mode: 0o755 });
    assert.throws(() => registryDir(undefined), /is not a private directory of this user; set FARCALL_REGISTRY_DIR/);
    process.env.FARCALL_REGISTRY_DIR = join(base, 'env');
    assert.is(registryDir(undefined), join(base, 'env'));
    assert.is(registryDir(join(base, 'option')), join(base, 'option'));
  } finally {
    for (const [k, v] of [['XDG_RUNTIME_DIR', saved.xdg], ['TMPDIR', saved.tmp], ['FARCALL_REGISTRY_DIR', saved.reg]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await removeDir(base);
  }
});

test('a SIGKILLed instance leaves a stale entry; whoever lists next removes it', async () => {
  const dir = await registryDirForTest();
  try {
    const p = await startInstances(dir, 'stale');
    const registry = new LocalRegistry(dir);
    assert.equal((await registry.list('stale')).map((i) => i.id), p.ids);
    await p.kill();
    assert.ok((await readdir(dir)).includes(`stale@${p.ids[0]}.json`), 'the killed instance could not deregister');
    assert.ok((await readdir(dir)).includes(`${p.ids[0]}.sock`), 'and its socket file');
    assert.equal(await registry.list('stale'), []);
    const left = await readdir(dir);
    assert.not.ok(left.includes(`stale@${p.ids[0]}.json`), 'the stale entry is gone');
    assert.not.ok(left.includes(`${p.ids[0]}.sock`), 'and so is the socket file it left');
  } finally {
    await removeDir(dir);
  }
});

test('a reused pid does not keep an entry alive; check() removes an entry whose socket does not answer', async () => {
  const dir = await registryDirForTest();
  try {
    const registry = new LocalRegistry(dir);
    // Our own pid, but a process start time that is not ours: the pid was reused.
    const reused = { id: 'r1', name: 'ghost', version: '1.0.0', metadata: {}, address: join(dir, 'r1.sock'), pid: process.pid, startedAt: 1, procStart: '1' };
    await writeFile(join(dir, 'ghost@r1.json'), JSON.stringify(reused));
    assert.equal(await registry.list('ghost'), []);
    // A live pid (ours, registered properly) whose socket answers nobody.
    const reg = await registry.register({ id: 'r2', name: 'ghost', version: '1.0.0', metadata: {}, address: join(dir, 'r2.sock'), pid: process.pid, startedAt: 2 });
    const [entry] = await registry.list('ghost');
    assert.is(entry?.id, 'r2');
    assert.is(await registry.check(entry!), false);
    assert.equal(await registry.list('ghost'), []);
    await reg.close();
    // Something not an entry is skipped, not fatal.
    await writeFile(join(dir, 'ghost@junk.json'), '{"half":');
    assert.equal(await registry.list('ghost'), []);
  } finally {
    await removeDir(dir);
  }
});

test('20 instances started and stopped at once, in 3 processes and this one: the registry and a watching client agree', async () => {
  const dir = await registryDirForTest();
  const local: Service[] = [];
  try {
    const registry = new LocalRegistry(dir);
    const client = await within(20_000, 'first instance', (async () => {
      local.push(await serve('crowd', api, { registry: dir }));
      return connect<typeof api>({ service: 'crowd', registry: dir });
    })());
    const [procs, more] = await within(30_000, 'starts', Promise.all([
      Promise.all(Array.from({ length: 3 }, () => startInstances(dir, 'crowd', { count: 5 }))),
      Promise.all(Array.from({ length: 4 }, () => serve('crowd', api, { registry: dir }))),
    ]));
    local.push(...more);
    const ids = [...procs.flatMap((p) => p.ids), ...local.map((s) => s.id)].sort();
    assert.is(ids.length, 20);
    assert.equal((await registry.list('crowd')).map((i) => i.id).sort(), ids);
    await until(5_000, 'the client sees all 20', () => client.instances.length === 20);
    // Stop at once: one process gracefully, one killed, this process's instances closed.
    const [graceful, killed, kept] = procs as [typeof procs[0], typeof procs[0], typeof procs[0]];
    const stops = Promise.all([graceful.stop(), killed.kill(), ...local.splice(0).map((s) => s.close())]);
    assert.is((await within(20_000, 'stops', stops))[0], 0);
    assert.equal((await registry.list('crowd')).map((i) => i.id).sort(), [...kept.ids].sort());
    await until(6_000, 'the client sees the 5 left', () => client.instances.length === 5);
    for (let i = 0; i < 10; i++) assert.is(await within(5_000, 'a call', client.api.ping()), 'pong');
    await client.close();
    await kept.stop();
    assert.equal(await registry.list('crowd'), []);
  } finally {
    await Promise.all(local.map((s) => s.close()));
    await removeDir(dir);
  }
});

test.run();

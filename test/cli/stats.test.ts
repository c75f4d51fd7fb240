// `farcall stats` run as a user runs it, against instances this process serves.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, listen, serve, type Connection, type MetricsSnapshot, type Server, type Service } from '../../src/index.ts';
import { registryDirForTest, removeDir } from '../services/helpers.ts';
import { runAll, said, type Run } from './run.ts';

const api = {
  echo: <T>(x: T): T => x,
  fail: (): never => {
    throw Object.assign(new Error('refused'), { code: 'E_REFUSED' });
  },
  nested: { deep: (): number => 1 },
};

let dir = '';
let busy: Service;
let idle: Service;
let plain: Service;
let bare: Server;
let guarded: Service;
let open: Service;
const SECRET = 'sixteen bytes or more of secret';
let conn: Connection<typeof api>;

test.before(async () => {
  dir = await registryDirForTest();
  busy = await serve('thumbs', api, { registry: dir, metrics: true, version: '1.4.0' });
  idle = await serve('thumbs', api, { registry: dir, metrics: true, version: '1.4.0' });
  plain = await serve('plain', api, { registry: dir });
  bare = await listen(api, join(dir, 'bare.sock'));
  // One service, one instance asking for a secret and one not.
  guarded = await serve('mixed', api, { registry: dir, metrics: true, auth: { secret: SECRET } });
  open = await serve('mixed', api, { registry: dir, metrics: true });
  await writeFile(join(dir, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  conn = await connect<typeof api>(busy.address as string);
  for (let i = 0; i < 3; i++) await conn.api.echo(i);
  for (let i = 0; i < 2; i++) await conn.api.fail().catch(() => {});
  await (conn.api as unknown as { nested: { deep(): Promise<number> } }).nested.deep();
});

test.after(async () => {
  await conn.close();
  await Promise.all([busy.close(), idle.close(), plain.close(), bare.close(), guarded.close(), open.close()]);
  await removeDir(dir);
});

/** The table row of `method` in `text`, as its cells. */
const row = (text: string, method: string): string[] | undefined => text.split('\n').find((l) => l.startsWith(`${method} `))?.trim().split(/\s{2,}/);

test('a table per instance: calls, errors, in flight, latency, error codes; the command\'s own $farcall calls left out', async () => {
  const [r] = (await runAll([['stats', 'thumbs']], dir)) as [Run];
  assert.is(r.code, 0, said(r));
  const [first, second] = r.stdout.split(/\n(?=thumbs {2})/);
  // Oldest first: the busy instance, then the idle one.
  assert.match(first!, new RegExp(`^thumbs {2}${busy.id} {2}pid ${process.pid} {2}v1\\.4\\.0 {2}${busy.address as string} {2}up \\d+s {2}1 client {2}0 in flight`));
  assert.match(first!, /^SERVED\s+CALLS\s+ERRORS\s+IN FLIGHT\s+P50 MS\s+P90 MS\s+P99 MS\s+MAX MS\s+ERROR CODES$/m);
  assert.equal(row(first!, 'echo')!.slice(0, 4), ['echo', '3', '0', '0']);
  const fail = row(first!, 'fail')!;
  assert.equal(fail.slice(0, 4), ['fail', '2', '2', '0']);
  assert.is(fail.at(-1), 'E_REFUSED 2');
  for (const cell of fail.slice(4, 8)) assert.match(cell, /^(-|\d+(\.\d+)?)$/);
  assert.equal(row(first!, 'nested.deep')!.slice(0, 3), ['nested.deep', '1', '0']);
  assert.match(first!, /^bytes in \d+, out \d+$/m);
  assert.not.match(r.stdout, /\$farcall/);
  assert.match(second!, new RegExp(`^thumbs {2}${idle.id} `));
  assert.match(second!, /^SERVED: no calls yet$/m);
});

test('--json: one object per instance with its info and stats; --prometheus: one exposition, each family once, every sample labelled', async () => {
  const [json, prom] = (await runAll([['stats', busy.address as string, '--json'], ['stats', 'thumbs', '--prometheus']], dir)) as [Run, Run];
  assert.is(json.code, 0, said(json));
  const [one, ...more] = JSON.parse(json.stdout) as Array<{ id: string; name: string; version: string; methods: string[]; stats: MetricsSnapshot }>;
  assert.is(more.length, 0);
  assert.is(one!.id, busy.id);
  assert.is(one!.name, 'thumbs');
  assert.equal(one!.methods, ['echo', 'fail', 'nested.deep']);
  assert.is(one!.stats.server['echo']!.calls, 3);
  assert.equal(one!.stats.server['fail']!.errorsByCode, { E_REFUSED: 2 });
  assert.equal(Object.keys(one!.stats.server).sort(), ['echo', 'fail', 'nested.deep']);

  assert.is(prom.code, 0, said(prom));
  const lines = prom.stdout.trimEnd().split('\n');
  for (const family of ['farcall_calls_total', 'farcall_errors_total', 'farcall_in_flight', 'farcall_call_duration_seconds', 'farcall_received_bytes_total']) {
    assert.is(lines.filter((l) => l === `# TYPE ${family} ${family.endsWith('total') ? 'counter' : family.endsWith('seconds') ? 'summary' : 'gauge'}`).length, 1, family);
    assert.is(lines.filter((l) => l.startsWith(`# HELP ${family} `)).length, 1, family);
  }
  assert.ok(lines.includes(`farcall_calls_total{service="thumbs",instance="${busy.id}",side="server",method="echo"} 3`), prom.stdout);
  assert.ok(lines.includes(`farcall_errors_total{service="thumbs",instance="${busy.id}",side="server",method="fail",code="E_REFUSED"} 2`), prom.stdout);
  // Both instances in the one family.
  for (const s of [busy, idle]) assert.ok(lines.some((l) => l.startsWith(`farcall_received_bytes_total{service="thumbs",instance="${s.id}"} `)), s.id);
  // Every sample line is name{labels} value, in its family's block.
  let family = '';
  for (const l of lines) {
    if (l.startsWith('# HELP ')) family = l.split(' ')[2]!;
    else if (!l.startsWith('# TYPE ')) assert.match(l, new RegExp(`^${family}(_sum|_count)?\\{[^}]*\\} [0-9.e-]+$`));
  }
  assert.not.match(prom.stdout, /\$farcall/);
});

test('an instance served without metrics, a plain listen() server, nothing listening: said plainly, exit 1 or 3', async () => {
  const [off, offJson, notService, nothing] = (await runAll([
    ['stats', 'plain'],
    ['stats', 'plain', '--json'],
    ['stats', join(dir, 'bare.sock')],
    ['stats', join(dir, 'none.sock')],
  ], dir)) as [Run, Run, Run, Run];
  assert.is(off.code, 1, said(off));
  assert.match(off.stdout, new RegExp(`^plain {2}${plain.id} `));
  assert.match(off.stdout, /metrics are off: serve it with \{ metrics: true \} to record them/);
  assert.not.match(off.stdout, /CALLS/);
  assert.is(offJson.code, 1, said(offJson));
  const [entry] = JSON.parse(offJson.stdout) as Array<{ id: string; stats: null; error: string }>;
  assert.is(entry!.id, plain.id);
  assert.is(entry!.stats, null);
  assert.match(entry!.error, /metrics are off/);
  assert.match(offJson.stderr, new RegExp(`farcall stats: plain ${plain.id}: metrics are off`));
  assert.is(notService.code, 1, said(notService));
  assert.match(notService.stdout, /answers no \$farcall\.info\(\): it was started with listen\(\), not serve\(\)/);
  assert.is(nothing.code, 3, said(nothing));
  assert.match(nothing.stderr, /farcall stats: nothing is listening at .*none\.sock/);
});

test('--secret-file reaches instances served with auth (and those without); without it they are named with the reason. Usage: a missing target, a misspelt option, --help', async () => {
  const [withSecret, without, missing, misspelt, help] = (await runAll([
    ['stats', 'mixed', '--secret-file', join(dir, 'secret')],
    ['stats', 'mixed'],
    ['stats'],
    ['stats', 'thumbs', '--jsno'],
    ['stats', '--help'],
  ], dir)) as [Run, Run, Run, Run, Run];
  assert.is(withSecret.code, 0, said(withSecret));
  for (const s of [guarded, open]) assert.match(withSecret.stdout, new RegExp(`^mixed {2}${s.id} .*\\n\\nSERVED: no calls yet$`, 'm'));
  assert.is(without.code, 1, said(without));
  assert.match(without.stdout, new RegExp(`^mixed {2}${guarded.id} .*\\n {2}refused: .* uses authentication .* \\(its secret goes in --secret-file\\)$`, 'm'));
  assert.match(without.stdout, new RegExp(`^mixed {2}${open.id} .*\\n\\nSERVED: no calls yet$`, 'm'));
  assert.is(missing.code, 2, said(missing));
  assert.match(missing.stderr, /farcall stats: stats needs a service \(or an address\)\nRun 'farcall stats --help' for the options\./);
  assert.is(misspelt.code, 2, said(misspelt));
  assert.match(misspelt.stderr, /farcall stats: unknown option '--jsno' \(did you mean --json\?\)/);
  assert.is(help.code, 0, said(help));
  assert.match(help.stdout, /^Usage: farcall stats <service\|address> \[options\]/);
  assert.match(help.stdout, /--prometheus/);
  assert.match(help.stdout, /Exit codes: 0/);
  assert.match(help.stdout, /--secret-file FILE/);
});

test.run();

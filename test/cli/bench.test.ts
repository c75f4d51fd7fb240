// `farcall bench` as a user runs it: real processes, real transports, tiny rounds.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { barLabel } from '../../src/bench/chart.ts';
import { builtPackage } from '../built-package.ts';
import { parseXml } from './xml.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'src/cli.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], execArgv: string[] = ['--import', 'tsx']): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...execArgv, file, ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Where runs that do not test --out write their files (a run always writes them), instead of the repository. */
const scratch = mkdtempSync(join(tmpdir(), 'farcall-bench-out-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
/** The smallest run that still starts every subject of a transport: one round of a few ms. */
const tiny = ['--payloads', 'empty', '--rounds', '1', '--time', '5', '--warmup', '5', '--out', scratch];

test('farcall --help lists the commands and how to get their options', async () => {
  const r = await run(cli, ['--help']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: farcall <command>/);
  assert.match(r.stdout, /^\s+bench\s+compare same-host transports/m);
  assert.match(r.stdout, /farcall <command> --help/);
});

test('farcall bench --help lists every option, transport and payload, and says how latency is sampled', async () => {
  const r = await run(cli, ['bench', '--help']);
  assert.is(r.code, 0, r.stderr);
  for (const option of ['--transports', '--payloads', '--quick', '--json', '--out', '--time', '--rounds', '--warmup', '--help']) {
    assert.ok(r.stdout.includes(option), `help mentions ${option}`);
  }
  for (const name of ['worker', 'child', 'unix', 'tcp', 'pool', 'streams', 'empty', 'obj-1k', 'obj-64k', 'buf-1m-moved', 'buf-64m']) {
    assert.match(r.stdout, new RegExp(`^\\s+${name}\\s`, 'm'), `help lists ${name}`);
  }
  assert.match(r.stdout, /plain loop/);
  assert.match(r.stdout, /tinybench/);
});

test('a bad option, a bad value or an unknown command exits 2 with a clear message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['bench', '--nope'], /farcall bench: unknown option '--nope'/],
    [['bench', '--transports', 'worker,pigeon'], /unknown transport 'pigeon'; expected one or more of: worker, child, unix, tcp, pool, sync, streams/],
    [['bench', '--payloads', 'huge'], /unknown payload 'huge'/],
    [['bench', '--time', '0'], /--time must be a whole number from 1/],
    [['bench', '--rounds', 'many'], /--rounds must be a whole number/],
    [['bench', '--out'], /argument missing/],
    [['bench', 'extra'], /unexpected argument 'extra'/],
    [['launch'], /farcall: unknown command 'launch'; commands: bench/],
    [['bench', '--payloads', 'empty', '--out', fileURLToPath(import.meta.url)], /--out cannot write to .*bench\.test\.ts/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(cli, args)));
  results.forEach((r, i) => {
    const [args, message] = cases[i]!;
    assert.is(r.code, 2, `exit code for ${args.join(' ')}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /--help' for the options/);
    assert.is(r.stdout, '', `nothing on stdout for ${args.join(' ')}`);
  });
});

test('a tiny run writes valid JSON, markdown and an SVG chart that parses', async () => {
  const out = await mkdtemp(join(tmpdir(), 'farcall-bench-test-'));
  try {
    // The stream rows ride along: a run of their own would start its processes again.
    const r = await run(cli, ['bench', '--transports', 'worker,streams', ...tiny, '--json', '--out', out]);
    assert.is(r.code, 0, r.stderr);
    // Not a terminal: plain progress lines on stderr.
    assert.match(r.stderr, /^\[1\/\d+\] worker port · raw postMessage · empty call$/m);

    const printed = JSON.parse(r.stdout);
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    assert.equal(printed, saved);
    assert.is(saved.tool, 'farcall bench');
    assert.type(saved.machine.cpu, 'string');
    assert.ok(saved.machine.cores >= 1);
    assert.match(saved.machine.node, /^v\d+/);
    assert.equal(saved.settings.inFlight, [1, 16, 1000]);
    const farcall = saved.cells.find((c: { subject: string }) => c.subject === 'worker/farcall');
    assert.ok(farcall, 'a farcall cell');
    assert.is(farcall.error, undefined);
    for (const f of [farcall.latency.p50, farcall.latency.p99, farcall.throughput['1'], farcall.throughput['16'], farcall.throughput['1000']]) {
      assert.ok(f.median > 0 && f.min <= f.median && f.median <= f.max, JSON.stringify(f));
    }
    const ratio = saved.comparisons.find((c: { subject: string }) => c.subject === 'worker/farcall');
    assert.is(ratio.vsRaw.p50.who, 'raw postMessage');
    assert.ok(ratio.vsRaw.p50.ratio > 0);

    const md = await readFile(join(out, 'results.md'), 'utf8');
    assert.match(md, /^# farcall bench/m);
    assert.match(md, /\*\*Machine:\*\* .+ CPU/);
    assert.match(md, /\| transport \| who \| p50 \(µs\) \| p99 \(µs\) \| 1 in flight \(calls\/s\)/);
    assert.match(md, /^\| worker port \| raw postMessage \| [\d.,]+ \(/m);
    assert.match(md, /^\|  \| ↳ vs raw postMessage \| [\d.]+× \|/m);

    // The stream rows: farcall beside the raw mechanism on each transport, 64 KiB chunks beside a socket copy.
    assert.is(saved.streams.error, undefined);
    for (const what of ['worker port: a number per item', 'child pipe: a number per item', 'Unix socket: a number per item', 'TCP loopback: a number per item', 'Unix socket: 64 KiB chunks']) {
      const pair = saved.streams.rows.filter((row: { what: string }) => row.what === what);
      assert.equal(pair.map((row: { role: string }) => row.role), ['raw', 'farcall'], what);
      for (const { figure: f } of pair) assert.ok(f.median > 0 && f.min <= f.median && f.median <= f.max, `${what}: ${JSON.stringify(f)}`);
    }
    assert.match(md, /^## Streams: async iterables/m);
    assert.match(md, /^\| Unix socket: 64 KiB chunks \| \*\*farcall\*\* \| [\d.,]+ \(.*\) MiB\/s \| [\d.]+× \|$/m);

    const svg = await readFile(join(out, 'chart.svg'), 'utf8');
    const xml = parseXml(svg);
    assert.is(xml.root, 'svg');
    assert.ok(xml.elements.filter((e) => e === 'rect').length > 3, 'bars');
    assert.ok(xml.texts.includes('round trip (µs, log)'), 'latency axis label');
    assert.ok(xml.texts.includes('calls/s (log)'), 'throughput axis label');
    assert.ok(xml.texts.includes('transport'), 'x axis label');
    assert.ok(xml.texts.includes('farcall') && xml.texts.includes('raw mechanism'), 'legend');
    assert.ok(xml.texts.some((t) => t.includes(saved.machine.cpu)), 'the machine');
    assert.ok(xml.texts.some((t) => t.startsWith('Measured: round trips timed unpinned')), 'how the round trips were timed');
    // Every bar carries its median, readable without hovering (a PNG or an <img> has no tooltips).
    const median = farcall.latency.p50.median as number;
    assert.ok(xml.texts.includes(barLabel({ ...farcall.latency.p50, unit: 'µs' })), `a bar labelled ${median}`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('without --out, the files go to ./farcall-bench, and the run says so', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'farcall-bench-cwd-'));
  try {
    const r = await new Promise<Run>((resolve) =>
      // tsx's own command line: `--import tsx` would be looked for in that folder.
      execFile(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), cli, 'bench', '--transports', 'worker', ...tiny.slice(0, -2)], { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? -1 : 0, stdout, stderr }),
      ),
    );
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, `wrote ${join('farcall-bench', 'results.json')}, ${join('farcall-bench', 'results.md')}, ${join('farcall-bench', 'chart.svg')}`);
    assert.match(await readFile(join(cwd, 'farcall-bench/chart.svg'), 'utf8'), /^<svg /);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});

test('--pin times the round trips again on one CPU (or says why it could not)', async () => {
  const r = await run(cli, ['bench', '--transports', 'worker', ...tiny, '--pin', '--json']);
  assert.is(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout);
  assert.is(results.settings.pinned, true);
  assert.match(r.stderr, /^\[1\/\d+\] on one CPU · worker port · raw postMessage · empty call$/m);
  const farcall = results.cells.find((c: { subject: string }) => c.subject === 'worker/farcall');
  if (results.pinNote) assert.match(results.pinNote, /taskset/);
  else assert.ok(farcall.pinned.p50.median > 0, JSON.stringify(farcall));
});

test('the sync rows: createSyncFn beside synckit and the floor, latency and CPU, on one CPU too', async () => {
  const out = await mkdtemp(join(tmpdir(), 'farcall-bench-test-'));
  try {
    const r = await run(cli, ['bench', '--transports', 'sync', '--rounds', '1', '--time', '5', '--warmup', '5', '--pin', '--json', '--out', out]);
    assert.is(r.code, 0, r.stderr);
    const { sync, cells } = JSON.parse(r.stdout);
    assert.equal(cells, []);
    assert.equal(sync.missing, []);
    for (const who of ['farcall createSyncFn', 'synckit createSyncFn', 'SharedArrayBuffer ping-pong (floor)']) {
      const f = sync.figures[who];
      for (const x of [f.p50, f.p99, f.cpu]) assert.ok(x.median > 0 && x.min <= x.median && x.median <= x.max, `${who}: ${JSON.stringify(f)}`);
      if (!JSON.parse(r.stdout).pinNote) assert.ok(sync.pinned[who].p50.median > 0, `${who} on one CPU`);
    }
    const md = await readFile(join(out, 'results.md'), 'utf8');
    assert.match(md, /^## Synchronous calls/m);
    assert.match(md, /^\| \*\*farcall createSyncFn\*\* \| [\d.,]+ \(/m);
    assert.match(md, /^\|  ↳ vs synckit createSyncFn \| [\d.]+× \|/m);
    assert.match(md, /^\|  ↳ vs SharedArrayBuffer ping-pong \(floor\) \| [\d.]+× \|/m);
    assert.not.match(md, /^## Empty call/m);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('the XML check itself rejects what is not well formed', () => {
  for (const bad of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>a & b</svg>', '<svg><text x=1>t</text></svg>', '<svg/><svg/>']) {
    assert.throws(() => parseXml(bad), undefined, bad);
  }
  assert.is(parseXml('<?xml version="1.0"?><svg><text>a &amp; b</text></svg>').texts[0], 'a & b');
});

test('the built command runs from dist without the peers installed: they are left out with a note', async () => {
  // Built the way `npm run build` builds (the build the README and module tests use too), copied into a folder where no node_modules can be found.
  const built = join(await builtPackage(), 'node_modules/farcall/dist');
  const dir = await mkdtemp(join(tmpdir(), 'farcall-dist-test-'));
  try {
    await cp(built, join(dir, 'dist'), { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'farcall', version: '0.0.0-test', type: 'module' }));
    const r = await run(join(dir, 'dist/cli.js'), ['bench', '--transports', 'worker,child,pool,sync', ...tiny, '--json'], []);
    assert.is(r.code, 0, r.stderr);
    const results = JSON.parse(r.stdout);
    assert.is(results.version, '0.0.0-test');
    assert.equal(
      results.missing.map((m: { package: string }) => m.package),
      ['comlink', 'birpc', 'piscina'],
    );
    for (const id of ['worker/farcall', 'child/farcall', 'pool/farcall', 'child/raw', 'child/ipc-advanced']) {
      const cell = results.cells.find((c: { subject: string }) => c.subject === id);
      assert.ok(cell?.latency?.p50?.median > 0, `${id} measured: ${JSON.stringify(cell)}`);
    }
    assert.equal(results.sync.missing, ['synckit createSyncFn']);
    assert.ok(results.sync.figures['farcall createSyncFn'].p50.median > 0, JSON.stringify(results.sync));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();

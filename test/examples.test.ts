// Every example runs as a user would run it, as its own process, and exits by itself.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify, stripVTControlCharacters } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ahead, limiter } from './limit.ts';

const run = promisify(execFile);

async function runExample(file: string): Promise<string> {
  const path = fileURLToPath(new URL(`../examples/${file}`, import.meta.url));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path], { timeout: 60_000 });
  return stripVTControlCharacters(stdout);
}

// The examples share nothing (each makes its own temp dir): they run two at a time, started before the first test.
const slot = limiter(2);
const runs = new Map<string, Promise<string>>();
function example(file: string): Promise<string> {
  let p = runs.get(file);
  if (!p) runs.set(file, (p = ahead(slot(() => runExample(file)))));
  return p;
}

test.before(() => {
  for (const f of ['tour.ts', 'worker/main.ts', 'sibling/main.ts', 'daemon/demo.ts', 'services/demo.ts', 'records/main.ts', 'tracing/main.ts']) void example(f);
});

test('tour (npm start): every boundary shows a callback, a transfer and an error, then the cost table', async () => {
  const out = await example('tour.ts');
  for (const boundary of ['worker thread', 'worker pool', 'child process', 'unix socket']) {
    const section = out.slice(out.indexOf(`\n${boundary}`));
    assert.match(section, 'watch(callback)      → the callback ran for ticks 1, 2, 3', boundary);
    assert.match(section, 'and here the buffer is now 0 bytes', boundary);
    assert.match(section, 'threw RangeError (E_DIV_ZERO): division by zero', boundary);
    assert.match(out, new RegExp(`\\| ${boundary}[^|]* \\| [\\d.]+ µs \\| [\\d,]+ \\|`), `${boundary} row`);
  }
});

test('worker: a call, a transfer, a callback and an error cross', async () => {
  const out = await example('worker/main.ts');
  assert.match(out, 'add(1, 2) = 3');
  assert.match(out, 'here it is 0 bytes');
  assert.match(out, 'tick 3');
  assert.match(out, 'caught RangeError (E_DIV_ZERO): division by zero');
});

test('sibling process: resize in a child, the input moved, the child closed', async () => {
  const out = await example('sibling/main.ts');
  assert.match(out, /child \d+ started from parent \d+/);
  assert.match(out, 'resize → 200×150');
  assert.match(out, 'the input here is now 0 bytes');
  assert.match(out, 'a bad width → RangeError: width must be 1..200, got 0');
  assert.match(out, 'child closed');
});

test('daemon: clients write, a watcher hears both, the daemon stops cleanly', async () => {
  const out = await example('daemon/demo.ts');
  assert.match(out, /daemon listening on \S+kv\.sock/);
  assert.match(out, 'watcher: alice:seen =');
  assert.match(out, 'watcher: bob:seen =');
  assert.match(out, 'daemon stopped (exit code 0)');
});

test('services: a client calling thumbs by name sees one instance killed and another restarted, and no failed call', async () => {
  const out = await example('services/demo.ts');
  assert.match(out, 'client: found 2 instances of thumbs');
  assert.match(out, /killed: pid \d+/);
  assert.match(out, /client: instance \w+ \(pid \d+\) is draining/);
  assert.match(out, /client: instance \w+ \(pid \d+\) joined/);
  assert.match(out, /\d+ calls, 0 failed; served by:/);
  assert.is((out.match(/^ {2}pid \d+: \d+ calls$/gm) ?? []).length, 4, 'every instance served calls');
});

test('records: a worker streams parsed records of a large file; the main thread stops early and the worker stops reading', async () => {
  const out = await example('records/main.ts');
  assert.match(out, 'generated 500,000 lines');
  assert.match(out, 'stopped at record 2321 (Lima, 9999) after 2,321 records');
  const parsed = Number(/the worker parsed ([\d,]+) of 500,000 lines/.exec(out)?.[1]?.replace(/,/g, ''));
  assert.ok(parsed >= 2321 && parsed <= 2321 + 1000, `the worker parsed ${parsed} lines`);
  assert.match(out, 'its reader closed: true');
});

test('tracing: OpenTelemetry spans from the tracing channels make one trace across a caller, a server and its worker', async () => {
  const out = await example('tracing/main.ts');
  assert.match(out, 'quadruple(5) = 20');
  assert.match(out, '4 spans in 1 trace:');
  assert.match(out, ['  client quadruple (this process)', '    server quadruple (this process)', '      client double (this process)', '        server double (worker)'].join('\n'));
});

test.run();

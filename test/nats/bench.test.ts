// `farcall bench --transports nats`: raw nc.request, farcall and Moleculer over a nats-server each subject starts.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseBenchArgs } from '../../src/bench/command.ts';
import { natsSkipReason, reportSkipped } from './server.ts';

const test = suite('nats bench');
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

test('nats is measured only when asked for: not by default, with --transports nats or all', () => {
  assert.not.ok(parseBenchArgs([]).settings.transports.includes('nats'));
  assert.equal(parseBenchArgs(['--transports', 'nats']).settings.transports, ['nats']);
  assert.ok(parseBenchArgs(['--transports', 'all']).settings.transports.includes('nats'));
});

test('a tiny run measures the three subjects over NATS, farcall against raw nc.request', async () => {
  const args = ['bench', '--transports', 'nats', '--payloads', 'empty,buf-1m', '--rounds', '1', '--time', '5', '--warmup', '5', '--json'];
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout);
  const empty = (subject: string) => r.cells.find((c: { subject: string; payload: string }) => c.subject === subject && c.payload === 'empty');
  for (const subject of ['nats/raw', 'nats/farcall', 'nats/moleculer']) {
    const cell = empty(subject);
    assert.ok(cell, subject);
    assert.is(cell.error, undefined, `${subject}: ${cell.error}`);
    assert.ok(cell.latency.p50.median > 0 && cell.throughput['1000'].median > 0, subject);
  }
  const ratio = r.comparisons.find((c: { subject: string; payload: string }) => c.subject === 'nats/farcall' && c.payload === 'empty');
  assert.is(ratio.vsRaw.p50.who, 'raw nc.request');
  // Past what one NATS message carries: not run, and said why.
  const big = r.cells.find((c: { subject: string; payload: string }) => c.subject === 'nats/farcall' && c.payload === 'buf-1m');
  assert.match(big.notRun, "max_payload");
});

if (natsSkipReason()) reportSkipped('test/nats/bench.test.ts');
else test.run();

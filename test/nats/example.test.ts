// examples/nats/demo.ts runs as a user would run it, as its own process, and exits by itself.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { natsSkipReason, reportSkipped } from './server.ts';

const test = suite('nats example');

test('nats demo: two instances share the calls; one killed mid-calls, every call is answered by the other', async () => {
  const path = fileURLToPath(new URL('../../examples/nats/demo.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path], { timeout: 60_000 });
  assert.match(stdout, /nats-server \(pid \d+\) on nats:\/\/127\.0\.0\.1:\d+/);
  assert.match(stdout, /host A serving thumbs at nats:farcall\.thumbs\.\w+/);
  assert.match(stdout, /host B serving thumbs at nats:farcall\.thumbs\.\w+/);
  assert.match(stdout, /200 calls: \d+ by host/);
  assert.match(stdout, 'host A killed with calls in flight');
  assert.match(stdout, '200 more calls, all answered: 200 by host B');
  assert.match(stdout, 'a bad width still comes back as an error: RangeError: width must be 1..4000, got 0');
  assert.match(stdout, 'instances and nats-server stopped');
});

if (natsSkipReason()) reportSkipped('test/nats/example.test.ts');
else test.run();

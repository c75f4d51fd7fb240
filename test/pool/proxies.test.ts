/**
 * A proxy a task returned and a callback passed to a task work through a
 * pool as through spawn() or wrap() (the conformance suite runs the rest),
 * in a process that nothing else keeps alive: a call on the proxy keeps its
 * worker referenced until answered, and the worker that holds the object
 * stays while the caller holds its proxy.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../fixtures/pool/proxy-caller.ts', import.meta.url));

for (const isolation of ['thread', 'process']) {
  test(`${isolation}: a returned proxy answers after an idle spell, a late callback answers, the process exits by itself`, async () => {
    // execFile rejects on a non-zero exit (an unanswered top-level await exits with 13) and kills at the timeout.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, isolation], { timeout: 30_000 });
    assert.equal(JSON.parse(stdout), { first: 1, second: 2, called: 30, exitsWhileHeld: [], exitAfterRelease: 'idle' });
  });
}

test.run();

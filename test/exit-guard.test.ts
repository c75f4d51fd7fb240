/**
 * No process exit leaves a call unanswered in silence: when the event loop
 * runs dry with calls pending (nothing keeps their channel open), they
 * reject, saying why, instead of the process ending with exit code 13 (an
 * unsettled top-level await) or 0.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const run = promisify(execFile);

test('a call pending when the process would exit rejects with ChannelClosedError, saying nothing keeps its channel open', async () => {
  const script = fileURLToPath(new URL('./fixtures/unanswered.ts', import.meta.url));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { timeout: 30_000 });
  assert.match(stdout, /^ChannelClosedError: the process was about to exit with a call to the port unanswered: nothing keeps that channel open/);
});

test.run();

// examples/offload.ts runs as a user would run it (its own process), exits by itself with
// code 0, and prints the event loop's lag for both runs.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('offload example: the same work on the main thread and on a pool, with both lags printed', async () => {
  const script = fileURLToPath(new URL('../examples/offload.ts', import.meta.url));
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
  assert.is(code, 0, `exit code ${code}; stderr:\n${stderr}`);
  const lag = (label: RegExp): number => {
    const m = stdout.match(new RegExp(`${label.source}\\s+\\d+ ms, max event-loop lag\\s+(\\d+\\.\\d) ms`));
    assert.ok(m, `no lag figure for ${label} in:\n${stdout}`);
    return Number(m[1]);
  };
  assert.ok(lag(/main thread:/) >= 0);
  assert.ok(lag(/pool \(\d+ threads?\):/) >= 0);
  assert.match(stdout, 'same results both ways: yes');
});

test.run();

import { execFile } from 'node:child_process';

/**
 * Runs a benchmark script on one CPU (`taskset -c 0`), so a round trip
 * measures the library rather than the ~45 µs cross-CPU wake-up of a small
 * VM. The script prints its result as JSON on its last line of stdout.
 * Resolves undefined when taskset is not installed.
 */
export function runPinned(script: string, args: readonly string[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      'taskset',
      ['-c', '0', process.execPath, ...process.execArgv, script, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve(undefined);
        if (err) return reject(new Error(`pinned run of ${script} failed: ${err.message}\n${stderr}`));
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last));
        } catch {
          reject(new Error(`pinned run of ${script} printed no JSON result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

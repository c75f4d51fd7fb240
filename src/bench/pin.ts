/**
 * `--pin`: the round trips timed again with every thread and process of
 * the run on one CPU. On a small VM a cross-CPU wake-up (~45 µs on 2 vCPUs)
 * dwarfs what a library adds per call, and whether two threads share a
 * CPU is the scheduler's choice, so unpinned latencies of one run can
 * differ by that much between rows. On one CPU a round trip measures the
 * library instead. This process runs itself again under `taskset -c 0`
 * (children and threads inherit it) for the latency only.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Progress, Results, Settings } from './matrix.ts';

export async function pinnedPass(s: Settings, progress: Progress): Promise<Pick<Results, 'cells' | 'sync'> | { note: string }> {
  const args = [
    ...['-c', '0', process.execPath, ...process.execArgv, process.argv[1]!, 'bench', '--latency-only', '--json'],
    ...['--transports', s.transports.join(','), '--payloads', s.payloads.join(',')],
    ...['--rounds', String(s.rounds), '--time', String(s.time), '--warmup', String(s.warmup)],
  ];
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  createInterface({ input: child.stderr }).on('line', (line) => {
    const m = /^\[(\d+)\/(\d+)\] (.*)$/.exec(line);
    if (m) progress.cell(Number(m[1]) - 1, Number(m[2]), `on one CPU · ${m[3]}`);
    else stderr = (stderr + line + '\n').slice(-4000);
  });
  const outcome = await new Promise<{ code: number | null; err?: NodeJS.ErrnoException }>((resolve) => {
    child.on('error', (err) => resolve({ code: null, err }));
    child.on('close', (code) => resolve({ code }));
  });
  if (outcome.err?.code === 'ENOENT') return { note: 'taskset was not found (it comes with util-linux on Linux): no figures on one CPU' };
  if (outcome.err || outcome.code !== 0) {
    return { note: `the run on one CPU failed (${outcome.err?.message ?? `exit code ${outcome.code}`}): ${stderr.trim().split('\n').pop() ?? ''}` };
  }
  try {
    const { cells, sync } = JSON.parse(stdout) as Results;
    return { cells, sync };
  } catch {
    return { note: 'the run on one CPU printed no results' };
  }
}

// The `farcall` command run as a user runs it: a process of its own, through a pipe or in a pseudo-terminal.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const cli = join(root, 'src/cli.ts');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a failed expectation about `r` shows. */
export const said = (r: Run): string => `exit ${r.code}, stdout: ${JSON.stringify(r.stdout)}, stderr: ${JSON.stringify(r.stderr)}`;

export function run(args: string[], registry: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, timeout: 120_000, env: { ...process.env, FARCALL_REGISTRY_DIR: registry } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Runs the command lines two at a time: each is a Node process compiling TypeScript, and the machine may be busy. */
export async function runAll(lines: string[][], registry: string): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < lines.length; i += 2) out.push(...(await Promise.all(lines.slice(i, i + 2).map((args) => run(args, registry)))));
  return out;
}

/** A command running on, its output read as it comes. */
export interface Live {
  child: ChildProcess;
  /** Everything it wrote so far (in a terminal, stdout and stderr together). */
  output(): string;
  /** Resolves once `check(output)` holds; rejects after `ms` or if the process exits first. */
  waitFor(what: string, check: (output: string) => boolean, ms?: number): Promise<void>;
  /** Resolves with the exit code; after `ms` kills the process and rejects. */
  exit(ms?: number): Promise<number | null>;
}

function live(child: ChildProcess): Live {
  let out = '';
  const watchers = new Set<() => void>();
  const take = (d: Buffer): void => {
    out += d.toString('utf8');
    for (const w of watchers) w();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    output: () => out,
    waitFor(what, check, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const done = (err?: Error): void => {
          clearTimeout(timer);
          watchers.delete(look);
          if (err) reject(err);
          else resolve();
        };
        const look = (): void => {
          if (check(out)) done();
        };
        const timer = setTimeout(() => done(new Error(`${what}: not seen after ${ms} ms; output so far:\n${JSON.stringify(out.slice(-3000))}`)), ms);
        watchers.add(look);
        void exited.then((code) => done(check(out) ? undefined : new Error(`${what}: the process exited (${code}) first; output:\n${JSON.stringify(out.slice(-3000))}`)));
        look();
      });
    },
    async exit(ms = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`still running after ${ms} ms; output:\n${JSON.stringify(out.slice(-3000))}`));
        }, ms);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** `farcall <args>` with its output to a pipe. */
export function piped(args: string[], registry: string): Live {
  return live(spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FARCALL_REGISTRY_DIR: registry } }));
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** What `stty -a` printed after the command exited, in a terminal run. */
export const SETTINGS_AFTER = '--- terminal settings after ---';

/**
 * `farcall <args>` in a pseudo-terminal (util-linux `script`), 120 columns by
 * 40 rows; what is written to `child.stdin` arrives as keys typed. After it
 * exits, the terminal's settings are printed (below SETTINGS_AFTER) and its
 * exit code passed on.
 */
export function inTerminal(args: string[], registry: string): Live {
  const command = `stty cols 120 rows 40; ${[process.execPath, '--import', 'tsx', cli, ...args].map(quote).join(' ')}; code=$?; echo '${SETTINGS_AFTER}'; stty -a; exit $code`;
  return live(spawn('script', ['-qfec', command, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FARCALL_REGISTRY_DIR: registry, SHELL: '/bin/sh' } }));
}

/** The pid of the farcall process a terminal run started (script runs a shell, which runs it). */
export function commandPid(terminal: Live): number {
  const childrenOf = (pid: number): number[] =>
    readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  for (const shell of childrenOf(terminal.child.pid!)) {
    for (const pid of childrenOf(shell)) if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cli)) return pid;
  }
  throw new Error('the farcall process of the terminal run was not found');
}

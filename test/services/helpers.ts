import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const fixture = new URL('../fixtures/service-instance.ts', import.meta.url).pathname;

export interface InstanceProcess {
  child: ChildProcess;
  pid: number;
  /** The ids of the instances it serves, in start order. */
  ids: string[];
  addresses: string[];
  /** SIGTERM: graceful close of every instance, then exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no chance to deregister; resolves once it is dead. */
  kill(): Promise<void>;
}

/** A fresh registry directory; the test removes it with `removeDir`. Short, so socket paths fit. */
export const registryDirForTest = (): Promise<string> => mkdtemp(join(tmpdir(), 'fc-reg-'));
export const removeDir = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });

/** Starts a process serving `count` instances of `name`, resolving once they are all registered (within 20 s). */
export async function startInstances(dir: string, name: string, { version = '1.0.0', count = 1 } = {}): Promise<InstanceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, name, version, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FARCALL_REGISTRY_DIR: dir },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  const lines = createInterface({ input: child.stdout! });
  const ids: string[] = [];
  const addresses: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`instances of ${name} not ready after 20 s:\n${stderr}`)), 20_000);
    lines.on('line', (line) => {
      const { id, address } = JSON.parse(line) as { id: string; address: string };
      ids.push(id);
      addresses.push(address);
      if (ids.length === count) resolve();
    });
    child.once('exit', (code) => reject(new Error(`instance process exited with ${code} before it was ready:\n${stderr}`)));
  }).finally(() => clearTimeout(timer));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    pid: child.pid!,
    ids,
    addresses,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` (a cheap look, no sleep-then-assert) until it holds, failing after `ms`. */
export async function until(ms: number, what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not true after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fails unless `fn` rejects with a message matching `message`. */
export async function rejects(fn: () => Promise<unknown>, message: RegExp, what = String(message)): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof Error) || !message.test(err.message)) throw new Error(`${what}: rejected with ${String(err)}, expected ${message}`);
    return err;
  }
  throw new Error(`${what}: did not reject`);
}

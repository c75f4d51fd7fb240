import type { Socket } from 'node:net';
import { Peer } from '../rpc/peer.ts';
import { startChild } from '../spawn.ts';
import { PortTransport } from '../transport/port.ts';
import type { PoolSettings } from './options.ts';
import { entryBeside, startThread } from './thread.ts';

/**
 * One running worker of a pool, thread or process: the connection to it and
 * how to stop it. Everything else about a worker (its tasks, its idleness)
 * is the pool's.
 */
export interface Host {
  /** threadId or pid, to name the worker in messages and events. */
  readonly id: number;
  /** "thread 3", "process 4120". */
  readonly name: string;
  readonly peer: Peer;
  /** A busy worker keeps this process alive; an idle one does not. */
  ref(): void;
  unref(): void;
  /** Stops at once; what it runs is lost. */
  kill(): Promise<void>;
  /** Stops a worker that runs nothing: a process is let go and exits by itself. */
  stop(): Promise<void>;
}

const threadEntry = entryBeside(import.meta.url, 'worker-main');

export function startHost(href: string, settings: PoolSettings): Host {
  return settings.isolation === 'process' ? processHost(href, settings) : threadHost(href, settings);
}

function threadHost(href: string, s: PoolSettings): Host {
  const worker = startThread(
    threadEntry,
    { resourceLimits: s.resourceLimits, env: s.env, argv: s.argv, execArgv: s.execArgv, workerData: s.workerData },
    href,
  );
  worker.unref();
  const terminate = async (): Promise<void> => void (await worker.terminate());
  return {
    id: worker.threadId,
    name: `thread ${worker.threadId}`,
    peer: new Peer(new PortTransport(worker), s.governor?.metrics ? { governor: { metrics: s.governor.metrics } } : undefined),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    kill: terminate,
    stop: terminate,
  };
}

function processHost(href: string, s: PoolSettings): Host {
  const { child, peer, close } = startChild(
    href,
    // SHARE_ENV is refused for processes when the options are checked.
    { args: s.argv, env: s.env as NodeJS.ProcessEnv | undefined, execArgv: [...process.execArgv, ...(s.execArgv ?? [])], stdio: ['inherit', 'inherit', 'inherit'] },
    'pool-member',
    s.governor?.metrics ? { use: [], schemas: undefined, metrics: s.governor.metrics } : undefined,
  );
  const pipe = child.stdio[3] as Socket;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A child that never started reports an error and may never report an exit.
    child.once('error', () => child.pid === undefined && resolve());
  });
  const unref = (): void => {
    child.unref();
    pipe.unref();
  };
  unref();
  return {
    id: child.pid ?? 0,
    name: `process ${child.pid ?? '(not started)'}`,
    peer,
    ref: () => {
      child.ref();
      pipe.ref();
    },
    unref,
    kill: async () => {
      // Whoever awaits destroy() waits for this exit: an unref'd child would let the process end first, in silence.
      child.ref();
      child.kill('SIGKILL');
      await exited;
    },
    stop: close,
  };
}

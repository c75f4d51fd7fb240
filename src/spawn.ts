import { spawn as spawnProcess, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe } from './codec/marks.ts';
import { ChannelClosedError } from './errors.ts';
import { checkMs, checkOptionNames, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from './options.ts';
import type { MetricsSnapshot } from './metrics/metrics.ts';
import { governedStats, peerGovernor, sideGovernor, type SideGovernor } from './rpc/govern.ts';
import { Peer } from './rpc/peer.ts';
import { createRemote, type Remote } from './rpc/remote.ts';
import { ChildTransport } from './transport/child.ts';
import { resolveModule } from './module-href.ts';
import { POOL_MEMBER_FLAG } from './pool/control.ts';
import { checkLimits, STREAM_LIMIT_OPTIONS } from './transport/socket.ts';
import { CHILD_LIMITS_ENV } from './transport/child.ts';
import { isStartFailure, type StreamLimits } from './transport/stream.ts';

/** `startTimeout` takes the place of `helloTimeout`: the child's hello comes once its module has loaded. */
export interface SpawnOptions extends PeerSettings, Omit<StreamLimits, 'helloTimeout'> {
  /** Arguments the module sees in `process.argv.slice(2)`. */
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Node's own flags for the child. Default: this process's (so a parent under tsx gives a child under tsx). */
  execArgv?: readonly string[];
  /** stdin, stdout and stderr of the child. Default 'inherit': its output is yours. */
  stdio?: 'inherit' | 'ignore' | 'pipe' | readonly ['inherit' | 'ignore' | 'pipe', 'inherit' | 'ignore' | 'pipe', 'inherit' | 'ignore' | 'pipe'];
  /** Milliseconds for the module to load and answer. Default 10,000. */
  startTimeout?: number;
  /** Milliseconds `close()` waits for the child to exit before SIGKILL. Default 5,000. */
  closeTimeout?: number;
}

/** Every option spawn() takes: add a name here when you add one to SpawnOptions. */
const SPAWN_OPTIONS = {
  ...PEER_OPTIONS,
  maxMessageSize: true,
  maxWriteBuffer: true,
  maxInFlight: true,
  maxMessageItems: true,
  args: true,
  env: true,
  cwd: true,
  execArgv: true,
  stdio: true,
  startTimeout: true,
  closeTimeout: true,
} as const satisfies OptionNames<SpawnOptions>;

/** A running child process and its API. */
export interface ChildHandle<T> {
  readonly api: Remote<T>;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Ends the channel; the child exits by itself (SIGKILL after `closeTimeout`). Resolves when it has exited. */
  close(): Promise<void>;
  /** Per-method figures of the calls made to the child (needs `metrics`). */
  stats(): MetricsSnapshot;
  /** The same in the Prometheus text exposition format, `labels` on every sample (needs `metrics`). */
  metrics(labels?: Readonly<Record<string, string>>): string;
}

const entry = new URL(import.meta.url.endsWith('.ts') ? './child-main.ts' : './child-main.js', import.meta.url);

/**
 * Starts `module` in a child Node process and returns its API: the module's
 * exports (or what it passes to `expose()`). The channel is a dedicated
 * pipe, so the child's stdout and stderr stay yours; the child exits when
 * this process closes it or dies.
 */
export async function spawn<T>(module: string | URL, options: SpawnOptions = {}): Promise<ChildHandle<T>> {
  const href = resolveModule('spawn', module);
  checkOptionNames('spawn', options, SPAWN_OPTIONS, { helloTimeout: 'startTimeout covers loading the module and its hello' });
  checkPeerSettings('spawn', options);
  checkLimits('spawn', options);
  checkMs('spawn', 'startTimeout', options.startTimeout);
  checkMs('spawn', 'closeTimeout', options.closeTimeout);
  const { args = [], execArgv = process.execArgv, stdio = 'inherit', startTimeout = 10_000, cwd } = options;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new TypeError(`spawn() option args must be an array of strings, got ${describe(args)}`);
  if (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === 'string')) {
    throw new TypeError(`spawn() option execArgv must be an array of strings, got ${describe(execArgv)}`);
  }
  const std = typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio;
  if (!Array.isArray(std) || std.length !== 3 || !std.every((s) => s === 'inherit' || s === 'ignore' || s === 'pipe')) {
    throw new TypeError(`spawn() option stdio must be 'inherit', 'ignore', 'pipe' or a list of three of those, got ${describe(stdio)}`);
  }
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd.length === 0)) throw new TypeError(`spawn() option cwd must be a directory path, got ${describe(cwd)}`);

  const governor = sideGovernor('spawn', options);
  const { child, transport, peer, close } = startChild(href, { ...options, args, execArgv, stdio: std }, 'child', governor);

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      // A failed handshake is told by the close below, which knows the exit code or the module's error.
      transport.stream.ready.catch(() => new Promise<never>(() => {})),
      new Promise<never>((_, reject) => peer.onClose((cause) => reject(startFailure(href, cause)))),
      new Promise<never>((_, reject) =>
        child.once('error', (err) => reject(new ChannelClosedError(`spawn(): could not start a process for ${href}: ${err.message}`, { cause: err }))),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ChannelClosedError(`spawn(): ${href} did not start within ${startTimeout} ms; its process (pid ${child.pid}) was killed`)),
          startTimeout,
        );
      }),
    ]);
  } catch (err) {
    peer.close();
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }

  return {
    api: createRemote<T>(peer, 0),
    process: child,
    pid: child.pid!,
    close,
    stats: () => governedStats('spawn', governor).stats(),
    metrics: (labels) => governedStats('spawn', governor).metrics(labels),
  };
}

/** A child that is starting: its peer may be called at once, the calls wait in the pipe. */
export interface StartedChild {
  readonly child: ChildProcess;
  readonly transport: ChildTransport;
  readonly peer: Peer;
  /** Ends the channel; the child exits by itself (SIGKILL after `closeTimeout`). Resolves when it has exited. */
  close(): Promise<void>;
}

type ChildSettings = Omit<SpawnOptions, 'args' | 'execArgv' | 'stdio'> & {
  args: readonly string[];
  execArgv: readonly string[];
  stdio: readonly ('inherit' | 'ignore' | 'pipe')[];
};

/**
 * Starts `href` in a child process without waiting for it to load: spawn()
 * waits for the hello, a process pool sends its first task at once. Options
 * are checked by the caller.
 */
export function startChild(href: string, options: ChildSettings, role: 'child' | 'pool-member', governor?: SideGovernor): StartedChild {
  // A URL's pathname keeps %-escapes (a space is %20), so it is not a file path.
  // The child starts in this process's cwd and moves to `cwd` itself, before
  // loading the module: Node resolves execArgv's `--import tsx` and the like
  // against the cwd, and they were written for this process's.
  const entryArgs = [fileURLToPath(entry), ...(role === 'pool-member' ? [POOL_MEMBER_FLAG] : []), href, options.cwd ?? ''];
  const child = spawnProcess(process.execPath, [...options.execArgv, ...entryArgs, ...options.args], {
    // The child's end of the pipe takes the same size limits, or it would refuse what this side allows.
    env: { ...(options.env ?? process.env), [CHILD_LIMITS_ENV]: JSON.stringify({ maxMessageSize: options.maxMessageSize, maxWriteBuffer: options.maxWriteBuffer }) },
    stdio: [...options.stdio, 'pipe'] as StdioOptions,
  });
  // The child's hello comes once its module has loaded; the caller's start timeout bounds that wait.
  const transport = new ChildTransport(child, { ...options, helloTimeout: Infinity });
  const peer = new Peer(transport, {
    timeout: options.timeout,
    transferHandlers: options.transferHandlers,
    maxInFlight: options.maxInFlight,
    streamWindow: options.streamWindow,
    governor: peerGovernor('client', governor),
  });
  // A child that cannot be started (no memory, no pids left) reports it here, not by exiting;
  // without a listener it would be an uncaught exception in this process.
  child.on('error', (err) => peer.close(new ChannelClosedError(`the child process failed: ${err.message}`, { cause: err })));

  const closeTimeout = options.closeTimeout ?? 5000;
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    peer.close(new ChannelClosedError('the child process was closed'));
    const kill = setTimeout(() => child.kill('SIGKILL'), closeTimeout);
    await exited;
    clearTimeout(kill);
  };
  return { child, transport, peer, close: () => (closing ??= close()) };
}

function startFailure(href: string, cause: Error): Error {
  if (isStartFailure(cause)) {
    // The module's own error is the cause, not our wrapper around it.
    const thrown = cause.cause;
    const message = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    return new ChannelClosedError(`spawn(): ${href} failed to start: ${message}`, { cause: thrown });
  }
  return new ChannelClosedError(`spawn(): ${href} failed to start: ${cause.message}`, { cause });
}

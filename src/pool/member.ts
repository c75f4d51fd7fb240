import type { Worker } from 'node:worker_threads';
import { Peer } from '../rpc/peer.ts';
import { PortTransport } from '../transport/port.ts';
import type { PoolOptions } from './pool.ts';
import { entryBeside, startThread } from './thread.ts';

const entry = entryBeside(import.meta.url, 'worker-main');

/**
 * One thread of a pool: its worker, the peer that talks to it, and how many
 * of the pool's tasks it holds. An idle thread is unref'd, so an open pool
 * with nothing to do does not keep the process alive.
 */
export class Member {
  readonly worker: Worker;
  readonly peer: Peer;
  busy = 0;
  alive = true;
  private idleTimer: NodeJS.Timeout | undefined;
  private busySince = 0;
  private busyTotal = 0;

  constructor(href: string, options: PoolOptions, onLost: (cause: Error) => void) {
    this.worker = startThread(
      entry,
      {
        resourceLimits: options.resourceLimits,
        env: options.env,
        argv: options.argv,
        execArgv: options.execArgv,
        workerData: options.workerData,
      },
      href,
    );
    this.worker.unref();
    this.peer = new Peer(new PortTransport(this.worker));
    this.peer.onClose((cause) => {
      this.alive = false;
      clearTimeout(this.idleTimer);
      onLost(cause);
    });
  }

  started(): void {
    if (this.busy++ === 0) {
      this.busySince = performance.now();
      clearTimeout(this.idleTimer);
      this.worker.ref();
    }
  }

  /** A task ended; with `idleTimeout`, an idle thread stops after that long. */
  finished(idleTimeout: number | undefined): void {
    if (--this.busy > 0) return;
    this.busyTotal += performance.now() - this.busySince;
    if (!this.alive) return;
    this.worker.unref();
    if (idleTimeout !== undefined) {
      this.idleTimer = setTimeout(() => void this.terminate(), idleTimeout);
      this.idleTimer.unref();
    }
  }

  /** Milliseconds this thread has held at least one task. */
  busyMs(): number {
    return this.busyTotal + (this.busy > 0 ? performance.now() - this.busySince : 0);
  }

  async terminate(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    await this.worker.terminate();
  }
}

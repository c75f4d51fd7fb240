/**
 * A server's connections as a whole: how many it may hold, which are idle,
 * and which to let go when it is full. A connection is idle when nothing
 * was read from it lately and it has no call in flight and no handle held
 * either way; a client that wants to stay connected while idle pings
 * (connect() does by itself).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ChannelClosedError } from './errors.ts';
import type { Peer } from './rpc/peer.ts';
import type { StreamTransport } from './transport/stream.ts';

interface Entry {
  peer: Peer;
  transport: StreamTransport;
  /** `transport.received` when last looked at. */
  seen: number;
  /** When bytes last arrived, or a call or handle last kept it in use (ms, performance.now()). */
  lastActive: number;
}

export class Connections {
  private readonly entries = new Map<Peer, Entry>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly maxConnections: number,
    readonly idleTimeout: number,
  ) {
    if (idleTimeout > 0) {
      // A quarter of the timeout between looks: a connection closes between 1 and 1.25 timeouts after it went quiet.
      this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, idleTimeout / 4)));
      this.sweeper.unref();
    }
  }

  get size(): number {
    return this.entries.size;
  }

  add(peer: Peer, transport: StreamTransport): void {
    this.entries.set(peer, { peer, transport, seen: 0, lastActive: performance.now() });
  }

  remove(peer: Peer): void {
    this.entries.delete(peer);
  }

  /**
   * Makes room for one more connection: true when there is room, once the
   * connection idle longest has been let go if the server was full.
   */
  makeRoom(): boolean {
    if (this.entries.size < this.maxConnections) return true;
    return this.shedOne(`the server is full (maxConnections ${this.maxConnections}) and this connection was the longest idle`);
  }

  /** Lets go of the connection idle longest, if one is idle; says whether one was. */
  shedOne(why: string): boolean {
    this.refresh();
    let idlest: Entry | undefined;
    for (const e of this.entries.values()) {
      if (!e.peer.isBusy && (idlest === undefined || e.lastActive < idlest.lastActive)) idlest = e;
    }
    if (idlest === undefined) return false;
    this.entries.delete(idlest.peer);
    idlest.peer.close(new ChannelClosedError(why));
    return true;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private refresh(): void {
    const now = performance.now();
    for (const e of this.entries.values()) {
      if (e.transport.received !== e.seen || e.peer.isBusy) {
        e.seen = e.transport.received;
        e.lastActive = now;
      }
    }
  }

  private sweep(): void {
    this.refresh();
    const now = performance.now();
    for (const e of [...this.entries.values()]) {
      if (now - e.lastActive >= this.idleTimeout) {
        this.entries.delete(e.peer);
        e.peer.close(new ChannelClosedError(`closed after ${this.idleTimeout} ms with nothing received, no call in flight and no handle held (idleTimeout)`));
      }
    }
  }
}

/**
 * The default maxConnections: three quarters of the process's limit on open
 * descriptors, the rest left for the application's own files. Node has no
 * getrlimit; Linux says it in /proc, elsewhere the shell's `ulimit -n` does.
 */
export function defaultMaxConnections(): number {
  const limit = descriptorLimit();
  return Number.isFinite(limit) ? Math.max(1, Math.floor(limit * 0.75)) : Infinity;
}

function descriptorLimit(): number {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line) return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    // Not Linux.
  }
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2000 }).trim();
    return out === 'unlimited' ? Infinity : Number(out) || 1024;
  } catch {
    return 1024;
  }
}

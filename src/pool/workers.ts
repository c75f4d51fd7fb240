import { Member } from './member.ts';
import type { PoolSettings } from './options.ts';

/**
 * The pool's workers and which of them takes the next task. 'live' workers
 * take tasks and count towards maxThreads; retiring ones finish what they
 * hold, so a recycled worker's replacement may start before it has gone.
 */
export class Workers {
  readonly all: Member[] = [];

  constructor(
    private readonly href: string,
    private readonly settings: PoolSettings,
    private readonly onLost: (m: Member, cause: Error) => void,
    private readonly onIdle: (m: Member) => void,
  ) {}

  /** An idle worker, else a new one while there is room for more, else the least busy with room. */
  pick(): Member | undefined {
    let best: Member | undefined;
    let live = 0;
    for (const m of this.all) {
      if (m.state !== 'live') continue;
      live++;
      if (m.busy === 0) return m;
      if (!best || m.busy < best.busy) best = m;
    }
    if (live < this.settings.maxThreads) return this.start();
    return best && best.busy < this.settings.perWorker ? best : undefined;
  }

  /** Any live worker, full or not (a new one if there is none). */
  leastBusy(): Member {
    let best: Member | undefined;
    for (const m of this.all) if (m.state === 'live' && (!best || m.busy < best.busy)) best = m;
    return best ?? this.start();
  }

  /** Throws what starting a thread throws (a flag Node refuses for threads, say). */
  start(): Member {
    const m = new Member(this.href, this.settings, (lost, cause) => {
      const i = this.all.indexOf(lost);
      if (i >= 0) this.all.splice(i, 1);
      this.onLost(lost, cause);
    }, this.onIdle);
    this.all.push(m);
    return m;
  }

  get live(): number {
    let n = 0;
    for (const m of this.all) if (m.state === 'live') n++;
    return n;
  }

  busyMs(): number {
    let ms = 0;
    for (const m of this.all) ms += m.busyMs();
    return ms;
  }
}

const settled = Promise.resolve();
/** Most microtask hops a batch waits for more messages. */
const MAX_QUIET_HOPS = 8;

/**
 * Runs `flush` once a microtask hop passes with nothing new queued. Calls
 * made from the callbacks of replies arrive over several hops (each promise
 * layer is one); flushing at the first hop would split them into ever
 * smaller batches under steady load, while a lone call waits one hop more.
 * (A resolved promise rather than queueMicrotask, which makes an
 * AsyncResource per use.)
 */
export class QuietFlush {
  private scheduled = false;
  private seen = 0;
  private hops = 0;

  constructor(
    private readonly queued: () => number,
    private readonly flush: () => void,
  ) {}

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.seen = 0;
    this.hops = 0;
    void settled.then(this.hop);
  }

  private readonly hop = (): void => {
    const n = this.queued();
    if (n > this.seen && this.hops < MAX_QUIET_HOPS) {
      this.seen = n;
      this.hops++;
      void settled.then(this.hop);
      return;
    }
    this.scheduled = false;
    this.flush();
  };
}

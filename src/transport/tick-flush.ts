const settled = Promise.resolve();

/**
 * Runs `flush` once, after the code that queued the first message has
 * finished its tick: the messages of one tick leave together. A resolved
 * promise rather than queueMicrotask, which makes an AsyncResource per use.
 */
export class TickFlush {
  private scheduled = false;

  constructor(private readonly flush: () => void) {}

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void settled.then(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.flush();
  };
}

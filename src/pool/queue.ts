/**
 * The pool's waiting tasks: a FIFO behind a small interface, so another
 * policy (priorities, say) can replace it.
 *
 * A ring buffer over a power-of-two array: push and shift are O(1) and
 * allocate nothing until the ring fills, when it doubles.
 *
 *      head              tail
 *        v                 v
 *   [ . | a | b | c | d | . | . | . ]     size 4, capacity 8
 *
 * An aborted task is not spliced out (O(n)); it is marked and skipped when
 * it reaches the head, and `size` counts only live tasks.
 */
export interface TaskQueue<T> {
  readonly size: number;
  push(item: T): void;
  /** The oldest live item, or undefined. */
  shift(): T | undefined;
  /** Drops `item` if it is still waiting; true if it was. */
  remove(item: T): boolean;
}

export class RingQueue<T extends object> implements TaskQueue<T> {
  private ring: Array<T | undefined> = new Array(16);
  private head = 0;
  private length = 0;
  private readonly removed = new WeakSet<T>();
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(item: T): void {
    if (this.length === this.ring.length) this.grow();
    this.ring[(this.head + this.length) & (this.ring.length - 1)] = item;
    this.length++;
    this.live++;
  }

  shift(): T | undefined {
    while (this.length > 0) {
      const item = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) & (this.ring.length - 1);
      this.length--;
      if (this.removed.has(item)) {
        this.removed.delete(item);
        continue;
      }
      this.live--;
      return item;
    }
    return undefined;
  }

  remove(item: T): boolean {
    if (this.removed.has(item)) return false;
    for (let i = 0; i < this.length; i++) {
      if (this.ring[(this.head + i) & (this.ring.length - 1)] === item) {
        this.removed.add(item);
        this.live--;
        return true;
      }
    }
    return false;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.ring.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.ring[(this.head + i) & (this.ring.length - 1)];
    this.ring = next;
    this.head = 0;
  }
}

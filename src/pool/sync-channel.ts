/**
 * The shared memory between a createSyncFn() caller and its worker: a
 * header of Int32 slots, then one area for a request and one for a reply.
 * A message travels in its area when the compact codec takes it (what it
 * takes it reproduces exactly as structured clone would; anything else it
 * declines) and it fits; otherwise it goes over the MessagePort as before,
 * and the header says so. sync.ts describes the protocol.
 */
import { appendCompact, type Output } from '../codec/compact-encode.ts';
import { decodeCompact } from '../codec/compact-decode.ts';

/**
 * Slots of the shared Int32Array, grouped by who writes them into cache
 * lines of their own (16 slots apart): a side spinning on one slot is not
 * disturbed by the other side's writes to another group.
 */
export const Slot = {
  /** 1 once the worker has loaded the module (or failed to). */
  Ready: 0,
  /** 1 while the worker sleeps in its event loop: a request must then ring it over the port. */
  Parked: 1,
  /** 1 once the worker is exiting; its reason is on the port. */
  Dead: 2,

  /** The request mailbox, written by the caller: 0 empty (the caller may fill it), 1 full, 2 being taken by the worker. */
  ReqFull: 16,
  ReqId: 17,
  /** Bytes of the request in its area; -1: the request went over the port. */
  ReqLen: 18,
  /** 1: the caller spins for this reply, so a caller calling in a loop will call again at once. */
  ReqSpins: 19,
  /** Microseconds from the caller's last answer to this request: what the worker's spin would have to cover. */
  ReqGap: 20,

  /** Bumped by the worker after every reply it makes (in its area or on the port) and once loaded. */
  Seq: 32,
  /** The reply mailbox: 1 while a reply is in its area, until the caller has read it. */
  RepFull: 33,
  RepId: 34,
  RepKind: 35,
  RepLen: 36,
} as const;

export const SLOTS = 48;
const HEADER_BYTES = SLOTS * 4;
/**
 * Bytes of each area. Larger messages take the port, where copying them
 * costs more than the wake-up the area saves.
 */
export const AREA_BYTES = 64 * 1024;

export const channelBytes = (): number => HEADER_BYTES + 2 * AREA_BYTES;

/** The most messages in a row that take the port untried after big ones. */
const MAX_SKIP = 64;

/** What travels on the port instead of a request, to wake a parked worker. */
export const DOORBELL = 0;

/**
 * One thread's view of an area. Each side writes only into the area the
 * other reads, and only while that area's mailbox is empty; it reads only
 * while the mailbox is full, so the two never touch the same bytes at once.
 */
export class Area {
  private readonly bytes: Uint8Array;
  /**
   * A message found too big only once encoded was encoded for nothing (the
   * port clones it again): after one, the next `skip` messages take the port
   * without trying, a gap that doubles while they keep being too big, since
   * the messages of one function tend to be alike.
   */
  private skip = 0;
  private gap = 1;

  constructor(sab: SharedArrayBuffer, which: 'request' | 'reply') {
    this.bytes = new Uint8Array(sab, HEADER_BYTES + (which === 'request' ? 0 : AREA_BYTES), AREA_BYTES);
  }

  /**
   * Writes `items` (an array this module's callers built) into the area;
   * returns its length in bytes, or -1 when the items must take the port:
   * too big, or holding what the compact codec leaves to structured clone.
   * A getter's error propagates.
   */
  write(items: unknown[]): number {
    if (obviouslyLarge(items)) return -1;
    if (this.skip > 0) return (this.skip--, -1);
    out.pos = 0;
    if (!appendCompact(out, items, 0)) return -1;
    const n = out.pos;
    // One big message does not keep a big scratch buffer.
    if (out.buf.length > 2 * AREA_BYTES) out.buf = Buffer.allocUnsafeSlow(AREA_BYTES);
    if (n > AREA_BYTES) {
      this.skip = this.gap;
      this.gap = Math.min(2 * this.gap, MAX_SKIP);
      return -1;
    }
    this.gap = 1;
    copy(out.buf, this.bytes, n);
    return n;
  }

  /** The items written into the area, `n` bytes; copied out first, so nothing read aliases shared memory. */
  read(n: number): unknown[] {
    copy(this.bytes, local, n);
    return decodeCompact(local, [], 0, n) as unknown[];
  }
}

/** Where messages are encoded before they are copied into an area (per thread, as the encoder is). */
const out: Output & { start: 0 } = { buf: Buffer.allocUnsafeSlow(AREA_BYTES), start: 0, pos: 0 };
/** Where a message is copied out of an area to be decoded. */
const local = Buffer.allocUnsafeSlow(AREA_BYTES);

/** A top-level string or buffer that cannot fit: skip encoding it only to find that out. */
function obviouslyLarge(items: unknown[]): boolean {
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (typeof v === 'string' ? v.length > AREA_BYTES : ArrayBuffer.isView(v) ? v.byteLength > AREA_BYTES : v instanceof ArrayBuffer && v.byteLength > AREA_BYTES) {
      return true;
    }
  }
  return false;
}

/** Small messages are copied byte by byte: a subarray to copy them whole costs more. */
function copy(from: Uint8Array, to: Uint8Array, n: number): void {
  if (n > 64) to.set(from.subarray(0, n), 0);
  else for (let i = 0; i < n; i++) to[i] = from[i]!;
}

/** Calls between probes while a side has stopped spinning: the gap doubles from the first to the last. */
const PROBE_FIRST = 16;
const PROBE_LAST = 256;
/**
 * Calls one probe spins for. A probe pays only when both sides spin: the
 * caller's first probing call may find the worker asleep (which then spins
 * after answering it, as the caller spun), the second finds it spinning.
 */
const PROBE_CALLS = 2;
/** A spin shorter than this is not worth its clock reads: stop instead. */
const SPIN_LEAST_US = 2;

/**
 * How long one side spins before it sleeps, adapted to what spinning has
 * been finding. A spin that catches the other side keeps the full bound; one
 * that runs out halves it, down to none: when the function is slow, the
 * caller is slow to call again, or the machine is so busy that the other
 * thread is off its CPU (where a spinning thread also loses the scheduler's
 * preference for threads that slept), spinning costs CPU and saves nothing.
 * Once stopped, a side probes now and then (spins again for a call or two)
 * to find out whether it pays again, less often the longer it does not.
 */
export class SpinBudget {
  private us: number;
  private probeIn = 0;
  private probeGap = PROBE_FIRST;
  /** Calls left in the current probe. */
  private probing = 0;
  /** Whether the spin `next()` gave is a probe. */
  private probe = false;

  constructor(private readonly maxUs: number) {
    this.us = maxUs;
  }

  /** Microseconds to spin this time. */
  next(): number {
    this.probe = false;
    if (this.us > 0 || this.maxUs === 0) return this.us;
    if (this.probing === 0) {
      if (--this.probeIn > 0) return 0;
      this.probing = PROBE_CALLS;
    }
    this.probe = true;
    return this.maxUs;
  }

  /** What a spin of `next()`'s length (not 0) found. */
  spun(caught: boolean): void {
    if (caught) {
      this.us = this.maxUs;
      this.probeGap = PROBE_FIRST;
      this.probing = 0;
    } else if (this.probe) {
      if (--this.probing === 0) this.stop();
    } else if (this.us >= 2 * SPIN_LEAST_US) {
      this.us /= 2;
    } else {
      this.stop();
    }
  }

  private stop(): void {
    this.us = 0;
    this.probeIn = this.probeGap;
    this.probeGap = Math.min(2 * this.probeGap, PROBE_LAST);
  }
}

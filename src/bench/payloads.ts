/** What one bench call carries to the other side and back. */
export interface Payload {
  id: string;
  label: string;
  kind: 'empty' | 'object' | 'buffer';
  /** Bytes of the value: the ArrayBuffer's length, or an object's length as JSON. */
  bytes: number;
  /** An ArrayBuffer moved with a transfer list both ways instead of copied. */
  moved: boolean;
  /** The copied payload of the same size (moved payloads only). */
  copied?: string;
  /** A fresh value to send (a buffer's contents are a pattern, so the echo can be checked). */
  make(): unknown;
}

const KiB = 1024;
const MiB = 1024 * KiB;

const record = (i: number): object => ({ id: i, name: `record ${i}`, active: i % 3 === 0, score: i * 0.25, tags: ['alpha', 'beta'] });

/** Records needed for each size asked for (sizing takes JSON.stringify; building afterwards does not). */
const counts = new Map<number, number>();

/** An array of small records whose JSON is at least `bytes` long: the shape of an API response. A fresh object each time. */
export function objectOf(bytes: number): { items: object[] } {
  let count = counts.get(bytes);
  if (count === undefined) {
    let size = JSON.stringify({ items: [] }).length;
    for (count = 0; size < bytes; count++) size += JSON.stringify(record(count)).length + (count > 0 ? 1 : 0);
    counts.set(bytes, count);
  }
  const items: object[] = new Array(count);
  for (let i = 0; i < count; i++) items[i] = record(i);
  return { items };
}

export function bufferOf(bytes: number): ArrayBuffer {
  const buf = new ArrayBuffer(bytes);
  const view = new Uint8Array(buf);
  for (let i = 0; i < bytes; i += 4096) view[i] = (i >> 12) & 0xff;
  view[bytes - 1] = 0xa5;
  return buf;
}

function object(id: string, label: string, bytes: number): Payload {
  const size = JSON.stringify(objectOf(bytes)).length;
  return { id, label, kind: 'object', bytes: size, moved: false, make: () => objectOf(bytes) };
}

function buffer(id: string, label: string, bytes: number, moved: boolean, copied?: string): Payload {
  return { id, label, kind: 'buffer', bytes, moved, ...(copied ? { copied } : {}), make: () => bufferOf(bytes) };
}

export const PAYLOADS: readonly Payload[] = [
  { id: 'empty', label: 'empty call', kind: 'empty', bytes: 0, moved: false, make: () => undefined },
  object('obj-1k', '1 KiB object', KiB),
  object('obj-64k', '64 KiB object', 64 * KiB),
  buffer('buf-1m', '1 MiB ArrayBuffer, copied', MiB, false),
  buffer('buf-1m-moved', '1 MiB ArrayBuffer, transferred', MiB, true, 'buf-1m'),
  buffer('buf-64m', '64 MiB ArrayBuffer, copied', 64 * MiB, false),
  buffer('buf-64m-moved', '64 MiB ArrayBuffer, transferred', 64 * MiB, true, 'buf-64m'),
];

/** "1,032 B", "64 KiB", "1 MiB". */
export function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n.toLocaleString('en-US')} B`;
}

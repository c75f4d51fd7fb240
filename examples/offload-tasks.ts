// The CPU work examples/offload.ts runs twice: on the main thread, then on a pool.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface Packed {
  /** Bytes after gzip -9. */
  bytes: number;
  /** sha256 of the gzipped bytes, so both runs can be checked against each other. */
  sha256: string;
}

/** gzip -9 one chunk and hash the result: tens of milliseconds of CPU per MiB. */
export function pack(chunk: Uint8Array): Packed {
  const gz = gzipSync(chunk, { level: 9 });
  return { bytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex') };
}

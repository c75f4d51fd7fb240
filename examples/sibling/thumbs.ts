// A plain module: spawn() exposes its exports in a child process. It needs no
// farcall import (calling expose() yourself works too).
import { deflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** One byte per pixel, row by row. */
  pixels: Uint8Array;
}

/** Box-filter downscale of a grayscale image to `width` (height keeps the ratio). */
export function resize(img: Image, width: number): Image {
  if (!(width > 0 && width <= img.width)) throw new RangeError(`width must be 1..${img.width}, got ${width}`);
  const scale = img.width / width;
  const height = Math.max(1, Math.round(img.height / scale));
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * scale);
    const y1 = Math.min(img.height, Math.floor((y + 1) * scale));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * scale);
      const x1 = Math.min(img.width, Math.floor((x + 1) * scale));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += img.pixels[yy * img.width + xx]!;
      out[y * width + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return { width, height, pixels: out };
}

/** What it costs to store: the compressed size. */
export const compressedSize = (img: Image): number => deflateSync(img.pixels).length;

/** Which process did the work. */
export const pid = (): number => process.pid;

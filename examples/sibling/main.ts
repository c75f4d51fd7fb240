// Run with: npx tsx examples/sibling/main.ts
// Calls a module in a sibling process: its own heap and event loop, its own
// crash domain; the call looks like a local async call.
import { spawn, transfer } from 'farcall';
import type * as Thumbs from './thumbs.ts';

const child = await spawn<typeof Thumbs>(new URL('./thumbs.ts', import.meta.url));
console.log(`child ${await child.api.pid()} started from parent ${process.pid}`);

// A 2048×1536 gradient; its buffer moves to the child instead of being copied.
const width = 2048;
const height = 1536;
const pixels = new Uint8Array(width * height);
for (let i = 0; i < pixels.length; i++) pixels[i] = ((i % width) + Math.floor(i / width)) & 0xff;

const t = performance.now();
const thumb = await child.api.resize(transfer({ width, height, pixels }, [pixels.buffer]), 200);
console.log(`resize → ${thumb.width}×${thumb.height} in ${(performance.now() - t).toFixed(1)} ms; the input here is now ${pixels.byteLength} bytes (moved)`);
console.log(`thumbnail compresses to ${await child.api.compressedSize(thumb)} bytes`);

try {
  await child.api.resize(thumb, 0);
} catch (err) {
  console.log(`a bad width → ${(err as Error).name}: ${(err as Error).message}`);
}

await child.close();
console.log('child closed; this process now exits by itself');

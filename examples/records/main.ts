// Run with: npx tsx examples/records/main.ts
// A worker parses a large file and streams the records to this thread, which stops early.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseProxy, startWorker, wrap } from 'farcall';
import type { api } from './records.worker.ts';

const LINES = 500_000;
const cities = ['Oslo', 'Lima', 'Pune', 'Nice', 'Kyiv'];
const dir = mkdtempSync(join(tmpdir(), 'farcall-records-'));
const file = join(dir, 'sales.csv');
const rows: string[] = [];
for (let i = 1; i <= LINES; i++) rows.push(`${i},${cities[i % cities.length]},${(i * 7919) % 10_000}`);
writeFileSync(file, rows.join('\n'));
console.log(`generated ${LINES.toLocaleString('en-US')} lines in ${file}`);

const worker = startWorker(new URL('./records.worker.ts', import.meta.url));
const sales = wrap<typeof api>(worker);

// Wanted: the total of Oslo's sales until the first sale of 9,999 or more.
let total = 0;
let seen = 0;
for await (const sale of await sales.records(file)) {
  seen++;
  if (sale.amount >= 9_999) {
    console.log(`stopped at record ${sale.id} (${sale.city}, ${sale.amount}) after ${seen.toLocaleString('en-US')} records; Oslo's total ${total}`);
    break; // ends the worker's generator: its finally closes the file
  }
  if (sale.city === 'Oslo') total += sale.amount;
}

const { parsed, closed } = await sales.progress();
console.log(`the worker parsed ${parsed.toLocaleString('en-US')} of ${LINES.toLocaleString('en-US')} lines (at most a window of 1,000 ahead of this thread); its reader closed: ${closed}`);

sales[releaseProxy]();
await worker.terminate();
rmSync(dir, { recursive: true });

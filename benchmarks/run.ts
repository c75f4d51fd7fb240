// `npm run bench`: every section, one run, tables with ratios taken in that run.
import { availableParallelism, cpus } from 'node:os';
import { core } from './core.ts';
import { pool } from './pool.ts';
import { streams } from './streams.ts';
import { iterables } from './iterables.ts';
import { nats } from './nats.ts';
import { services } from './services.ts';
import { govern } from './govern.ts';

const sections: Record<string, () => Promise<string>> = { core, streams, iterables, pool, nats, services, govern };
const only = process.argv.slice(2);
console.log(`# farcall benchmarks\n\n${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs, Node ${process.version}\n`);
for (const [name, run] of Object.entries(sections)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(await run());
}

import { createPool } from '../../src/index.ts';
import { runConformance, type ConformanceApi } from './harness.ts';

// A pool is a transport for what crosses it: values, errors, callbacks, proxies returned from
// tasks. Its workers' crashes are the pool's own tests' (a crashed worker is replaced).
for (const isolation of ['thread', 'process'] as const) {
  runConformance({
    name: `pool (${isolation})`,
    transfers: true,
    crashes: false,
    knowsExitCause: true,
    peerTables: false,
    async open() {
      // One worker, so what a case keeps on the serving side (a release count, say) is in one place.
      const pool = createPool<ConformanceApi>(new URL('./api.ts', import.meta.url), { isolation, minThreads: 1, maxThreads: 1 });
      return { api: pool.api, close: () => pool.destroy() };
    },
  });
}

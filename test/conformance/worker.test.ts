import { releaseProxy, wrap } from '../../src/index.ts';
import { tsWorker } from '../fixtures/ts-worker.ts';
import { runConformance, type ConformanceApi } from './harness.ts';

runConformance({
  name: 'worker',
  transfers: true,
  crashes: true,
  knowsExitCause: true,
  async open() {
    const worker = tsWorker(new URL('./api.worker.ts', import.meta.url));
    const api = wrap<ConformanceApi>(worker);
    return {
      api,
      async close() {
        api[releaseProxy]();
        await worker.terminate();
      },
      async terminate() {
        await worker.terminate();
      },
    };
  },
});

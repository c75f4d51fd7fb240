import { spawn } from '../../src/index.ts';
import { runConformance, type ConformanceApi } from './harness.ts';

runConformance({
  name: 'child process',
  transfers: true,
  crashes: true,
  knowsExitCause: true,
  async open() {
    // The crash cases make the child print its uncaught error; keep test output readable.
    const child = await spawn<ConformanceApi>(new URL('./api.ts', import.meta.url), { stdio: ['ignore', 'inherit', 'ignore'] });
    return {
      api: child.api,
      close: () => child.close(),
      async terminate() {
        child.process.kill('SIGKILL');
      },
    };
  },
});

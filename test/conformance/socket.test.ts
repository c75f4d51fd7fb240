import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/index.ts';
import { startServerProcess } from '../fixtures/server-process.ts';
import { runConformance, type ConformanceApi } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'farcall-'));
let n = 0;

for (const [name, where] of [
  ['unix socket', () => join(dir, `s${n++}.sock`)],
  ['tcp', () => 'tcp'],
] as const) {
  runConformance({
    name,
    transfers: true,
    crashes: true,
    knowsExitCause: false,
    async open() {
      const server = await startServerProcess(where());
      const conn = await connect<ConformanceApi>(server.address);
      return {
        api: conn.api,
        async close() {
          await conn.close();
          await server.stop();
        },
        terminate: () => server.stop(),
      };
    },
  });
}

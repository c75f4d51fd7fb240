// comlink over a worker thread, serving the bench API (loaded only when comlink is installed).
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../comlink-endpoint.ts';

Comlink.expose(
  {
    ping(): void {},
    echo: <T>(value: T): T => value,
    echoMoved: (buf: ArrayBuffer): ArrayBuffer => Comlink.transfer(buf, [buf]),
  },
  nodeEndpoint(parentPort!),
);

import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
Comlink.expose({ add: (a, b) => a + b, echo: (v) => v }, nodeEndpoint(parentPort));

// A worker of farcall's build serving add(), with metrics when workerData.metrics says so.
import { workerData } from 'node:worker_threads';
import { expose, Metrics } from '../../dist/index.js';
expose({ add: (a, b) => a + b }, undefined, workerData?.metrics ? { metrics: new Metrics() } : undefined);

// A worker of farcall's build (or the copy named by workerData.build) serving add(), with metrics when workerData.metrics says so.
import { workerData } from 'node:worker_threads';
const { expose, Metrics } = await import(workerData?.build ?? '../../dist/index.js');
expose({ add: (a, b) => a + b }, undefined, workerData?.metrics ? { metrics: new Metrics() } : undefined);

// A worker thread serving the bench API with expose().
import { parentPort } from 'node:worker_threads';
import { expose } from '../../index.ts';
import * as api from './api.ts';

expose({ ...api }, parentPort!);

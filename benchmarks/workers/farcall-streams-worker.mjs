// The benchmark API in a worker, from farcall's build.
import { expose } from '../../dist/index.js';
import * as api from './api.mjs';
expose({ ...api });

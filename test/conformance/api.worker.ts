import { expose } from '../../src/index.ts';
import * as api from './api.ts';

expose({ ...api });

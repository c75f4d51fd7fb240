import { expose } from 'farcall';
import * as api from './api.ts';
expose({ ...api });

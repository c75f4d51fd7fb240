// Serves `math` to whoever started this worker, this child process or this pool thread.
import { expose } from 'farcall';
import { math } from './math.ts';

expose(math);

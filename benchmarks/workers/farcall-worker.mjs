// farcall as users run it: the compiled build (npm run bench:sections builds it first).
import { expose } from '../../dist/index.js';
expose({ add: (a, b) => a + b });

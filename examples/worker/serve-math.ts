// Serves `math` on a Unix socket: npx tsx examples/worker/serve-math.ts <socket path>
import { listen } from 'farcall';
import { math } from './math.ts';

const server = await listen(math, process.argv[2]!);
console.log('ready');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

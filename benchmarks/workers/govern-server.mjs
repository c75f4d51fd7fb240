// A server of farcall's build serving add() on argv[2], with metrics when argv[3] is 'metrics'.
import { listen } from '../../dist/index.js';
const server = await listen({ add: (a, b) => a + b }, process.argv[2], process.argv[3] === 'metrics' ? { metrics: true } : {});
console.log('ready');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

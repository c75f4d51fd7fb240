import { listen } from 'farcall';
import * as api from './api.ts';
// Room for the 64 MiB payload plus the message around it.
const server = await listen({ ...api }, process.argv[2]!, { maxMessageSize: 128 << 20 });
console.log('ready');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

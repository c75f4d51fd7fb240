// farcall-server.ts for farcall's build.
import { listen } from '../../dist/index.js';
import * as api from './api.mjs';
// Room for the 64 MiB payload plus the message around it.
const server = await listen({ ...api }, process.argv[2], { maxMessageSize: 128 << 20 });
console.log('ready');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

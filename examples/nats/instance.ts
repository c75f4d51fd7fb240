// One instance of the 'thumbs' service: npx tsx examples/nats/instance.ts nats://127.0.0.1:4222 NAME
// Run as many as you like, on any host that reaches the NATS cluster; a client
// never needs to know where they are. SIGTERM drains it: calls already sent finish.
import { connect } from '@nats-io/transport-node';
import { serve } from 'farcall';

const [url = 'nats://127.0.0.1:4222', label = `pid ${process.pid}`] = process.argv.slice(2);

export const thumbsApi = {
  async resize(width: number): Promise<string> {
    if (!(width >= 1 && width <= 4000)) throw new RangeError(`width must be 1..4000, got ${width}`);
    await new Promise((r) => setTimeout(r, 5)); // stands in for the real work
    return `${width}px wide, made by ${label}`;
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const nc = await connect({ servers: url, name: `thumbs ${label}` });
  const svc = await serve('thumbs', thumbsApi, { nats: nc, version: '1.0.0' });
  console.log(`${label} serving thumbs at ${svc.address}`);
  process.once('SIGTERM', async () => {
    await svc.close();
    await nc.close();
  });
}

// One instance of the 'thumbs' service. Start it as often as you like, in any order:
//   npx tsx examples/services/thumbs.ts
// Callers find it by name (connect({ service: 'thumbs' })); Ctrl-C or SIGTERM takes it offline
// gracefully: it deregisters, tells its callers, lets their calls finish, then exits.
import { pathToFileURL } from 'node:url';
import { serve } from 'farcall';

export const thumbs = {
  /** A stand-in for real work: takes a few milliseconds, says which process did it. */
  async resize(width: number): Promise<{ width: number; by: number }> {
    await new Promise((r) => setTimeout(r, 5));
    return { width, by: process.pid };
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const svc = await serve('thumbs', thumbs, { version: '1.4.0' });
  console.log(`thumbs instance ${svc.id} (pid ${process.pid}) serving on ${String(svc.address)}`);
  const stop = (): void => void svc.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

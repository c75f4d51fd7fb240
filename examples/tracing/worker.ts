// The worker the server calls: its spans are recorded here, in its own thread.
import { expose } from 'farcall';
import { installTracing } from './otel.ts';

const tracing = installTracing('worker');

expose({
  double: (n: number) => n * 2,
  /** What this thread recorded, for the caller to print. */
  spans: () => tracing.spans(),
});

/**
 * The NATS client library, loaded only when a NATS feature is used: it is an
 * optional peer dependency, so a user who never touches NATS neither installs
 * nor loads it. The user brings their own connection (`nats: nc`), and with it
 * their servers, auth and TLS; we only need the library's helpers (headers).
 */
import { UnsupportedError } from '../../errors.ts';

/** The part of `@nats-io/transport-node` the NATS backend uses. */
export type NatsModule = typeof import('@nats-io/transport-node');

let loading: Promise<NatsModule> | undefined;

/**
 * `@nats-io/transport-node`, imported on first use. Rejects with an
 * UnsupportedError giving the install line when it is not installed.
 */
export function loadNats(): Promise<NatsModule> {
  loading ??= import('@nats-io/transport-node').catch((cause: unknown) => {
    loading = undefined;
    const err = new UnsupportedError(
      `the NATS backend needs the package @nats-io/transport-node (npm install @nats-io/transport-node): ${String(cause)}`,
    );
    throw err;
  });
  return loading;
}

/**
 * Connection options the NATS backend does not carry yet, refused by name:
 * accepting them would leave a user believing a stream window applied when
 * nothing does.
 */
export function refuseUnsupported(fn: string, options: object): void {
  for (const name of ['streamWindow'] as const) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw new UnsupportedError(`${fn}() option ${name} is not supported over NATS yet; leave it out, or serve over a socket`);
    }
  }
}

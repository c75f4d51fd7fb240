/** The NATS subjects a farcall service uses, in one place. */

/** Checks a service name: NATS subject tokens cannot hold spaces, dots or wildcards. */
export function checkServiceName(fn: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(name)) {
    throw new TypeError(`${fn}() service name must be 1 to 128 letters, digits, '-' or '_', got ${JSON.stringify(name) ?? String(name)}`);
  }
}

/** Where a client asks the queue group for a session; NATS picks one instance. */
export const helloSubject = (name: string): string => `farcall.${name}.hello`;

/** Where one instance receives its clients' session messages. */
export const sessionSubject = (name: string, id: string): string => `farcall.${name}.${id}`;

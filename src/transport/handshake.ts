/**
 * The start of a stream connection: each side's hello (version, features,
 * or why it could not start), then the proofs of an authenticating side
 * (transport/auth.ts), within helloTimeout. What came before a hello is
 * kept, a few bytes of it, to name a peer that is not farcall at all.
 */
import { encodeMessage, type EncodedMessage } from '../codec/binary.ts';
import { decodeThrown, encodeThrown } from '../codec/error.ts';
import { AuthenticationError, ChannelClosedError, ProtocolError } from '../errors.ts';
import { encodeFrame } from '../framing.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import type { AuthStep, Handshake } from './auth.ts';

/**
 * The first frame each side sends; `features` lets later versions
 * negotiate. A side that could not start (a child whose module threw)
 * sends `error` instead of serving. This shape may never change, so that
 * any two versions can tell each other apart.
 */
interface Hello {
  farcall: number;
  /** What this side understands beyond the messages of its protocol version (FEATURES). */
  features: string[];
  error?: unknown;
  /** Nonce and key id of a side that authenticates (transport/auth.ts). */
  auth?: unknown;
}

/**
 * What a hello says this side understands. 'ping': Ping messages, which
 * came after version 3 was fixed; a peer from before them drops the
 * connection on one, so a client pings only a server that says 'ping'.
 */
export const FEATURES = ['ping'] as const;
export type Feature = (typeof FEATURES)[number];

const DEFAULT_HELLO_TIMEOUT = 10_000;

/** The other side said in its hello that it could not start; `cause` is what it threw. */
const startFailures = new WeakSet<Error>();
export const isStartFailure = (err: Error): boolean => startFailures.has(err);

/**
 * The frames a side that failed before it could serve sends in place of
 * its hello, so the other side learns why rather than only that it closed.
 */
export function failedHello(thrown: unknown): Uint8Array {
  const { body, buffers } = encodeMessage({ farcall: PROTOCOL_VERSION, features: [], error: encodeThrown(thrown) } satisfies Hello, undefined);
  return Buffer.concat(encodeFrame(body, buffers));
}

/** Bytes as hex and as text, to show what a peer that is not farcall sent. */
function preview(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  const text = Buffer.from(bytes).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return `${hex} ("${text}")`;
}

/** What the handshake needs of its stream. */
export interface GreetingHost {
  write(frame: EncodedMessage): void;
  /** The handshake failed: the stream closes with `err`. */
  fail(err: Error): void;
  /** This server refused the client's credentials: the refusal was written, the stream closes cleanly with `err`. */
  refused(err: Error): void;
  /** Both sides are through: the stream serves. */
  opened(): void;
}

/** One stream's handshake, from its own hello to the other side's (and the proofs). */
export class Greeting {
  /** True once the stream serves. */
  done = false;
  /** Hellos exchanged, proofs not yet: the next frame must be the other side's proof. */
  private authenticating = false;
  /** The features the other side's hello named, once it came. */
  private theirFeatures: readonly unknown[] = [];
  /** The first bytes received, kept until the hello to describe a peer that is not farcall. */
  private firstBytes: Uint8Array | undefined = new Uint8Array(0);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: GreetingHost,
    private readonly label: string,
    private readonly auth: Handshake | undefined,
  ) {}

  /** Sends this side's hello and starts the clock on the other's. */
  start(helloTimeout = DEFAULT_HELLO_TIMEOUT): void {
    if (Number.isFinite(helloTimeout)) {
      this.timer = setTimeout(() => {
        const sent = this.firstBytes?.byteLength ? `; its first bytes: ${preview(this.firstBytes)}` : '';
        this.host.fail(new ProtocolError(`the ${this.label} sent no hello within ${helloTimeout} ms${sent}`));
      }, helloTimeout);
      this.timer.unref();
    }
    this.host.write(encodeMessage({ farcall: PROTOCOL_VERSION, features: [...FEATURES], ...this.auth?.hello() } satisfies Hello, undefined));
  }

  /** Notes the bytes of a chunk received before the hello. */
  received(chunk: Uint8Array): void {
    if (this.firstBytes && this.firstBytes.byteLength < 16) {
      this.firstBytes = Buffer.concat([this.firstBytes, chunk.subarray(0, 16 - this.firstBytes.byteLength)]);
    }
  }

  /** A message before the stream serves: the other side's hello, or its proof. */
  receive(v: unknown): void {
    if (this.authenticating) this.proof(v);
    else this.hello(v);
  }

  /** True when the other side's hello said it understands `feature`. */
  understands(feature: Feature): boolean {
    return this.theirFeatures.includes(feature);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Whatever went wrong before a hello, the clear story is that the other side does not speak farcall. */
  notFarcall(err: Error): ProtocolError {
    return new ProtocolError(
      `the ${this.label} is not a farcall peer: it did not start with a farcall hello (its first bytes: ${preview(this.firstBytes ?? new Uint8Array(0))})`,
      { cause: err },
    );
  }

  /** Fails the stream itself (rather than throwing) so its reasons are not taken for undecodable bytes. */
  private hello(v: unknown): void {
    const label = this.label;
    if (typeof v !== 'object' || v === null || typeof (v as Hello).farcall !== 'number') {
      return this.host.fail(this.notFarcall(new ProtocolError('the first message is not a hello')));
    }
    const { farcall: version, error, features } = v as Hello;
    if (version !== PROTOCOL_VERSION) {
      return this.host.fail(
        new ProtocolError(`protocol version mismatch: this side speaks farcall protocol ${PROTOCOL_VERSION}, the ${label} speaks farcall protocol ${version}`),
      );
    }
    if (error !== undefined) {
      const thrown = decodeThrown(error);
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      const err = new ChannelClosedError(`the ${label} failed to start: ${message}`, { cause: thrown });
      startFailures.add(err);
      return this.host.fail(err);
    }
    // Anything but a list names nothing: the hello's shape is fixed, what it lists is not.
    if (Array.isArray(features)) this.theirFeatures = features;
    const auth = this.auth;
    if (auth) return this.authStep(() => auth.onHello(v as Hello));
    if ((v as Hello).auth !== undefined) return this.host.fail(new AuthenticationError(`the ${label} uses authentication (option auth) and this side has none`));
    this.open();
  }

  private proof(v: unknown): void {
    const refused = (v as Hello | null)?.error;
    // Only a server refuses; from a client this is no proof, and onProof says so.
    if (refused !== undefined && this.auth!.role === 'client') {
      const err = decodeThrown(refused);
      return this.host.fail(err instanceof AuthenticationError ? err : new AuthenticationError('the server refused the credentials'));
    }
    this.authStep(() => this.auth!.onProof(v));
  }

  private authStep(step: () => AuthStep): void {
    let next: AuthStep;
    try {
      next = step();
    } catch (err) {
      if (this.auth!.role === 'client') return this.host.fail(err as Error);
      // The client hears only that it was refused, after a clean close; this side's 'clientError' says why.
      const refusal = encodeThrown(new AuthenticationError('the server refused the credentials'), false);
      this.host.write(encodeMessage({ farcall: PROTOCOL_VERSION, features: [], error: refusal } satisfies Hello, undefined));
      this.host.refused(err as Error);
      return;
    }
    if (next.send) this.host.write(encodeMessage(next.send, undefined));
    this.authenticating = !next.done;
    if (next.done) this.open();
  }

  private open(): void {
    this.authenticating = false;
    this.done = true;
    this.firstBytes = undefined;
    this.stop();
    this.host.opened();
  }
}

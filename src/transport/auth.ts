import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe } from '../codec/marks.ts';
import { AuthenticationError } from '../errors.ts';

/**
 * Shared-secret authentication in the stream handshake, both ways:
 *
 *   client                                   server
 *     hello { auth: { n: Nc, k: keyId } } ──►
 *     ◄── hello { auth: { n: Ns } }             (both sent at once, on connect)
 *     proof HMAC(secret, client|k|Nc|Ns) ──►    checked, constant time
 *     ◄── proof HMAC(secret, server|k|Nc|Ns)    or a refusal, then close
 *
 * The secret never crosses; each side's nonce is fresh, so a recorded
 * handshake replayed to either side proves nothing; the role in the MAC
 * keeps a server's proof from being reflected as a client's. One round trip
 * more than a plain hello; calls after it cost the same.
 */

/** Client side: the secret, and which of the server's keys it is (its identity there). */
export interface ClientAuth {
  secret: string | Uint8Array;
  /** Names the key among the server's `keys`; the server's callee and middleware see it as the identity. */
  keyId?: string;
}

/** Server side: one shared secret, or a key per client, by key id. */
export type ServerAuth = { secret: string | Uint8Array } | { keys: Readonly<Record<string, string | Uint8Array>> };

/** Shortest secret accepted: shorter ones are guessable offline from one recorded handshake. */
const MIN_SECRET_BYTES = 16;
const NONCE_BYTES = 32;
const MAX_KEY_ID = 256;

/** The auth part of a hello, or of a proof frame sent before the connection counts as open. */
interface AuthFields {
  /** nonce, base64 */
  n?: string;
  /** key id */
  k?: string;
  /** proof, base64 */
  p?: string;
}

/** What the stream transport does next in a handshake: send a frame, be done, or both. */
export interface AuthStep {
  send?: { auth: AuthFields };
  done: boolean;
}

/** One connection's handshake. Its methods throw AuthenticationError saying why, for this side's logs. */
export class Handshake {
  private readonly nonce = randomBytes(NONCE_BYTES).toString('base64');
  private theirNonce: string | undefined;
  private keyId: string | undefined;
  private secret: Uint8Array | undefined;
  /** Who the other side proved to be: its key id (with per-client keys). */
  identity: string | undefined;

  constructor(
    readonly role: 'client' | 'server',
    private readonly settings: ClientAuth | ServerAuth,
  ) {
    if (role === 'client') {
      this.secret = bytes((settings as ClientAuth).secret);
      this.keyId = (settings as ClientAuth).keyId;
    }
  }

  /** What this side's hello carries. */
  hello(): { auth: AuthFields } {
    return { auth: this.keyId === undefined ? { n: this.nonce } : { n: this.nonce, k: this.keyId } };
  }

  /** The other side's hello arrived. */
  onHello(hello: { auth?: unknown }): AuthStep {
    const auth = fields(hello.auth);
    if (auth?.n === undefined || Buffer.from(auth.n, 'base64').byteLength !== NONCE_BYTES) {
      throw new AuthenticationError(
        this.role === 'server' ? 'the client offered no credentials, and this server requires them (option auth)' : 'the server does not authenticate clients, so it cannot prove it holds the secret',
      );
    }
    this.theirNonce = auth.n;
    if (this.role === 'client') return { send: { auth: { p: this.proof('client') } }, done: false };
    this.keyId = auth.k;
    const s = this.settings as ServerAuth;
    if ('keys' in s) {
      if (auth.k === undefined) throw new AuthenticationError('the client named no key id, and this server has a key per client (option auth.keys)');
      if (!Object.hasOwn(s.keys, auth.k)) throw new AuthenticationError(`the client named key id "${auth.k.slice(0, 64)}", which this server does not have`);
      this.secret = bytes(s.keys[auth.k]!);
      this.identity = auth.k;
    } else {
      this.secret = bytes(s.secret);
    }
    return { done: false };
  }

  /** A frame after the hellos, before the connection is open: the other side's proof. */
  onProof(frame: unknown): AuthStep {
    const p = fields((frame as { auth?: unknown } | null)?.auth)?.p;
    const theirRole = this.role === 'client' ? 'server' : 'client';
    if (p === undefined) throw new AuthenticationError(`the ${theirRole} sent something else where its proof of the secret belongs`);
    const expected = Buffer.from(this.proof(theirRole), 'base64');
    const got = Buffer.from(p, 'base64');
    if (got.byteLength !== expected.byteLength || !timingSafeEqual(got, expected)) {
      throw new AuthenticationError(
        this.role === 'server'
          ? `the client's proof does not match: it holds another secret${this.keyId === undefined ? '' : ` for key id "${this.keyId.slice(0, 64)}"`} (or replayed an old handshake)`
          : 'the server could not prove it holds the secret: it holds another one',
      );
    }
    return this.role === 'server' ? { send: { auth: { p: this.proof('server') } }, done: true } : { done: true };
  }

  private proof(role: 'client' | 'server'): string {
    const [client, server] = this.role === 'client' ? [this.nonce, this.theirNonce!] : [this.theirNonce!, this.nonce];
    return createHmac('sha256', this.secret!).update(`farcall-auth-1\0${role}\0${this.keyId ?? ''}\0${client}\0${server}`).digest('base64');
  }
}

function fields(v: unknown): AuthFields | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { n, k, p } = v as Record<string, unknown>;
  const str = (x: unknown, max: number): string | undefined => (typeof x === 'string' && x.length <= max ? x : undefined);
  return { n: str(n, 64), k: str(k, MAX_KEY_ID), p: str(p, 64) };
}

function bytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? Buffer.from(secret) : secret;
}

/** Throws naming the problem when `auth` is not valid for `side`. */
export function checkAuth(fn: string, side: 'client' | 'server', auth: unknown): void {
  if (auth === undefined) return;
  if (typeof auth !== 'object' || auth === null) throw new TypeError(`${fn}() option auth must be an object, got ${describe(auth)}`);
  const a = auth as Record<string, unknown>;
  const checkSecret = (name: string, s: unknown): void => {
    if (typeof s !== 'string' && !(s instanceof Uint8Array)) throw new TypeError(`${fn}() option ${name} must be a string or bytes, got ${describe(s)}`);
    if (bytes(s).byteLength < MIN_SECRET_BYTES) throw new RangeError(`${fn}() option ${name} must be at least ${MIN_SECRET_BYTES} bytes; a short secret can be guessed from one recorded handshake`);
  };
  if (side === 'client' || 'secret' in a) {
    const known = side === 'client' ? ['secret', 'keyId'] : ['secret'];
    for (const key of Object.keys(a)) if (!known.includes(key)) throw new TypeError(`${fn}() option auth has no field ${key}; it takes { ${known.join(', ')} }${side === 'server' ? ' or { keys }' : ''}`);
    checkSecret('auth.secret', a.secret);
    if (a.keyId !== undefined && (typeof a.keyId !== 'string' || a.keyId.length === 0 || a.keyId.length > MAX_KEY_ID)) {
      throw new TypeError(`${fn}() option auth.keyId must be a non-empty string of at most ${MAX_KEY_ID} characters, got ${describe(a.keyId)}`);
    }
    return;
  }
  if (!('keys' in a) || typeof a.keys !== 'object' || a.keys === null) throw new TypeError(`${fn}() option auth must be { secret } or { keys: { keyId: secret } }`);
  const entries = Object.entries(a.keys);
  if (entries.length === 0) throw new TypeError(`${fn}() option auth.keys has no keys: no client could connect`);
  for (const [id, s] of entries) checkSecret(`auth.keys.${id}`, s);
}

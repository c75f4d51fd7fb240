/**
 * Error classes with stable `code`s. Transport failures (closed, timeout,
 * aborted, protocol) are distinct from a remote function's own throw, which
 * arrives as the error the remote threw.
 */

export type FarcallErrorCode =
  | 'ERR_FARCALL_CLOSED'
  | 'ERR_FARCALL_TIMEOUT'
  | 'ERR_FARCALL_ABORTED'
  | 'ERR_FARCALL_PROTOCOL'
  | 'ERR_FARCALL_NO_SUCH_METHOD'
  | 'ERR_FARCALL_NOT_CLONEABLE'
  | 'ERR_FARCALL_RELEASED'
  | 'ERR_FARCALL_QUEUE_FULL'
  | 'ERR_FARCALL_UNSUPPORTED'
  | 'ERR_FARCALL_NO_SUCH_SERVICE'
  | 'ERR_FARCALL_MODULE_NOT_FOUND'
  | 'ERR_FARCALL_INVALID_ARGUMENTS'
  | 'ERR_FARCALL_AUTHENTICATION';

export class FarcallError extends Error {
  readonly code: FarcallErrorCode;
  constructor(code: FarcallErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', { value: new.target.name, configurable: true, writable: true });
  }
}

/** The channel closed (or the other side exited) before the call settled. */
export class ChannelClosedError extends FarcallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FARCALL_CLOSED', message, options);
  }
}

/** The call did not settle before its deadline. */
export class CallTimeoutError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_TIMEOUT', message);
  }
}

/** The caller's AbortSignal fired; `cause` is the signal's reason. */
export class CallAbortedError extends FarcallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FARCALL_ABORTED', message, options);
  }
}

/** The peer sent something that is not farcall's protocol. */
export class ProtocolError extends FarcallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FARCALL_PROTOCOL', message, options);
  }
}

/** The path called does not exist on the exposed value (or is guarded). */
export class NoSuchMethodError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_NO_SUCH_METHOD', message);
  }
}

/** An argument or result could not be carried by the channel. */
export class NotCloneableError extends FarcallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FARCALL_NOT_CLONEABLE', message, options);
  }
}

/** The proxy was released with `releaseProxy` and can no longer be used. */
export class ProxyReleasedError extends FarcallError {
  constructor(message = 'Proxy has been released and is not usable') {
    super('ERR_FARCALL_RELEASED', message);
  }
}

/** A pool's queue is at `maxQueue`. */
export class QueueFullError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_QUEUE_FULL', message);
  }
}

/** The module a pool was asked to run is not there. */
export class ModuleNotFoundError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_MODULE_NOT_FOUND', message);
  }
}

/** The operation needs a capability this channel does not have. */
export class UnsupportedError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_UNSUPPORTED', message);
  }
}

/** No live instance of the named service answered; the message says where it looked. */
export class NoSuchServiceError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_NO_SUCH_SERVICE', message);
  }
}

/**
 * The handshake's challenge–response failed: a wrong or missing secret, an
 * unknown key id, a replayed handshake, or a server that cannot prove it
 * holds the secret. No method was reached.
 */
export class AuthenticationError extends FarcallError {
  constructor(message: string) {
    super('ERR_FARCALL_AUTHENTICATION', message);
  }
}

/** One problem a schema found: `path` starts at the argument's index (0 is the first argument). */
export interface ValidationIssue {
  message: string;
  path: Array<string | number>;
}

/**
 * The arguments of a call did not match the schema given for its method
 * where the api is served; the method did not run. `issues` lists each
 * problem with its path.
 */
export class ValidationError extends FarcallError {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[] = []) {
    super('ERR_FARCALL_INVALID_ARGUMENTS', message);
    this.issues = issues;
  }
}

/** Constructors an error may be rebuilt as when it crosses a channel. */
export const farcallErrorClasses = {
  FarcallError,
  ChannelClosedError,
  CallTimeoutError,
  CallAbortedError,
  ProtocolError,
  NoSuchMethodError,
  NotCloneableError,
  ProxyReleasedError,
  QueueFullError,
  UnsupportedError,
  NoSuchServiceError,
  ValidationError,
  AuthenticationError,
} as const;

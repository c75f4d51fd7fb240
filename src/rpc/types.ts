// Types the rpc modules share, beneath all of them (the peer, its options, the governor and the proxies import them).

/** Options one call may carry (see withOptions in call-options.ts). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Milliseconds; 0 or undefined means no deadline. */
  timeout?: number | undefined;
  /**
   * The call may safely run twice: a client that balances over several
   * instances retries it on another when its instance dies mid-call.
   * A single connection has nowhere else to send it and ignores it.
   */
  idempotent?: boolean | undefined;
  /**
   * String keys and values the callee reads with `currentMetadata()`
   * (bounded: see MAX_METADATA_ENTRIES and MAX_METADATA_CHARS). Without
   * it, a call made while serving a call carries that call's metadata on.
   */
  metadata?: Readonly<Record<string, string>> | undefined;
}

import { farcallErrorClasses } from '../errors.ts';

/**
 * Thrown values on the wire. Errors are taken apart on purpose, because
 * structured clone drops `cause`, `code`, own properties and the class of
 * anything but the built-in errors.
 */
export type WireThrown =
  | { k: 0; v: unknown }
  | {
      k: 1;
      /** name */
      n: string;
      /** message */
      m: string;
      /** stack */
      s?: string;
      /** cause, present only when the error had one */
      c?: WireThrown;
      /** own enumerable properties and `code` */
      p?: Record<string, unknown>;
      /** AggregateError's errors */
      e?: WireThrown[];
    };

/** Classes an error may be rebuilt as; anything else becomes an Error with its name kept. */
const KNOWN: Record<string, new (...args: any[]) => Error> = Object.assign(Object.create(null), {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
  ...farcallErrorClasses,
});

const SKIPPED = new Set(['name', 'message', 'stack', 'cause', 'errors']);
const MAX_DEPTH = 16;

/** `stacks` false leaves every stack out (the other side sees only name and message in its place). */
export function encodeThrown(value: unknown, stacks = true, depth = 0): WireThrown {
  if (!(value instanceof Error) || depth > MAX_DEPTH) return { k: 0, v: cloneable(value) };
  const out: WireThrown & { k: 1 } = { k: 1, n: String(value.name), m: String(value.message) };
  if (stacks && typeof value.stack === 'string') out.s = value.stack;
  if ('cause' in value) out.c = encodeThrown(value.cause, stacks, depth + 1);
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (SKIPPED.has(key)) continue;
    (props ??= {})[key] = cloneable((value as unknown as Record<string, unknown>)[key]);
  }
  const code = (value as { code?: unknown }).code;
  if ((typeof code === 'string' || typeof code === 'number') && !(props && 'code' in props)) (props ??= {}).code = code;
  if (props) out.p = props;
  if (value instanceof AggregateError && Array.isArray(value.errors)) {
    out.e = value.errors.map((e) => encodeThrown(e, stacks, depth + 1));
  }
  return out;
}

export function decodeThrown(w: unknown, depth = 0): unknown {
  if (typeof w !== 'object' || w === null || depth > MAX_DEPTH) return w;
  const t = w as Omit<Partial<Extract<WireThrown, { k: 1 }>>, "k"> & { k?: unknown; v?: unknown };
  if (t.k === 0) return t.v;
  if (t.k !== 1) return w;
  const name = typeof t.n === 'string' ? t.n : 'Error';
  const message = typeof t.m === 'string' ? t.m : '';
  const ctor = KNOWN[name] ?? Error;
  const err: Error =
    (ctor as unknown) === AggregateError
      ? new AggregateError(Array.isArray(t.e) ? t.e.map((e) => decodeThrown(e, depth + 1)) : [], message)
      : Reflect.construct(Error, [message], ctor);
  if (err.name !== name) define(err, 'name', name);
  define(err, 'stack', typeof t.s === 'string' ? markRemote(t.s) : `${name}: ${message}`);
  if (t.c !== undefined) define(err, 'cause', decodeThrown(t.c, depth + 1));
  if (typeof t.p === 'object' && t.p !== null) {
    for (const key of Object.keys(t.p)) {
      Object.defineProperty(err, key, {
        value: (t.p as Record<string, unknown>)[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return err;
}

function define(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: false, writable: true, configurable: true });
}

/** Frames that ran on the other side read "at [remote] ...". */
function markRemote(stack: string): string {
  return stack.replace(/^(\s+at )(?!\[remote\])/gm, '$1[remote] ');
}

/** Keeps a value as it is when it can be cloned, else its string form. */
function cloneable(v: unknown): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') return String(v);
  if (typeof v !== 'object' || v === null) return v;
  try {
    structuredClone(v);
    return v;
  } catch {
    return String(v);
  }
}

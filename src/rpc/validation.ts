import { describe } from '../codec/marks.ts';
import { ValidationError, type ValidationIssue } from '../errors.ts';
import { suggestion } from '../suggest.ts';
import { formatPath, resolvePath } from './path.ts';

/**
 * The Standard Schema interface (standardschema.dev), the part farcall
 * uses: zod, valibot and arktype schemas all have it, so farcall checks
 * arguments with any of them and depends on none.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/**
 * A schema per method, keyed by its path as written ('add', 'math.add'),
 * each checking the method's whole argument list as a tuple:
 * `{ add: z.tuple([z.number(), z.number()]) }`. What the schema outputs
 * (defaults filled in, values coerced) is what the method receives.
 */
export type Schemas = Readonly<Record<string, StandardSchema>>;

/** Checks `schemas` against the api they guard: each is a Standard Schema and names a method of it. */
export function checkSchemas(fn: string, schemas: unknown, api: unknown): Map<string, StandardSchema> {
  if (typeof schemas !== 'object' || schemas === null) {
    throw new TypeError(`${fn}() option schemas must be an object of method name to schema, got ${describe(schemas)}`);
  }
  const out = new Map<string, StandardSchema>();
  for (const [name, schema] of Object.entries(schemas)) {
    const std = (schema as Partial<StandardSchema> | null)?.['~standard'];
    if (typeof std?.validate !== 'function') {
      throw new TypeError(`${fn}() option schemas.${name} is not a Standard Schema (zod, valibot, arktype...), got ${describe(schema)}`);
    }
    if (api !== undefined && !namesMethod(api, name)) {
      throw new TypeError(`${fn}() option schemas.${name} names no method of the api${suggestion(name, methodNames(api))}`);
    }
    out.set(name, schema as StandardSchema);
  }
  return out;
}

function namesMethod(api: unknown, name: string): boolean {
  try {
    return typeof resolvePath(api, name.split('.')).value === 'function';
  } catch {
    return false;
  }
}

function methodNames(api: unknown): string[] {
  const names: string[] = [];
  for (let o = api; o !== null && o !== undefined && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    names.push(...Object.getOwnPropertyNames(o));
  }
  return names;
}

/**
 * Checks `args` of `path` against its schema: undefined when there is no
 * schema, else what the method gets (or a promise of it, for an async
 * schema). Throws (or rejects with) a ValidationError listing every issue.
 */
export function validateArgs(schemas: ReadonlyMap<string, StandardSchema>, path: readonly string[], args: unknown[]): unknown[] | Promise<unknown[]> | undefined {
  const method = formatPath(path);
  const schema = schemas.get(method);
  if (!schema) return undefined;
  const result = schema['~standard'].validate(args);
  return result instanceof Promise ? result.then((r) => outcome(method, args, r)) : outcome(method, args, result);
}

function outcome(method: string, args: unknown[], r: StandardResult<unknown>): unknown[] {
  if (r.issues) {
    const issues: ValidationIssue[] = r.issues.map((i) => ({
      message: String(i.message),
      path: (i.path ?? []).map((step) => {
        const key = typeof step === 'object' && step !== null ? step.key : step;
        return typeof key === 'number' ? key : String(key);
      }),
    }));
    throw new ValidationError(`${method}() was called with invalid arguments: ${issues.map(describeIssue).join('; ')}`, issues);
  }
  // A schema that outputs something other than a list (a transform, say) leaves the arguments as they came.
  return Array.isArray(r.value) ? r.value : args;
}

/** Counted from 1, as people count arguments: path [0, 'x'] is "argument 1, x". */
function describeIssue(i: ValidationIssue): string {
  const [first, ...rest] = i.path;
  if (typeof first !== 'number') return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
  return `argument ${first + 1}${rest.length ? `, ${rest.join('.')}` : ''}: ${i.message}`;
}

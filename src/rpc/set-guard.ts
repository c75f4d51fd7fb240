import { UnsupportedError } from '../errors.ts';
import { formatPath } from './path.ts';
import { isRemote } from './remote.ts';

/**
 * Decides whether the other side may set `key` on `parent` to `value`;
 * throws to refuse. Runs after the path guard, before the assignment.
 */
export type SetGuard = (parent: object, key: string, value: unknown, path: readonly string[]) => void;

/**
 * Property sets from a socket client. Every client of a server reaches the
 * same exposed objects, so a set changes them for all: off unless the
 * server opts in. Even then a client may store only data, and may not
 * replace a function: otherwise one client could swap a method for a
 * callback of its own and receive every other client's calls (their
 * arguments, and a say in their results), and leave the method broken for
 * everyone once it disconnects.
 */
export function socketSetGuard(allowPropertySets: boolean): SetGuard {
  if (!allowPropertySets) {
    return (_parent, _key, _value, path) => {
      throw new UnsupportedError(
        `"${formatPath(path)}" cannot be set: this server refuses property sets from its clients (listen() option allowPropertySets turns them on)`,
      );
    };
  }
  return (parent, key, value, path) => {
    if (typeof value === 'function' || isRemote(value)) {
      throw new UnsupportedError(`"${formatPath(path)}" cannot be set to a function: a client may store data only, never code other clients would run`);
    }
    if (typeof (parent as Record<string, unknown>)[key] === 'function') {
      throw new UnsupportedError(`"${formatPath(path)}" is a function, which a client may not replace`);
    }
  };
}

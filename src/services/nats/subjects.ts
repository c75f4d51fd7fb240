/** The NATS subjects a farcall service uses, and what its instances say on them, in one place. */
import { describe } from '../../codec/marks.ts';

/** Checks a service name: NATS subject tokens cannot hold spaces, dots or wildcards. */
export function checkServiceName(fn: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(name)) {
    throw new TypeError(`${fn}() service name must be 1 to 128 letters, digits, '-' or '_', got ${JSON.stringify(name) ?? String(name)}`);
  }
}

/** Checks a version: dot-separated parts ('2', '2.1', '2.1.0-beta'), each a subject token. */
export function checkVersion(fn: string, version: unknown): asserts version is string | undefined {
  if (version !== undefined && (typeof version !== 'string' || !/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/.test(version))) {
    throw new TypeError(`${fn}() option version must be parts of letters, digits, '-' or '_' joined by dots, such as '2' or '2.1.0', got ${describe(version)}`);
  }
}

/**
 * Where a client asks the queue group for a session; NATS picks one instance.
 * With a version, only instances whose version is it or starts with it (as
 * whole parts: '2.1' matches 2.1.0 and 2.1.7, not 2.10.0) hear the hello.
 */
export const helloSubject = (name: string, version?: string): string => (version === undefined ? `farcall.${name}.hello` : `farcall.${name}.hello.${version}`);

/** Every hello subject an instance of `version` answers: any version, and each leading part of its own. */
export function helloSubjects(name: string, version: string): string[] {
  const parts = version.split('.');
  return [helloSubject(name), ...parts.map((_, i) => helloSubject(name, parts.slice(0, i + 1).join('.')))];
}

/**
 * Where instances announce themselves (on start, then every ANNOUNCE_MS), so
 * clients already running learn of an instance they have no session with.
 */
export const announceSubject = (name: string): string => `farcall.${name}.up`;

/** Where one instance takes a hello meant for it alone (a client moving a session to it). */
export const directHelloSubject = (name: string, id: string): string => `farcall.${name}.${id}.hello`;

/** Whether an instance of `version` serves a client asking for `wanted` (whole leading parts, as the hello subjects match). */
export const versionMatches = (version: string, wanted: string | undefined): boolean =>
  wanted === undefined || version === wanted || version.startsWith(`${wanted}.`);

/** Where one instance receives its clients' session messages. */
export const sessionSubject = (name: string, id: string): string => `farcall.${name}.${id}`;

/** What an instance announces on announceSubject(name). */
export interface Announcement {
  id: string;
  version: string;
}

/** What an instance answers a hello with. */
export interface Hello {
  id: string;
  subject: string;
}

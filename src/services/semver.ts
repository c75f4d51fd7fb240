/**
 * Just enough semver to pick instances by version: a range is one or more
 * comparators separated by spaces, all of which must hold, each `^1.4`,
 * `~1.4.2`, `1.4` / `=1.4.0` (exact, missing parts any), `>=1.2`, `>1.2`,
 * `<=2`, `<2`, or `*`. A prerelease version matches only an exact range.
 */

type Triple = [number, number, number];

const VERSION = /^v?(\d+)(?:\.(\d+)(?:\.(\d+))?)?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
const COMPARATOR = /^(\^|~|=|>=|>|<=|<)?(.+)$/;

function parse(v: string): { parts: Triple; given: number; pre: string | undefined } | undefined {
  const m = VERSION.exec(v.trim());
  if (!m) return undefined;
  const given = m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1;
  return { parts: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], given, pre: m[4] };
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

type Test = (v: Triple, pre: string | undefined) => boolean;

function comparator(text: string): Test | undefined {
  if (text === '*' || text === 'x') return (_v, pre) => pre === undefined;
  const m = COMPARATOR.exec(text);
  const op = m?.[1] ?? '=';
  const target = m && parse(m[2]!);
  if (!target) return undefined;
  const { parts: t, given } = target;
  // The first version past the range an exact `1.4` or a `~`/`^` covers.
  const bump = (i: number): Triple => (i === 0 ? [t[0] + 1, 0, 0] : i === 1 ? [t[0], t[1] + 1, 0] : [t[0], t[1], t[2] + 1]);
  const within = (upper: Triple): Test => (v, pre) => pre === undefined && compare(v, t) >= 0 && compare(v, upper) < 0;
  switch (op) {
    case '=':
      if (given === 3) return (v, pre) => compare(v, t) === 0 && pre === target.pre;
      return within(bump(given - 1));
    case '^':
      // ^1.4 allows minor and patch changes; ^0.4 only patch; ^0.0.4 nothing.
      return within(bump(t[0] !== 0 || given === 1 ? 0 : t[1] !== 0 || given === 2 ? 1 : 2));
    case '~':
      return within(bump(given === 1 ? 0 : 1));
    case '>=':
      return (v, pre) => pre === undefined && compare(v, t) >= 0;
    case '>':
      return (v, pre) => pre === undefined && compare(v, given === 3 ? t : bump(given - 1)) >= (given === 3 ? 1 : 0);
    case '<=':
      return (v, pre) => pre === undefined && compare(v, given === 3 ? t : bump(given - 1)) < (given === 3 ? 1 : 0);
    case '<':
      return (v, pre) => pre === undefined && compare(v, t) < 0;
  }
  return undefined;
}

/** A test for versions in `range`, or undefined when `range` cannot be read. */
export function versionRange(range: string): ((version: string) => boolean) | undefined {
  const tests = range.trim().split(/\s+/).map(comparator);
  if (tests.length === 0 || tests.some((t) => t === undefined)) return undefined;
  return (version) => {
    const v = parse(version);
    return v !== undefined && v.given === 3 && tests.every((t) => t!(v.parts, v.pre));
  };
}

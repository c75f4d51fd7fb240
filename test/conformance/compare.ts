/**
 * Structural comparison for the value matrix: says where `got` differs from
 * `want` (what structuredClone gives), or returns undefined when they match.
 * Stricter than util.isDeepStrictEqual: identity is compared too, so shared
 * references and cycles must come out with the same shape, and typed arrays
 * must share (or not share) their buffers as the original did.
 */
export function difference(got: unknown, want: unknown): string | undefined {
  return diff(got, want, '(value)', new Map(), new Map());
}

const tag = (v: object): string => Object.prototype.toString.call(v).slice(8, -1);

function diff(got: unknown, want: unknown, at: string, pairs: Map<object, unknown>, back: Map<unknown, object>): string | undefined {
  if (typeof want !== 'object' || want === null) {
    return Object.is(got, want) ? undefined : `${at}: got ${show(got)}, want ${show(want)}`;
  }
  if (typeof got !== 'object' || got === null) return `${at}: got ${show(got)}, want an object (${tag(want)})`;
  if (pairs.has(want) || back.has(got)) {
    return pairs.get(want) === got ? undefined : `${at}: identity differs (a shared or circular reference was not kept)`;
  }
  pairs.set(want, got);
  back.set(got, want);
  if (Object.getPrototypeOf(got) !== Object.getPrototypeOf(want)) return `${at}: got a ${tag(got)} with another prototype than ${tag(want)}`;
  if (tag(got) !== tag(want)) return `${at}: got ${tag(got)}, want ${tag(want)}`;
  const d = diffContents(got, want, at, pairs, back);
  if (d) return d;
  const gotKeys = Object.keys(got);
  const wantKeys = Object.keys(want);
  if (gotKeys.join() !== wantKeys.join()) return `${at}: own keys [${gotKeys}] differ from [${wantKeys}]`;
  for (const k of wantKeys) {
    const d2 = diff((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${at}.${k}`, pairs, back);
    if (d2) return d2;
  }
  return undefined;
}

function diffContents(got: object, want: object, at: string, pairs: Map<object, unknown>, back: Map<unknown, object>): string | undefined {
  const sub = (g: unknown, w: unknown, where: string): string | undefined => diff(g, w, `${at}${where}`, pairs, back);
  if (want instanceof Date) return Object.is((got as Date).getTime(), want.getTime()) ? undefined : `${at}: dates differ`;
  if (want instanceof RegExp) {
    const g = got as RegExp;
    return g.source === want.source && g.flags === want.flags && g.lastIndex === want.lastIndex
      ? undefined
      : `${at}: got ${g} (lastIndex ${g.lastIndex}), want ${want} (lastIndex ${want.lastIndex})`;
  }
  if (want instanceof ArrayBuffer) {
    const g = got as ArrayBuffer;
    if (g.byteLength !== want.byteLength) return `${at}: byteLength ${g.byteLength}, want ${want.byteLength}`;
    return Buffer.from(g).equals(Buffer.from(want)) ? undefined : `${at}: bytes differ`;
  }
  if (ArrayBuffer.isView(want)) {
    const g = got as ArrayBufferView;
    if (g.byteOffset !== want.byteOffset || g.byteLength !== want.byteLength) {
      return `${at}: view at ${g.byteOffset}+${g.byteLength}, want ${want.byteOffset}+${want.byteLength}`;
    }
    return sub(g.buffer, want.buffer, '.buffer');
  }
  if (want instanceof Map) {
    const g = [...(got as Map<unknown, unknown>)];
    const w = [...want];
    if (g.length !== w.length) return `${at}: Map of ${g.length} entries, want ${w.length}`;
    for (let i = 0; i < w.length; i++) {
      const d = sub(g[i]![0], w[i]![0], `[key ${i}]`) ?? sub(g[i]![1], w[i]![1], `[value ${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (want instanceof Set) {
    const g = [...(got as Set<unknown>)];
    const w = [...want];
    if (g.length !== w.length) return `${at}: Set of ${g.length} members, want ${w.length}`;
    for (let i = 0; i < w.length; i++) {
      const d = sub(g[i], w[i], `[member ${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (want instanceof Error) {
    const g = got as Error;
    for (const k of ['name', 'message', 'stack'] as const) if (g[k] !== want[k]) return `${at}.${k}: got ${show(g[k])}, want ${show(want[k])}`;
    if ('cause' in g !== 'cause' in want) return `${at}: cause ${'cause' in want ? 'missing' : 'unexpected'}`;
    return 'cause' in want ? sub(g.cause, want.cause, '.cause') : undefined;
  }
  if (Array.isArray(want)) {
    return (got as unknown[]).length === want.length ? undefined : `${at}: length ${(got as unknown[]).length}, want ${want.length}`;
  }
  for (const Boxed of [Number, String, Boolean, BigInt] as const) {
    if (want instanceof Boxed) return Object.is(got.valueOf(), want.valueOf()) ? undefined : `${at}: boxed values differ`;
  }
  return undefined;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  if (typeof v === 'object' && v !== null) return `a ${tag(v)}`;
  return String(v);
}

// The "did you mean" of every option check (options.ts), beneath everything that checks names.

/** ` (did you mean x?)` for the known name closest to `key`, when one is close enough to be a slip. */
export function suggestion(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const k = name.toLowerCase();
    // Case, a dropped or added plural, or a cut-short name count as slips whatever their length.
    const d = k === lower || k === `${lower}s` || `${k}s` === lower || (lower.length >= 3 && k.startsWith(lower)) ? 0 : distance(lower, k);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== undefined && bestDistance <= (key.length <= 3 ? 1 : Math.min(3, Math.max(2, Math.floor(key.length / 4)))) ? ` (did you mean ${best}?)` : '';
}

/** Levenshtein distance, one row at a time. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

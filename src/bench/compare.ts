/**
 * What each figure is compared with: the raw mechanism of its transport and,
 * for farcall, the best peer on that transport, both from the same run.
 * Ratios are of time per call, so 1.25× means a quarter more time per call
 * than the base whether the figure is a latency or a throughput, and below
 * 1 is faster.
 */
import type { Figure } from './measure.ts';
import type { Cell, Results, Skipped } from './matrix.ts';

export interface Metric {
  key: string;
  /** Column heading, with its unit. */
  label: string;
  /** Short name for charts and notes. */
  short: string;
  unit: Figure['unit'];
  lowerIsBetter: boolean;
  get(cell: Cell): Figure | undefined;
}

const isFigure = (v: Figure | Skipped | undefined): v is Figure => v !== undefined && 'median' in v;

export function metricsOf(r: Pick<Results, 'settings'>): Metric[] {
  return [
    { key: 'p50', label: 'p50 (µs)', short: 'latency p50', unit: 'µs', lowerIsBetter: true, get: (c) => c.latency?.p50 },
    { key: 'p99', label: 'p99 (µs)', short: 'latency p99', unit: 'µs', lowerIsBetter: true, get: (c) => c.latency?.p99 },
    ...(r.settings.pinned
      ? [{ key: 'p50pin', label: 'p50 on 1 CPU (µs)', short: 'latency p50 on one CPU', unit: 'µs' as const, lowerIsBetter: true, get: (c: Cell) => c.pinned?.p50 }]
      : []),
    ...r.settings.inFlight.map((n) => {
      const count = n.toLocaleString('en-US');
      return {
        key: `t${n}`,
        label: `${count} in flight (calls/s)`,
        short: `throughput, ${count} in flight`,
        unit: 'calls/s' as const,
        lowerIsBetter: false,
        get: (c: Cell) => {
          const v = c.throughput[n];
          return isFigure(v) ? v : undefined;
        },
      };
    }),
  ];
}

/** Time per call of `row` relative to `base`. */
export function costRatio(m: Metric, row: Figure, base: Figure): number {
  return m.lowerIsBetter ? row.median / base.median : base.median / row.median;
}

export interface Found {
  figure: Figure;
  /** The figure is of the copied payload of the same size: this subject cannot move buffers. */
  copied: boolean;
}

export function cellOf(r: Pick<Results, 'cells'>, subject: string, payload: string): Cell | undefined {
  return r.cells.find((c) => c.subject === subject && c.payload === payload);
}

/** A subject's figure for a payload; for a moved payload it cannot carry, its figure for the same bytes copied. */
export function findFigure(r: Pick<Results, 'cells' | 'payloads'>, subject: string, payload: string, m: Metric): Found | undefined {
  const cell = cellOf(r, subject, payload);
  const f = cell ? m.get(cell) : undefined;
  if (f) return { figure: f, copied: false };
  const copied = r.payloads.find((p) => p.id === payload)?.copied;
  if (copied && cell?.notRun) {
    const other = cellOf(r, subject, copied);
    const g = other ? m.get(other) : undefined;
    if (g) return { figure: g, copied: true };
  }
  return undefined;
}

export interface Comparison {
  ratio: number;
  who: string;
  /** The base is the copied figure of the same bytes. */
  copied: boolean;
}

export interface Comparisons {
  subject: string;
  payload: string;
  /** By metric key; absent where either figure is missing. */
  vsRaw: Record<string, Comparison>;
  /** farcall rows only. */
  vsBestPeer?: Record<string, Comparison>;
}

/** Every non-raw cell's ratios to its raw mechanism and (farcall) to the best peer. */
export function compare(r: Results): Comparisons[] {
  const metrics = metricsOf(r);
  const out: Comparisons[] = [];
  for (const cell of r.cells) {
    const subject = r.subjects.find((s) => s.id === cell.subject)!;
    if (subject.role === 'raw') continue;
    const raw = r.subjects.find((s) => s.transport === subject.transport && s.role === 'raw');
    const peers = r.subjects.filter((s) => s.transport === subject.transport && s.role === 'peer');
    const entry: Comparisons = { subject: cell.subject, payload: cell.payload, vsRaw: {} };
    if (subject.role === 'farcall' && peers.length > 0) entry.vsBestPeer = {};
    for (const m of metrics) {
      const mine = m.get(cell);
      if (!mine) continue;
      const base = raw && findFigure(r, raw.id, cell.payload, m);
      if (raw && base) entry.vsRaw[m.key] = { ratio: costRatio(m, mine, base.figure), who: raw.who, copied: base.copied };
      if (entry.vsBestPeer) {
        let best: Comparison | undefined;
        for (const p of peers) {
          const f = findFigure(r, p.id, cell.payload, m);
          if (!f) continue;
          const ratio = costRatio(m, mine, f.figure);
          // The best peer is the one with the least time per call: farcall's ratio to it is the largest.
          if (!best || ratio > best.ratio) best = { ratio, who: p.who, copied: f.copied };
        }
        if (best) entry.vsBestPeer[m.key] = best;
      }
    }
    if (Object.keys(entry.vsRaw).length > 0 || (entry.vsBestPeer && Object.keys(entry.vsBestPeer).length > 0)) out.push(entry);
  }
  return out;
}

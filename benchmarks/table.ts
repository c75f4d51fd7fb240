import type { Figure } from '../src/bench/measure.ts';

/** One benchmark row: a figure and what it is compared with. */
export interface Row {
  what: string;
  who: string;
  figure: Figure;
  /** The figure this row's ratio is taken against (same run). */
  base?: Figure;
  /** Lower is better (latency) or higher (throughput). */
  lowerIsBetter: boolean;
}

const num = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function fmt(f: Figure): string {
  return `${num(f.median)} ${f.unit} (${num(f.min)}–${num(f.max)})`;
}

/** A markdown table; the ratio column is this row ÷ its base, so for latency lower is better. */
export function table(title: string, rows: Row[]): string {
  const lines = [`### ${title}`, '', '| measure | who | median (min–max of rounds) | ratio to base |', '| --- | --- | ---: | ---: |'];
  for (const r of rows) {
    const ratio = r.base ? `${(r.figure.median / r.base.median).toFixed(2)}×` : 'base';
    lines.push(`| ${r.what} | ${r.who} | ${fmt(r.figure)} | ${ratio} |`);
  }
  return lines.join('\n') + '\n';
}

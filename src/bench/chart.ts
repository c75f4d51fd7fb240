/**
 * The bench results as an SVG chart, drawn here (no browser, no
 * dependency): one panel per payload and measure, bars grouped by
 * transport, a log scale, whiskers from the slowest to the fastest round.
 */
import { compare, metricsOf, type Metric } from './compare.ts';
import { busyWarning, machineLine } from './machine.ts';
import type { Figure } from './measure.ts';
import type { Results } from './matrix.ts';
import { formatBytes } from './payloads.ts';

const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';

/** One legend entry per kind of bar: every raw mechanism shares one. */
const PALETTE: Array<[string, string]> = [
  ['raw mechanism', '#9aa0a6'],
  ['farcall', '#1a56db'],
  ['comlink', '#f29900'],
  ['birpc', '#9334e6'],
  ['Node IPC (json)', '#188038'],
  ['Node IPC (advanced)', '#12b5cb'],
  ['piscina', '#d93025'],
];
const OTHER_COLORS = ['#e37400', '#5f6368', '#b31412', '#0d652d'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** "100 µs", "1 ms", "10 k" — short tick labels for a decade. */
function tickLabel(v: number, unit: Figure['unit']): string {
  if (unit === 'µs') {
    if (v >= 1e6) return `${v / 1e6} s`;
    if (v >= 1e3) return `${v / 1e3} ms`;
    return `${v} µs`;
  }
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return `${v}`;
}

/** The figure printed on its bar: short, so it fits above an 11 px bar turned on its side. */
export function barLabel(f: Figure): string {
  const v = f.median;
  if (f.unit === 'µs') return v >= 1000 ? `${Math.round(v).toLocaleString('en-US')}` : v >= 100 ? `${Math.round(v)}` : v.toPrecision(3);
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  return v.toPrecision(3);
}

/** How the round trips were timed, said on the chart: the same numbers mean different things pinned and not. */
function measuredHow(r: Results): string {
  const pin = r.settings.pinned
    ? r.pinNote
      ? `--pin was asked for but not done (${r.pinNote}): round trips unpinned only`
      : 'round trips timed unpinned (threads and processes on any CPU) and again pinned to one CPU (--pin, taskset -c 0)'
    : 'round trips timed unpinned (threads and processes on any CPU; on a VM most of it is waking another CPU; --pin also times them on one CPU)';
  return `${pin}.`;
}

function valueLabel(f: Figure): string {
  const n = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
  return `${n(f.median)} ${f.unit} (rounds ${n(f.min)}–${n(f.max)})`;
}

interface Bar {
  transport: string;
  subject: string;
  who: string;
  legend: string;
  figure?: Figure;
  why?: string;
  ratio?: string;
}

const panelTitle = (m: Metric): string => `${m.short}, ${m.lowerIsBetter ? 'lower' : 'higher'} is better`;

/** Splits `text` into lines of at most about `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function chart(r: Results): string {
  const all = metricsOf(r);
  // Latency p50 (and on one CPU), then throughput with more than one call in flight (one in flight is 1 ÷ latency, near enough).
  const metrics: Metric[] = all.filter((m) => m.key === 'p50' || m.key === 'p50pin' || (m.key.startsWith('t') && m.key !== 't1'));
  const comparisons = compare(r);
  const legendOf = (who: string, role: string): string => (role === 'raw' ? 'raw mechanism' : who);
  const legends: string[] = [];
  for (const s of r.subjects) {
    const l = legendOf(s.who, s.role);
    if (!legends.includes(l)) legends.push(l);
  }
  const colorOf = (l: string): string => PALETTE.find(([k]) => k === l)?.[1] ?? OTHER_COLORS[legends.indexOf(l) % OTHER_COLORS.length]!;

  // Geometry.
  const barW = 11;
  const barGap = 2;
  const groupGap = 22;
  const groups = r.transports.map((t) => ({ t, subjects: r.subjects.filter((s) => s.transport === t.id) })).filter((g) => g.subjects.length > 0);
  const plotW = groups.reduce((w, g) => w + g.subjects.length * (barW + barGap) - barGap + groupGap, groupGap);
  const axisW = 58;
  // Wide enough for the plot and for the longest panel title (12 px text, about 6.4 px a character).
  const titleW = Math.max(...metrics.map((m) => panelTitle(m).length)) * 6.4;
  const panelW = Math.ceil(Math.max(axisW + plotW + 16, axisW + titleW + 12, 250));
  const plotH = 150;
  /** Room above the plot for the label of a bar that reaches the top. */
  const labelH = 30;
  const rowTitleH = 22;
  const panelTitleH = 20;
  const xLabelH = 40;
  const panelH = rowTitleH + panelTitleH + labelH + plotH + xLabelH + 10;
  const marginX = 24;
  const headerH = 112;
  const legendH = 28;
  const footerH = 40;
  const width = marginX * 2 + metrics.length * panelW;
  const height = headerH + legendH + r.payloads.length * panelH + footerH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="11" role="img">`,
    `<title>farcall bench: same-host transports, ${escapeXml(machineLine(r.machine))}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${marginX}" y="30" font-size="18" font-weight="600" fill="#202124">farcall bench: same-host transports</text>`,
    `<text x="${marginX}" y="52" font-size="12" fill="#3c4043">${escapeXml(machineLine(r.machine))}</text>`,
    `<text x="${marginX}" y="70" font-size="12" fill="#3c4043">${escapeXml(
      `farcall ${r.version}, ${r.date.slice(0, 10)}. Each bar: median of ${r.settings.rounds} rounds of ${r.settings.time} ms; whisker: slowest–fastest round${r.settings.quick ? ' (--quick)' : ''}. Log scales.`,
    )}</text>`,
    `<text x="${marginX}" y="86" font-size="12" fill="#3c4043">${escapeXml(`Measured: ${measuredHow(r)}`)}</text>`,
    `<text x="${marginX}" y="102" font-size="12" fill="#3c4043">Latency in µs, lower is better; throughput in calls/s, higher is better; each bar carries its median. No bar: not run or failed (results.md says why). Ratios in results.md and the bar tooltips.</text>`,
  );

  // Legend.
  let lx = marginX;
  const ly = headerH + 8;
  for (const l of legends) {
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${colorOf(l)}"/>`);
    out.push(`<text x="${lx + 17}" y="${ly + 10}" font-size="12" fill="#202124">${escapeXml(l)}</text>`);
    lx += 17 + l.length * 6.6 + 18;
  }

  r.payloads.forEach((p, row) => {
    const rowY = headerH + legendH + row * panelH;
    const size = p.kind === 'object' ? ` (${formatBytes(p.bytes)} as JSON)` : '';
    out.push(`<text x="${marginX}" y="${rowY + 16}" font-size="14" font-weight="600" fill="#202124">${escapeXml(p.label + size)}</text>`);
    out.push(`<line x1="${marginX}" x2="${width - marginX}" y1="${rowY + 21}" y2="${rowY + 21}" stroke="#e8eaed"/>`);
    metrics.forEach((m, col) => {
      const x0 = marginX + col * panelW;
      const y0 = rowY + rowTitleH;
      const bars: Bar[] = [];
      for (const g of groups) {
        for (const s of g.subjects) {
          const cell = r.cells.find((c) => c.subject === s.id && c.payload === p.id);
          const f = cell ? m.get(cell) : undefined;
          const c = comparisons.find((x) => x.subject === s.id && x.payload === p.id);
          const vsRaw = c?.vsRaw[m.key];
          const vsPeer = c?.vsBestPeer?.[m.key];
          const ratio = [vsRaw && `${vsRaw.ratio.toFixed(2)}× the time per call of ${vsRaw.who}`, vsPeer && `${vsPeer.ratio.toFixed(2)}× of ${vsPeer.who}`]
            .filter(Boolean)
            .join('; ');
          const skipped = cell?.throughput[m.key.slice(1)];
          const why =
            cell?.notRun ?? cell?.error ?? (skipped && 'skipped' in skipped ? `not run: ${skipped.skipped}` : cell && !f ? 'not run' : undefined);
          bars.push({ transport: g.t.label, subject: s.id, who: s.who, legend: legendOf(s.who, s.role), figure: f, ...(why ? { why } : {}), ...(ratio ? { ratio } : {}) });
        }
      }
      out.push(panel(x0, y0, m, bars, groups));
    });
  });

  function panel(x0: number, y0: number, m: Metric, bars: Bar[], gs: typeof groups): string {
    const o: string[] = [`<g transform="translate(${x0},${y0})">`];
    const title = panelTitle(m);
    o.push(`<text x="${axisW}" y="14" font-size="12" fill="#202124">${escapeXml(title)}</text>`);
    const top = panelTitleH + labelH;
    const bottom = top + plotH;
    const left = axisW;
    const values = bars.flatMap((b) => (b.figure ? [b.figure.min, b.figure.max, b.figure.median] : [])).filter((v) => v > 0);
    if (values.length === 0) {
      // Usually one reason for the whole panel (the in-flight budget): say it.
      const count = new Map<string, number>();
      for (const b of bars) count.set(b.why ?? 'not run', (count.get(b.why ?? 'not run') ?? 0) + 1);
      const text = [...count].sort((a, b) => b[1] - a[1])[0]![0];
      o.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="#f8f9fa" stroke="#e8eaed"/>`);
      wrap(text, Math.floor(plotW / 6)).forEach((line, i) => {
        o.push(`<text x="${left + plotW / 2}" y="${top + plotH / 2 - 6 + i * 14}" text-anchor="middle" fill="#5f6368">${escapeXml(line)}</text>`);
      });
      o.push('</g>');
      return o.join('\n');
    }
    let lo = Math.floor(Math.log10(Math.min(...values)));
    let hi = Math.ceil(Math.log10(Math.max(...values)));
    if (hi === lo) hi++;
    if (hi - lo < 2) lo--;
    const y = (v: number): number => bottom - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
    // Grid and tick labels, one per decade; faint lines at 2× and 5×.
    for (let d = lo; d <= hi; d++) {
      const v = 10 ** d;
      o.push(`<line x1="${left}" x2="${left + plotW}" y1="${r1(y(v))}" y2="${r1(y(v))}" stroke="#dadce0"/>`);
      o.push(`<text x="${left - 5}" y="${r1(y(v) + 4)}" text-anchor="end" font-size="10" fill="#5f6368">${escapeXml(tickLabel(v, m.unit))}</text>`);
      if (d < hi) {
        for (const k of [2, 5]) o.push(`<line x1="${left}" x2="${left + plotW}" y1="${r1(y(k * v))}" y2="${r1(y(k * v))}" stroke="#f1f3f4"/>`);
      }
    }
    // Axes and their titles.
    o.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#5f6368"/>`);
    o.push(`<line x1="${left}" x2="${left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#5f6368"/>`);
    const yTitle = m.unit === 'µs' ? 'round trip (µs, log)' : 'calls/s (log)';
    o.push(
      `<text transform="translate(12,${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="10" fill="#3c4043">${escapeXml(yTitle)}</text>`,
    );
    o.push(`<text x="${left + plotW / 2}" y="${bottom + xLabelH + 2}" text-anchor="middle" font-size="10" fill="#3c4043">transport</text>`);
    // Bars, grouped by transport.
    let x = left + groupGap;
    for (const g of gs) {
      const n = g.subjects.length;
      const gw = n * (barW + barGap) - barGap;
      // One word a line, so neighbouring groups' names never overlap.
      g.t.label.split(' ').forEach((word, i) => {
        o.push(`<text x="${r1(x + gw / 2)}" y="${bottom + 13 + i * 11}" text-anchor="middle" font-size="10" fill="#202124">${escapeXml(word)}</text>`);
      });
      for (const s of g.subjects) {
        const b = bars.find((bb) => bb.subject === s.id)!;
        const color = colorOf(b.legend);
        if (b.figure && b.figure.median > 0) {
          const yt = y(b.figure.median);
          const tip = `${b.transport} · ${b.who}: ${valueLabel(b.figure)}${b.ratio ? `; ${b.ratio}` : ''}`;
          o.push(`<g><title>${escapeXml(tip)}</title>`);
          o.push(`<rect x="${r1(x)}" y="${r1(yt)}" width="${barW}" height="${r1(Math.max(bottom - yt, 1))}" fill="${color}"/>`);
          const cx = r1(x + barW / 2);
          const ymin = r1(y(Math.max(b.figure.min, 10 ** lo)));
          const ymax = r1(y(b.figure.max));
          o.push(`<line x1="${cx}" x2="${cx}" y1="${ymin}" y2="${ymax}" stroke="#202124" stroke-width="1"/>`);
          o.push(`<line x1="${r1(x + 2)}" x2="${r1(x + barW - 2)}" y1="${ymax}" y2="${ymax}" stroke="#202124" stroke-width="1"/>`);
          // The median, above the bar and its whisker, read bottom to top.
          const ly = r1(Math.min(yt, Number(ymax)) - 3);
          o.push(`<text transform="translate(${r1(x + barW / 2 + 3)},${ly}) rotate(-90)" font-size="9" fill="#202124">${escapeXml(barLabel(b.figure))}</text>`);
          o.push('</g>');
        } else {
          const tip = `${b.transport} · ${b.who}: ${b.why ?? 'not run'}`;
          o.push(
            `<g><title>${escapeXml(tip)}</title><text x="${r1(x + barW / 2)}" y="${bottom - 3}" text-anchor="middle" font-size="9" fill="${color}">–</text></g>`,
          );
        }
        x += barW + barGap;
      }
      x += groupGap - barGap;
    }
    o.push('</g>');
    return o.join('\n');
  }

  const busy = busyWarning(r.machine);
  if (busy) out.push(`<text x="${marginX}" y="${height - 30}" font-size="11" fill="#b3261e">${escapeXml(`Warning: ${busy}.`)}</text>`);
  out.push(
    `<text x="${marginX}" y="${height - 16}" font-size="11" fill="#5f6368">${escapeXml(
      `Made by ${r.command ?? 'farcall bench'}. The run took ${(r.durationMs / 1000).toFixed(1)} s.`,
    )}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

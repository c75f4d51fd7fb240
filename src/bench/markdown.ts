/** The bench results as markdown: one table per payload, each figure beside its ratios. */
import { compare, metricsOf, type Comparison, type Comparisons } from './compare.ts';
import type { Figure } from './measure.ts';
import { busyWarning, machineLine } from './machine.ts';
import type { Results } from './matrix.ts';
import { formatBytes } from './payloads.ts';
import type { StreamResults } from './stream-rows.ts';
import { SYNC_WHO, type SyncResults } from './sync.ts';

/** Three significant digits, thousands separated: 0.912, 48.2, 152, 12,345. */
export function num(v: number): string {
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

const fig = (f: Figure): string => `${num(f.median)} (${num(f.min)}–${num(f.max)})`;
const ratio = (x: number): string => `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;

/** A p99 taken from fewer round trips than this per round is marked. */
export const FEW_SAMPLES = 100;

export function settingsLine(r: Results): string {
  const s = r.settings;
  return (
    `Each figure is the median of ${s.rounds} round${s.rounds === 1 ? '' : 's'} of ${s.time} ms (slowest–fastest round in brackets), after ${s.warmup} ms of warm-up` +
    `${s.quick ? ' (`--quick`)' : ''}; pools run ${s.threads} threads. The run took ${(r.durationMs / 1000).toFixed(1)} s; ` +
    `other work kept the CPUs ${r.machine.otherWork.before}% busy just before it and ${r.machine.otherWork.after}% just after.`
  );
}

export const HOW_TO_READ =
  'Latency is each round trip timed on its own by a plain loop, one call at a time (tinybench 6 reported ' +
  'impossible figures for cross-thread ping-pong, so it is not used for latency). Throughput keeps 1, 16 or ' +
  '1,000 calls in flight; "1 in flight" is the calls per second of the latency rounds themselves. ' +
  'Ratios (↳ rows) compare time per call with the base named in the row: 1.25× is a quarter more time per ' +
  'call than the base (for throughput: the base does 1.25 times as many calls per second), below 1× is faster. ' +
  'Only ratios taken in one run count: absolute figures drift between runs.';

export function markdown(r: Results): string {
  const metrics = metricsOf(r);
  const comparisons = compare(r);
  const lines: string[] = [
    '# farcall bench: same-host transports',
    '',
    `**Machine:** ${machineLine(r.machine)}. farcall ${r.version}, ${r.date.slice(0, 10)}, \`${r.command ?? 'farcall bench'}\`.`,
    '',
    settingsLine(r),
    '',
    HOW_TO_READ,
    '',
  ];
  if (r.settings.pinned) {
    lines.push(
      r.pinNote
        ? `No figures on one CPU: ${r.pinNote}.`
        : '"p50 on 1 CPU" is the same round trip timed again with every thread and process of the run on one CPU (`taskset -c 0`), where a round trip measures the library rather than the wake-up of another CPU.',
      '',
    );
  }
  const busy = busyWarning(r.machine);
  if (busy) lines.push(`**Warning:** ${busy}.`, '');
  if (r.missing.length > 0) {
    lines.push(`Not installed, so not measured: ${r.missing.map((m) => `${m.who} (\`npm i -D ${m.package}\`)`).join(', ')}.`, '');
  }

  // Only the sync rows chosen: no payload tables.
  for (const p of r.subjects.length > 0 ? r.payloads : []) {
    const size = p.kind === 'object' ? ` — ${formatBytes(p.bytes)} as JSON` : '';
    lines.push(`## ${p.label}${size}`, '');
    lines.push(`| transport | who | ${metrics.map((m) => m.label).join(' | ')} |`);
    lines.push(`| --- | --- | ${metrics.map(() => '---:').join(' | ')} |`);
    const notes = new Set<string>();
    let few = false;
    for (const t of r.transports) {
      let first = true;
      for (const s of r.subjects.filter((x) => x.transport === t.id)) {
        const cell = r.cells.find((c) => c.subject === s.id && c.payload === p.id);
        if (!cell) continue;
        if (cell.notRun) {
          notes.add(`${t.label}, ${s.who}: not run — ${cell.notRun}.`);
          continue;
        }
        const who = s.role === 'farcall' ? `**${s.who}**` : s.who;
        const values = metrics.map((m) => {
          const f = m.get(cell);
          if (f) {
            const mark = m.key === 'p99' && cell.latency && cell.latency.samples < FEW_SAMPLES ? '\\*' : '';
            if (mark) few = true;
            return fig(f) + mark;
          }
          const skip = cell.throughput[m.key.slice(1)];
          if (skip && 'skipped' in skip) notes.add(`—: not run, ${skip.skipped}.`);
          return '—';
        });
        lines.push(`| ${first ? t.label : ''} | ${who} | ${values.join(' | ')} |`);
        first = false;
        if (cell.error) notes.add(`${t.label}, ${s.who}: **failed** — ${cell.error}.`);
        const c = comparisons.find((x) => x.subject === s.id && x.payload === p.id);
        if (c) lines.push(...ratioRows(c, metrics.map((m) => m.key), notes));
      }
    }
    if (few) notes.add(`\\*: fewer than ${FEW_SAMPLES} round trips in a round, so this p99 is close to the slowest call.`);
    lines.push('');
    // Skipped columns first, then rows not run or failed, then the marks.
    const rank = (n: string): number => (n.startsWith('—') ? 0 : n.startsWith('(copied)') ? 2 : n.startsWith('\\*') ? 3 : 1);
    for (const n of [...notes].sort((a, b) => rank(a) - rank(b))) lines.push(`- ${n}`);
    if (notes.size > 0) lines.push('');
  }
  if (r.sync) lines.push(...syncSection(r.sync));
  if (r.streams) lines.push(...streamSection(r.streams));
  return lines.join('\n');
}

/** The sync rows: latency and the CPU it costs, with ratios to synckit and to the floor. */
function syncSection(s: SyncResults): string[] {
  const lines = ['## Synchronous calls: add(1, 2), the caller blocked until it answers', ''];
  if (s.error) return [...lines, `**Failed:** ${s.error}.`, ''];
  const pinned = s.pinned;
  lines.push(
    `| who | p50 (µs) | p99 (µs) | CPU ms per 1,000 calls |${pinned ? ' p50 on 1 CPU (µs) | CPU ms per 1,000 calls on 1 CPU |' : ''}`,
    `| --- | ---: | ---: | ---: |${pinned ? ' ---: | ---: |' : ''}`,
  );
  const [ours, synckit, floor] = SYNC_WHO;
  for (const who of SYNC_WHO) {
    const f = s.figures[who];
    if (!f) continue;
    const p = pinned?.[who];
    const on1 = pinned ? ` ${p ? fig(p.p50) : '—'} | ${p ? fig(p.cpu) : '—'} |` : '';
    lines.push(`| ${who === ours ? `**${who}**` : who} | ${fig(f.p50)} | ${fig(f.p99)} | ${fig(f.cpu)} |${on1}`);
    if (who !== ours) continue;
    for (const base of [synckit, floor]) {
      const b = s.figures[base];
      if (!b) continue;
      const x = (a: Figure, c: Figure): string => ratio(a.median / c.median);
      const pb = pinned?.[base];
      const on1x = pinned ? ` ${p && pb ? x(p.p50, pb.p50) : '—'} | ${p && pb ? x(p.cpu, pb.cpu) : '—'} |` : '';
      lines.push(`|  ↳ vs ${base} | ${x(f.p50, b.p50)} | ${x(f.p99, b.p99)} | ${x(f.cpu, b.cpu)} |${on1x}`);
    }
  }
  lines.push('');
  if (s.missing.length > 0) lines.push(`- Not installed, so not measured: ${s.missing.join(', ')} (\`npm i -D synckit\`).`);
  lines.push(
    '- The floor is two threads passing a counter through a SharedArrayBuffer, each spinning as long as createSyncFn does by default before it sleeps: no message, no codec. ' +
      'CPU is every thread of the process (caller and worker): a side that spins trades CPU for latency.',
    '',
  );
  return lines;
}

/** The stream rows: farcall's rate beside the raw mechanism's, each pair from the same rounds. */
function streamSection(s: StreamResults): string[] {
  const lines = ['## Streams: async iterables, items or bytes per second', ''];
  if (s.rows.length > 0) {
    lines.push('| what moves | who | median (slowest–fastest round) | ratio to raw |', '| --- | --- | ---: | ---: |');
    for (const row of s.rows) {
      const raw = s.rows.find((x) => x.what === row.what && x.role === 'raw');
      const x = row.role === 'farcall' && raw ? ratio(row.figure.median / raw.figure.median) : 'base';
      lines.push(`| ${row.what} | ${row.role === 'farcall' ? `**${row.who}**` : row.who} | ${fig(row.figure)} ${row.figure.unit} | ${x} |`);
    }
    lines.push('');
  }
  if (s.error) lines.push(`**Failed:** ${s.error}.`, '');
  lines.push('- Higher is better. The raw rows have no flow control: their sender runs as far ahead as it likes; farcall\'s producer runs at most its window ahead of the consumer.', '');
  return lines;
}

function ratioRows(c: Comparisons, keys: string[], notes: Set<string>): string[] {
  const rows: string[] = [];
  const row = (label: string, by: Record<string, Comparison>, named: boolean): void => {
    const cells = keys.map((k) => {
      const x = by[k];
      if (!x) return '—';
      if (x.copied) notes.add('(copied): the base cannot move a buffer (a pipe or socket has no transfer; Node IPC and birpc have no transfer list), so its figure for the same bytes copied is the base.');
      return `${ratio(x.ratio)}${named ? ` ${x.who}` : ''}${x.copied ? ' (copied)' : ''}`;
    });
    rows.push(`|  | ↳ ${label} | ${cells.join(' | ')} |`);
  };
  const raw = Object.values(c.vsRaw)[0];
  if (raw) row(`vs ${raw.who}`, c.vsRaw, false);
  if (c.vsBestPeer && Object.keys(c.vsBestPeer).length > 0) row('vs best peer', c.vsBestPeer, true);
  return rows;
}

import type { MetricsSnapshot, SideStats } from './snapshot.ts';

/**
 * A snapshot in the Prometheus text exposition format (0.0.4). Latency is a
 * summary in seconds, as Prometheus names units; `labels` (a service name,
 * an instance) go on every sample.
 */
export function renderPrometheus(snap: MetricsSnapshot, labels: Readonly<Record<string, string>> = {}): string {
  const base = Object.entries(labels).map(([k, v]) => `${safeName(k)}="${escape(v)}"`);
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: string[]): void => {
    if (samples.length === 0) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const sample = (name: string, extra: string[], value: number): string => {
    const all = [...base, ...extra];
    // toPrecision: ms / 1000 would print binary noise (0.000021000000000000002 for 21 µs).
    return `${name}${all.length ? `{${all.join(',')}}` : ''} ${Number.isFinite(value) ? Number(value.toPrecision(12)) : 0}`;
  };
  const each = (fn: (side: string, method: string, s: SideStats[string]) => string[]): string[] => {
    const out: string[] = [];
    for (const side of ['client', 'server'] as const) {
      for (const [method, s] of Object.entries(snap[side])) out.push(...fn(side, method, s));
    }
    return out;
  };
  const at = (side: string, method: string): string[] => [`side="${side}"`, `method="${escape(method)}"`];

  family('farcall_calls_total', 'counter', 'Calls finished, failed ones included.', each((side, m, s) => [sample('farcall_calls_total', at(side, m), s.calls)]));
  family(
    'farcall_errors_total',
    'counter',
    'Calls failed, by error code.',
    each((side, m, s) => Object.entries(s.errorsByCode).map(([code, n]) => sample('farcall_errors_total', [...at(side, m), `code="${escape(code)}"`], n))),
  );
  family('farcall_in_flight', 'gauge', 'Calls started and not yet settled.', each((side, m, s) => [sample('farcall_in_flight', at(side, m), s.inFlight)]));
  family(
    'farcall_call_duration_seconds',
    'summary',
    'Call latency: the round trip on a client, middleware and the method on a server.',
    each((side, m, s) => [
      ...(
        [
          ['0.5', s.latencyMs.p50],
          ['0.9', s.latencyMs.p90],
          ['0.99', s.latencyMs.p99],
          ['1', s.latencyMs.max],
        ] as const
      ).map(([q, ms]) => sample('farcall_call_duration_seconds', [...at(side, m), `quantile="${q}"`], ms / 1000)),
      sample('farcall_call_duration_seconds_sum', at(side, m), (s.latencyMs.mean * s.calls) / 1000),
      sample('farcall_call_duration_seconds_count', at(side, m), s.calls),
    ]),
  );
  if (snap.bytesIn !== undefined) family('farcall_received_bytes_total', 'counter', 'Bytes received by socket connections.', [sample('farcall_received_bytes_total', [], snap.bytesIn)]);
  if (snap.bytesOut !== undefined) family('farcall_sent_bytes_total', 'counter', 'Bytes sent by socket connections.', [sample('farcall_sent_bytes_total', [], snap.bytesOut)]);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Label values escape backslash, double quote and newline, as the format says. */
const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A label name is [a-zA-Z_][a-zA-Z0-9_]*. */
const safeName = (k: string): string => k.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(?=[0-9])/, '_');

/**
 * Which instance gets the next call. A balancer sees only candidates that
 * may take a call now (connected or connectable, not draining, not
 * ejected) and their load, so another backend can reuse it as it is.
 */

export interface Candidate {
  /** Calls sent to it and not yet answered. */
  readonly pending: number;
}

export interface Balancer {
  /** One of `candidates` (never empty). */
  pick<C extends Candidate>(candidates: readonly C[]): C;
}

/**
 * The candidate with the fewest calls pending; ties go round, so idle
 * instances share sequential calls rather than the first taking all.
 */
export function leastPending(): Balancer {
  let turn = 0;
  return {
    pick(candidates) {
      const n = candidates.length;
      if (n === 1) return candidates[0]!;
      const start = turn++ % n;
      let best = candidates[start]!;
      for (let i = 1; i < n && best.pending > 0; i++) {
        const c = candidates[(start + i) % n]!;
        if (c.pending < best.pending) best = c;
      }
      return best;
    },
  };
}

/** Each candidate in turn, whatever its load. */
export function roundRobin(): Balancer {
  let turn = 0;
  return { pick: (candidates) => candidates[turn++ % candidates.length]! };
}

export const balancers = { 'least-pending': leastPending, 'round-robin': roundRobin } as const;
export type BalancerName = keyof typeof balancers;

/**
 * One bound on the bytes all of a server's connections hold unwritten.
 * `maxWriteBuffer` bounds each connection, but eight clients that never
 * read took a server to 2.35 GiB; past this bound the connection with the
 * most bytes waiting, the slowest reader, is cut first, and so on until
 * the rest fit.
 */
export interface BudgetMember {
  /** Bytes this connection holds unwritten now. */
  waiting(): number;
  /** Closes the connection for being the slowest reader of a full server. */
  cut(waiting: number, total: number, max: number): void;
}

export class WriteBudget {
  private total = 0;
  /** Each member's bytes as it last said (or as last counted): stale only on the high side, since writing drains. */
  private readonly members = new Map<BudgetMember, number>();

  constructor(readonly max: number) {}

  /** `member` holds `bytes` unwritten. */
  note(member: BudgetMember, bytes: number): void {
    this.total += bytes - (this.members.get(member) ?? 0);
    this.members.set(member, bytes);
    if (this.total > this.max) this.enforce();
  }

  leave(member: BudgetMember): void {
    const bytes = this.members.get(member);
    if (bytes === undefined) return;
    this.total -= bytes;
    this.members.delete(member);
  }

  private enforce(): void {
    this.total = 0;
    for (const m of this.members.keys()) {
      const w = m.waiting();
      this.members.set(m, w);
      this.total += w;
    }
    while (this.total > this.max) {
      let slowest: BudgetMember | undefined;
      let most = 0;
      for (const [m, w] of this.members) if (w > most) [slowest, most] = [m, w];
      if (slowest === undefined) return;
      const total = this.total;
      this.leave(slowest);
      slowest.cut(most, total, this.max);
    }
  }
}

import { availableParallelism, cpus, release, totalmem, type as osType, arch } from 'node:os';

/** The machine a run was measured on; every output states it. */
export interface Machine {
  cpu: string;
  /** Logical CPUs this process may use. */
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /**
   * How busy all CPUs were (%) in the half second before the run started
   * and after it ended, when nothing of the bench ran: other work on the
   * machine skews every figure.
   */
  otherWork: { before: number; after: number };
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq;
    busy += t;
    total += t + c.times.idle;
  }
  return { busy, total };
}

/** The share of all CPUs' time (%) spent busy during the next `ms` milliseconds. */
export async function busyPercent(ms = 500): Promise<number> {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  return b.total > a.total ? Math.round((100 * (b.busy - a.busy)) / (b.total - a.total)) : 0;
}

export function describeMachine(otherWork: Machine['otherWork']): Machine {
  const model = cpus()[0]?.model?.replace(/\s+/g, ' ').trim();
  return {
    cpu: model || 'unknown CPU',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${osType()} ${release()} ${arch()}`,
    otherWork,
  };
}

/** "Intel Xeon, 2 CPUs, 7.8 GiB, Node v20.20.2, Linux 6.8 x64" */
export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} CPU${m.cores === 1 ? '' : 's'}, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.os}`;
}

/** Other work at this share of all CPUs (%) is worth a warning. */
const BUSY = 20;

/** A warning when other work kept the CPUs busy around the run, or undefined. */
export function busyWarning(m: Machine): string | undefined {
  const { before, after } = m.otherWork;
  if (Math.max(before, after) < BUSY) return undefined;
  return `other work kept the CPUs ${before}% busy just before the run and ${after}% just after it: every figure of this run is skewed by it`;
}

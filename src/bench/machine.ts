import { availableParallelism, cpus, loadavg, release, totalmem, type as osType, arch } from 'node:os';

/** The machine a run was measured on; every output states it. */
export interface Machine {
  cpu: string;
  /** Logical CPUs this process may use. */
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** The 1-minute load average when the run started and when it ended: other work on the machine skews every figure. */
  load: { start: number; end: number };
}

/** The 1-minute load average, rounded. */
export function loadNow(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export function describeMachine(loadAtStart: number): Machine {
  const model = cpus()[0]?.model?.replace(/\s+/g, ' ').trim();
  return {
    cpu: model || 'unknown CPU',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${osType()} ${release()} ${arch()}`,
    load: { start: loadAtStart, end: loadNow() },
  };
}

/** "Intel Xeon, 2 CPUs, 7.8 GiB, Node v20.20.2, Linux 6.8 x64" */
export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} CPU${m.cores === 1 ? '' : 's'}, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.os}`;
}

/** A warning when other work kept the CPUs busy during the run, or undefined. */
export function busyWarning(m: Machine): string | undefined {
  const load = Math.max(m.load.start, m.load.end);
  if (load < m.cores * 0.5) return undefined;
  return `the machine was busy with other work (1-minute load average ${m.load.start} at the start, ${m.load.end} at the end, on ${m.cores} CPUs): every figure of this run is skewed by it`;
}

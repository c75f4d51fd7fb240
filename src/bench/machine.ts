import { availableParallelism, cpus, release, totalmem, type as osType, arch } from 'node:os';

/** The machine a run was measured on; every output states it. */
export interface Machine {
  cpu: string;
  /** Logical CPUs this process may use. */
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
}

export function describeMachine(): Machine {
  const model = cpus()[0]?.model?.replace(/\s+/g, ' ').trim();
  return {
    cpu: model || 'unknown CPU',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${osType()} ${release()} ${arch()}`,
  };
}

/** "Intel Xeon, 2 CPUs, 7.8 GiB, Node v20.20.2, Linux 6.8 x64" */
export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} CPU${m.cores === 1 ? '' : 's'}, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.os}`;
}

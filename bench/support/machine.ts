/** The machine facts that every benchmark writes beside its figures. */
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineFacts {
  cpu: string;
  logicalCpus: number;
  memoryGiB: number;
  kernel: string;
  loadAverage1mAtStart: number;
  loadAverage1mAtEnd: number;
}

/** Returns the CPU, memory and kernel, with the 1-minute load average at the benchmark's start and now. */
export function machineFacts(loadAverageAtStart: number): MachineFacts {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    logicalCpus: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    loadAverage1mAtStart: Math.round(loadAverageAtStart * 100) / 100,
    loadAverage1mAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

import { cpus, freemem, loadavg, totalmem } from 'node:os'

/** What the numbers were measured on. */
export interface MachineInfo {
  readonly cpuModel: string
  readonly cores: number
  readonly memoryGiB: number
  readonly platform: string
  readonly arch: string
  readonly nodeVersion: string
  readonly v8Version: string
}

/** Describes this machine and the Node.js running the harness (the children run the same binary). */
export function describeMachine(): MachineInfo {
  const processors = cpus()
  return {
    cpuModel: processors[0]?.model.trim() || 'unknown',
    cores: processors.length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    platform: process.platform,
    arch: process.arch,
    nodeVersion: process.version,
    v8Version: process.versions.v8,
  }
}

/** The 1-, 5- and 15-minute load averages and free memory right now: other work on the machine skews timings. */
export interface LoadSnapshot {
  readonly at: string
  readonly loadAverage: readonly [number, number, number]
  readonly freeMemoryGiB: number
}

export function loadSnapshot(): LoadSnapshot {
  const [one = 0, five = 0, fifteen = 0] = loadavg()
  return {
    at: new Date().toISOString(),
    loadAverage: [round(one, 2), round(five, 2), round(fifteen, 2)],
    freeMemoryGiB: round(freemem() / 1024 ** 3, 1),
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

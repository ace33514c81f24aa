import { checkNumber, optionError } from '@tinyllm/core'
import type { Fault, FaultOptions, FaultSchedule, WeightedFault } from './fault.js'
import { checkFault, defaultFaultMix } from './fault.js'
import type { LoopbackRequest } from './loopback-request.js'
import type { RandomSource } from './seeded-random.js'

/** The random numbers drawn for one request when it arrives, so results do not depend on body arrival order. */
export interface FaultRoll {
  readonly rate: number
  readonly pick: number
}

/** Decides which fault, if any, each request gets. */
export class FaultPlan {
  #schedule: FaultSchedule | undefined
  #scheduleStart = 0
  #rate = 0
  #mix: readonly WeightedFault[] = defaultFaultMix
  #owner = 'startLoopbackServer'
  readonly #random: RandomSource

  constructor(random: RandomSource) {
    this.#random = random
  }

  /**
   * Replaces the settings; a list schedule counts from `nextRequestIndex`. A fault of no known kind, in the list or the
   * mix, or a `faultRate` that is not a number, is a ConfigurationError naming `owner`.
   */
  configure(options: FaultOptions, nextRequestIndex: number, owner: string): void {
    const faults = options.faults
    if (Array.isArray(faults)) {
      for (const [index, fault] of faults.entries()) {
        if (fault !== undefined && fault !== null) checkFault(fault, `faults[${index}]`, owner)
      }
    } else if (faults !== undefined && typeof faults !== 'function') {
      // A single fault given for a list would otherwise be read by index: ignored, or a string's letters taken for faults.
      throw optionError('faults', 'a list of faults or a function of the request', faults, owner)
    }
    const mix = options.faultMix ?? defaultFaultMix
    if (!Array.isArray(mix)) throw optionError('faultMix', 'a list of { fault, weight }', mix, owner)
    for (const [index, entry] of mix.entries()) {
      checkFault(entry?.fault, `faultMix[${index}].fault`, owner)
      checkNumber(entry.weight, `faultMix[${index}].weight`, { min: 0 }, owner)
    }
    // Out of [0, 1] is clamped; NaN is no rate at all.
    const rate = checkNumber(options.faultRate, 'faultRate', {}, owner) ?? 0
    this.#schedule = faults
    this.#scheduleStart = nextRequestIndex
    this.#rate = Math.min(1, Math.max(0, rate))
    this.#mix = mix
    this.#owner = owner
  }

  roll(): FaultRoll {
    return { rate: this.#random(), pick: this.#random() }
  }

  choose(requestIndex: number, request: LoopbackRequest, roll: FaultRoll): Fault | undefined {
    const schedule = this.#schedule
    if (typeof schedule === 'function') {
      const fault = schedule(requestIndex, request)
      // What a schedule function returns is checked as it is used: the request fails with a 500 that says why.
      if (fault) checkFault(fault, `the fault for request ${requestIndex}`, this.#owner)
      if (fault) return fault
    } else if (schedule) {
      const fault = schedule[requestIndex - this.#scheduleStart]
      if (fault) return fault
    }
    if (this.#rate > 0 && roll.rate < this.#rate) return pickWeighted(this.#mix, roll.pick)
    return undefined
  }
}

function pickWeighted(mix: readonly WeightedFault[], pick: number): Fault | undefined {
  let total = 0
  for (const entry of mix) total += Math.max(0, entry.weight ?? 1)
  if (total === 0) return undefined
  let target = pick * total
  for (const entry of mix) {
    target -= Math.max(0, entry.weight ?? 1)
    if (target < 0) return entry.fault
  }
  return mix.at(-1)?.fault
}

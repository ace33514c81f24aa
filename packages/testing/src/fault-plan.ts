import { checkKnownOptions, checkNumber, optionError } from '@tinyllm/core'
import type { Fault, FaultOptions, FaultSchedule, WeightedFault } from './fault.js'
import { defaultFaultMix, readFault } from './fault.js'
import type { LoopbackRequest } from './loopback-request.js'
import type { RandomSource } from './seeded-random.js'

const mixEntryKeys: ReadonlySet<string> = new Set(['fault', 'weight'])

/** The random numbers drawn for one request when it arrives, so results do not depend on body arrival order. */
export interface FaultRoll {
  readonly rate: number
  readonly pick: number
}

/** Decides which fault, if any, each request gets. */
export class FaultPlan {
  /** A function of the request, or a list's faults by their index in it. */
  #schedule: ScheduleFunction | ReadonlyMap<number, Fault> | undefined
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
   * mix, a mix entry with a key other than `fault` and `weight`, or a `faultRate` that is not a number from 0 to 1, is a
   * ConfigurationError naming `owner`. The faults are read once, into
   * copies: what the caller's list or objects become afterwards is not what was checked, and changes nothing.
   */
  configure(options: FaultOptions, nextRequestIndex: number, owner: string): void {
    const faults = options.faults
    let schedule: ScheduleFunction | ReadonlyMap<number, Fault> | undefined
    if (Array.isArray(faults)) schedule = readFaultList(faults, owner)
    else if (faults === undefined || typeof faults === 'function') schedule = faults
    // A single fault given for a list would otherwise be read by index: ignored, or a string's letters taken for faults.
    else throw optionError('faults', 'a list of faults or a function of the request', faults, owner)
    const given = options.faultMix ?? defaultFaultMix
    if (!Array.isArray(given)) throw optionError('faultMix', 'a list of { fault, weight }', given, owner)
    const mix: WeightedFault[] = []
    for (let index = 0; index < given.length; index++) {
      const entry: WeightedFault | undefined = given[index]
      // A misspelt `weight` would leave the default weight of 1 in place: a fault meant to be rare drawn as often.
      checkKnownOptions(entry as object, mixEntryKeys, owner, `faultMix[${index}]`)
      const fault = readFault(entry?.fault, `faultMix[${index}].fault`, owner)
      const weight = checkNumber(entry?.weight, `faultMix[${index}].weight`, { min: 0 }, owner)
      mix.push({ fault, weight })
    }
    // A probability: 1.5 or -0.1 is a mistake to name, not a rate to clamp.
    const rate = checkNumber(options.faultRate, 'faultRate', { min: 0, max: 1 }, owner) ?? 0
    // A rate with nothing to draw from would inject no fault at all, whatever the rate says.
    if (rate > 0 && mix.every((entry) => entry.weight === 0)) {
      throw optionError('faultMix', `a list with a fault of weight above 0 when faultRate is ${rate}`, given, owner)
    }
    this.#schedule = schedule
    this.#scheduleStart = nextRequestIndex
    this.#rate = rate
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
      if (fault) return readFault(fault, `the fault for request ${requestIndex}`, this.#owner)
    } else if (schedule) {
      const fault = schedule.get(requestIndex - this.#scheduleStart)
      if (fault) return fault
    }
    if (this.#rate > 0 && roll.rate < this.#rate) return pickWeighted(this.#mix, roll.pick)
    return undefined
  }
}

type ScheduleFunction = Extract<FaultSchedule, (...args: never[]) => unknown>

/**
 * A list schedule's faults by index, each read and checked once. Only the list's own entries are visited, so a sparse
 * list as long as a list can be is read at once; holes, `undefined` and `null` are requests without a fault.
 */
function readFaultList(faults: ReadonlyArray<unknown>, owner: string): ReadonlyMap<number, Fault> {
  const scheduled = new Map<number, Fault>()
  for (const key of Object.keys(faults)) {
    const index = Number(key)
    // Other own keys of the list (`faults.note = …`) are no entries of it.
    if (!Number.isInteger(index) || index < 0 || String(index) !== key) continue
    const fault = faults[index]
    if (fault !== undefined && fault !== null) scheduled.set(index, readFault(fault, `faults[${index}]`, owner))
  }
  return scheduled
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

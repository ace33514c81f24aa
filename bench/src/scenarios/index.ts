import type { AnyScenario } from '../harness/scenario.ts'
import { agentLoop } from './agent-loop.ts'
import { creditPipeline } from './credit-pipeline.ts'
import { distributedOverhead, distributedThroughput } from './distributed.ts'
import { footprint } from './footprint.ts'
import { httpFanOut } from './http-fan-out.ts'
import { memoryInFlight } from './memory-in-flight.ts'
import { otelBridge } from './otel-bridge.ts'
import { parallelWithoutIo } from './parallel-without-io.ts'
import { stepOverhead } from './step-overhead.ts'

/** Every scenario, in report order. */
export const scenarios: readonly AnyScenario[] = [
  stepOverhead,
  parallelWithoutIo,
  httpFanOut,
  creditPipeline,
  agentLoop,
  memoryInFlight,
  otelBridge,
  footprint,
  distributedThroughput,
  distributedOverhead,
]

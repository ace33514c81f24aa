import { StateMachineDefinition } from './fsm.js'

/**
 * The states every run of a Function walks. `retrying` is the backoff wait between attempts: a retry shows as
 * `running → retrying → running`, with the error that caused it on the event (or `output_validation → retrying` when
 * the retry policy retries invalid output).
 */
export type LifecycleState =
  | 'init'
  | 'input_validation'
  | 'running'
  | 'retrying'
  | 'output_validation'
  | 'processing_output'
  | 'complete'
  | 'failed'

/** The Function lifecycle as a state machine, shared by every run of every Function. */
export const functionLifecycle: StateMachineDefinition<LifecycleState> = new StateMachineDefinition<LifecycleState>({
  name: 'function-lifecycle',
  initial: 'init',
  transitions: {
    init: ['input_validation', 'failed'],
    input_validation: ['running', 'failed'],
    running: ['output_validation', 'retrying', 'failed'],
    retrying: ['running', 'failed'],
    output_validation: ['processing_output', 'retrying', 'failed'],
    processing_output: ['complete', 'failed'],
    complete: [],
    failed: [],
  },
})

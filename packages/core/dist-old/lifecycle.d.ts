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
export declare const functionLifecycle: StateMachineDefinition<LifecycleState>
//# sourceMappingURL=lifecycle.d.ts.map

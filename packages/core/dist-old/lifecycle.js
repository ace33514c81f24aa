import { StateMachineDefinition } from './fsm.js'
/** The Function lifecycle as a state machine, shared by every run of every Function. */
export const functionLifecycle = new StateMachineDefinition({
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
//# sourceMappingURL=lifecycle.js.map

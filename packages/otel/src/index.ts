export { attributeNames } from './attributes.js'
export { type InstrumentableFunction, RunTracer, type RunTracerOptions } from './run-tracer.js'

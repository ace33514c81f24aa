export { attributeNames } from './attributes.js'
export { RunTracer, type RunTracerOptions } from './run-tracer.js'

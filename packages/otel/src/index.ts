export { attributeNames } from './attributes.js'
export { RunTracer, type RunTracerOptions } from './run-tracer.js'
export { type TraceContextCarrier, traceContextCarrier } from './trace-context-carrier.js'

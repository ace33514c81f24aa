export { type RunReportOptions, renderRunReport } from './render-run-report.js'
export { writeRunReport } from './write-run-report.js'

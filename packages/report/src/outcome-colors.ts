import type { ShapeOutcome } from './run-shape.js'

/**
 * The colours of each outcome: a fill for nodes, a light fill for the groups around them, and a stroke. The fills are
 * distinct enough to tell apart in a screenshot, and each is named in the legend.
 */
export const outcomeColors: Readonly<
  Record<
    ShapeOutcome,
    { readonly fill: string; readonly groupFill: string; readonly stroke: string; readonly label: string }
  >
> = {
  complete: { fill: '#bbf7d0', groupFill: '#f0fdf4', stroke: '#15803d', label: 'complete' },
  failed: { fill: '#fecaca', groupFill: '#fef2f2', stroke: '#b91c1c', label: 'failed' },
  mixed: { fill: '#fde68a', groupFill: '#fffbeb', stroke: '#b45309', label: 'some failed' },
  running: { fill: '#c7d2fe', groupFill: '#eef2ff', stroke: '#4338ca', label: 'not finished' },
}

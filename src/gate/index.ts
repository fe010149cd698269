/* The gate's public surface: verdicts from data, no HTTP. */
export { defaultGateConfig, evaluateGate, MAX_WINDOW_MS, parseWindow, verdictToGauge } from './gate.ts'
export { collectGateInput, type GateQuery } from './input.ts'
export { normalQuantile, zForConfidence } from './normal.ts'
export { quantileInterval } from './quantile.ts'
export { wilson, type Interval } from './wilson.ts'
export type * from './types.ts'

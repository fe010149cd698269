/*
 * The defaults of the comparison rules, as plain data: the schema declares them as the `compare`
 * key's defaults (options.ts), and the comparison reads them here, because it runs in worker
 * threads that should not load the schema library (TypeBox costs each thread ~12 MB and ~150 ms).
 */
export const RULE_DEFAULTS = Object.freeze({
  headers: Object.freeze(['content-type']),
  maxBodyBytes: 4 * 1024 * 1024,
  maxDepth: 1000,
  maxDiffs: 100
})

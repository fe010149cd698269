/*
 * What the schema cannot check in a config, for `check-config` and `serve`: that the comparison
 * rules of every route compile as a whole. Each rule path and the gate windows are the schema's
 * to check (its jsonPath and window keywords, src/config/validate.ts), with every other error.
 */
import { checkRules } from './compare/rule-set.ts'
import { type FrozenConfig } from './config/index.ts'

/**
 * Errors of a validated config that the schema cannot see; empty when it can serve. Never throws:
 * a failure of a check itself (a bug, not the config's fault) is one line that says so, so that
 * check-config reports it with exit 2 like any other error instead of a stack trace.
 */
export function configErrors (config: FrozenConfig): string[] {
  try {
    return checkRules(config)
  } catch (err) {
    return [internalError(err)]
  }
}

/** The one line of a check that failed rather than found something wrong. */
function internalError (err: unknown): string {
  return `internal error while checking the config (please report it): ${err instanceof Error ? err.message : String(err)}`
}

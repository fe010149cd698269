/* Verdict-change notifications: POST a short message to webhooks when the gate turns fail or back to pass; timer-driven, never on the live path. */
import { request } from 'undici'
import { type GateResult, type Verdict } from '../gate/types.ts'
import { type Logger } from '../logger.ts'

export interface NotifySettings {
  webhooks: readonly string[]
  intervalMs: number
  retries: number
  timeoutMs: number
  pageUrl: string | null
}

/** The JSON body sent: `text` for Slack and chat tools, the figures for generic receivers. */
export function notification (result: GateResult, previous: Verdict, pageUrl: string | null): Record<string, unknown> {
  const m = result.checks.mismatch
  const e = result.checks.errors
  const l = result.checks.latency
  const icon = result.verdict === 'fail' ? ':red_circle:' : ':large_green_circle:'
  const lines = [
    `${icon} paritygate verdict ${previous} → *${result.verdict}* (window ${result.window}${result.route === null ? '' : `, route ${result.route}`})`,
    `mismatch ${(m.ratio * 100).toFixed(3)} % of ${m.compared} compared (budget ${(m.budget * 100).toFixed(3)} %): ${m.verdict}`,
    `candidate errors ${(e.ratio * 100).toFixed(3)} % of ${e.mirrored} mirrored (budget ${(e.budget * 100).toFixed(3)} %): ${e.verdict}`,
    `p95 candidate ${l.candidateP95Ms.toFixed(1)} ms vs primary ${l.primaryP95Ms.toFixed(1)} ms (budget ×${l.budget}): ${l.verdict}`
  ]
  if (pageUrl !== null) lines.push(pageUrl)
  return { text: lines.join('\n'), verdict: result.verdict, previous, window: result.window, route: result.route, checks: result.checks, link: pageUrl, generatedAt: result.generatedAt }
}

/**
 * A webhook's answer that is not a success. 5xx and 429 are worth another attempt (the receiver
 * is unwell or busy); any other 4xx says the request itself is refused, so it is not retried.
 */
export class WebhookStatus extends Error {
  readonly status: number
  readonly retried: boolean
  constructor (status: number) {
    const retried = status >= 500 || status === 429
    super(retried ? `status ${status}` : `status ${status} (not retried)`)
    this.name = 'WebhookStatus'
    this.status = status
    this.retried = retried
  }
}

/**
 * Evaluates the gate every `intervalMs` and notifies on a change to `fail`, and when the verdict
 * is `pass` again after an announced `fail` (directly or through `inconclusive`). Each webhook gets up to `retries` more attempts with doubling back-off; failures are
 * logged, never thrown. Sends run one at a time, so a slow receiver cannot pile them up.
 */
export class VerdictNotifier {
  #settings: NotifySettings
  #evaluate: () => GateResult
  #log: Logger
  #timer: NodeJS.Timeout | null
  #last: Verdict | null
  #lastNotified: Verdict | null
  #sending: Promise<void>
  /** notifications delivered and failed, for tests and metrics */
  sent: number
  failed: number

  /** waits out a retry's back-off (tests pass one that only records the delay) */
  #sleep: (ms: number) => Promise<void>

  /** @param opts.sleep how to wait between attempts @default a timer that does not keep the process alive */
  constructor (settings: NotifySettings, evaluate: () => GateResult, log: Logger, opts: { sleep?: (ms: number) => Promise<void> } = {}) {
    this.#sleep = opts.sleep ?? (async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms).unref()) })
    this.#settings = settings
    this.#evaluate = evaluate
    this.#log = log
    this.#timer = null
    this.#last = null
    this.#lastNotified = null
    this.#sending = Promise.resolve()
    this.sent = 0
    this.failed = 0
  }

  start (): void {
    if (this.#settings.webhooks.length === 0 || this.#timer !== null) return
    this.#timer = setInterval(() => this.check(), this.#settings.intervalMs).unref()
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** One evaluation; notifies when the verdict changed as described. Returns once any send finished. */
  async check (): Promise<void> {
    let result: GateResult
    try {
      result = this.#evaluate()
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'gate evaluation for notifications failed')
      return
    }
    const previous = this.#last
    this.#last = result.verdict
    // To fail from anything else; back to pass once a fail was announced (even through inconclusive).
    const toFail = result.verdict === 'fail' && previous !== null && previous !== 'fail'
    const backToPass = result.verdict === 'pass' && this.#lastNotified === 'fail'
    if (!toFail && !backToPass) return
    this.#lastNotified = result.verdict
    const body = JSON.stringify(notification(result, previous as Verdict, this.#settings.pageUrl))
    this.#sending = this.#sending.then(() => this.#sendAll(body))
    await this.#sending
  }

  /**
   * The judged candidate version changed (candidate.versionHeader): tells every webhook that the
   * gate starts afresh. Queued behind any send in progress; failures are logged, never thrown.
   */
  async versionChanged (previous: string | null, version: string): Promise<void> {
    if (this.#settings.webhooks.length === 0) return
    const lines = [`:arrows_counterclockwise: paritygate: candidate version ${previous ?? 'unknown'} → *${version}*: the gate's windows, field counts and samples start afresh`]
    if (this.#settings.pageUrl !== null) lines.push(this.#settings.pageUrl)
    const body = JSON.stringify({ text: lines.join('\n'), event: 'candidate_version', previous, version, link: this.#settings.pageUrl, generatedAt: new Date().toISOString() })
    this.#sending = this.#sending.then(() => this.#sendAll(body))
    await this.#sending
  }

  async #sendAll (body: string): Promise<void> {
    for (const url of this.#settings.webhooks) {
      let delay = 250
      for (let attempt = 0; attempt <= this.#settings.retries; attempt++) {
        try {
          const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, headersTimeout: this.#settings.timeoutMs, bodyTimeout: this.#settings.timeoutMs })
          await res.body.dump()
          if (res.statusCode < 300) { this.sent++; break }
          throw new WebhookStatus(res.statusCode)
        } catch (err) {
          const final = attempt === this.#settings.retries || (err instanceof WebhookStatus && !err.retried)
          if (final) {
            this.failed++
            this.#log.warn({ webhook: new URL(url).origin, err: (err as Error).message }, 'verdict notification failed')
            break
          }
          await this.#sleep(delay)
          delay *= 2
        }
      }
    }
  }
}

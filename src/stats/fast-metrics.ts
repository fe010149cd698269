/*
 * Counters and histograms for the per-request path, registered in a prom-client Registry as
 * plain metric objects. prom-client re-validates and re-hashes the labels on every call, even on
 * a bound child (a measurable share of the proxy's CPU: bench/JOURNAL.md); here a child is bound
 * once, and recording is an addition and a short bucket scan. Exposition (get()) has prom-client's shape.
 */
import { type Registry } from 'prom-client'

type Labels = Record<string, string>

interface MetricValue { value: number, labels: Labels, metricName?: string }

/** A counter child: bound to one label set. */
export class CounterChild {
  value: number
  readonly labels: Labels
  constructor (labels: Labels) {
    this.value = 0
    this.labels = labels
  }

  inc (n = 1): void { this.value += n }
}

function labelsOf (names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {}
  for (let i = 0; i < names.length; i++) labels[names[i]] = values[i]
  return labels
}

/** Children bound once per label set, registered in prom-client registries as plain metrics. */
abstract class LabelledMetric<C> {
  readonly name: string
  readonly help: string
  readonly aggregator = 'sum'
  readonly labelNames: readonly string[]
  protected readonly children: Map<string, C>
  /** label value → … → child, one level per label: a lookup builds no key string */
  readonly #tree: Map<string, unknown>
  #unlabelled: C | null

  constructor (opts: { name: string, help: string, labelNames?: readonly string[], registers: Registry[] }) {
    this.name = opts.name
    this.help = opts.help
    this.labelNames = opts.labelNames ?? []
    this.children = new Map()
    this.#tree = new Map()
    this.#unlabelled = null
    for (const r of opts.registers) r.registerMetric(this as never)
  }

  protected abstract create (labels: Labels): C

  /** The child for these label values (in labelNames order), created on first use. */
  labels (...values: string[]): C {
    const last = values.length - 1
    if (last < 0) return this.#unlabelled ?? (this.#unlabelled = this.#add(values))
    let level = this.#tree
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]) as Map<string, unknown> | undefined
      if (next === undefined) {
        next = new Map()
        level.set(values[i], next)
      }
      level = next
    }
    let child = level.get(values[last]) as C | undefined
    if (child === undefined) {
      child = this.#add(values)
      level.set(values[last], child)
    }
    return child
  }

  #add (values: string[]): C {
    const child = this.create(labelsOf(this.labelNames, values))
    this.children.set(values.join('\u0000'), child)
    return child
  }

  reset (): void {
    this.children.clear()
    this.#tree.clear()
    this.#unlabelled = null
  }
}

/** A labelled counter. */
export class FastCounter extends LabelledMetric<CounterChild> {
  readonly type = 'counter'

  protected create (labels: Labels): CounterChild { return new CounterChild(labels) }

  async get (): Promise<{ name: string, help: string, type: string, aggregator: string, values: MetricValue[] }> {
    const values: MetricValue[] = []
    for (const c of this.children.values()) values.push({ value: c.value, labels: { ...c.labels } })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

/** A histogram child: non-cumulative bucket counts, sum and count. */
export class HistogramChild {
  readonly counts: Float64Array
  sum: number
  count: number
  readonly labels: Labels
  readonly #bounds: readonly number[]

  constructor (bounds: readonly number[], labels: Labels) {
    this.counts = new Float64Array(bounds.length + 1)
    this.sum = 0
    this.count = 0
    this.labels = labels
    this.#bounds = bounds
  }

  observe (value: number): void {
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]) i++
    this.counts[i]++
    this.sum += value
    this.count++
  }
}

/** A labelled histogram with fixed buckets (upper bounds in ascending order). */
export class FastHistogram extends LabelledMetric<HistogramChild> {
  readonly type = 'histogram'
  readonly buckets: readonly number[]

  constructor (opts: { name: string, help: string, labelNames?: readonly string[], buckets: readonly number[], registers: Registry[] }) {
    const buckets = [...opts.buckets].sort((a, b) => a - b)
    super(opts)
    this.buckets = buckets
  }

  protected create (labels: Labels): HistogramChild { return new HistogramChild(this.buckets, labels) }

  /** Observes on the unlabelled child (for histograms without labels). */
  observe (value: number): void {
    this.labels().observe(value)
  }

  async get (): Promise<{ name: string, help: string, type: string, aggregator: string, values: MetricValue[] }> {
    const values: MetricValue[] = []
    for (const c of this.children.values()) {
      let cumulative = 0
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += c.counts[i]
        values.push({ value: cumulative, labels: { le: String(this.buckets[i]), ...c.labels }, metricName: `${this.name}_bucket` })
      }
      values.push({ value: c.count, labels: { le: '+Inf', ...c.labels }, metricName: `${this.name}_bucket` })
      values.push({ value: c.sum, labels: { ...c.labels }, metricName: `${this.name}_sum` })
      values.push({ value: c.count, labels: { ...c.labels }, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

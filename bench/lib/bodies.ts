// The mirror benchmark's answers (issue 16): a 1 KiB JSON document as the primary serves it, and the candidate's
// variants. `identical` is the primary's bytes (paritygate's byte-identical shortcut); `reserialized` is the same data
// written the way another serializer would (every object's keys in reverse order, whole numbers as `1.0`, non-ASCII
// characters as `\u00e9` escapes), so the comparison runs in full and must find a match; `mismatch` is `reserialized`
// with one field changed (the 5 % case serves it for one answer in 20).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const BODY_BYTES = 1024

/** What the candidate answers, by case name (CASES env of bench/mirror.bench.ts). */
export const CASES = ['reserialized', 'mismatch5', 'identical'] as const
export type MirrorCase = typeof CASES[number]

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function item (i: number): Json {
  return { sku: `SKU-${1000 + i}`, title: ['Thé vert', 'Café crème', 'Crêpe', 'Brioche', 'Éclair'][i], qty: 1 + (i % 3), unitPrice: 2.5 + i, discount: i === 2 ? 0.1 : 0, giftWrap: i === 4 }
}

/** The primary's document, padded with `note` to exactly BODY_BYTES bytes as JSON.stringify writes it. */
export function primaryDocument (): Record<string, Json> {
  const doc: Record<string, Json> = {
    id: 918273,
    version: 1,
    status: 'confirmed',
    createdAt: '2026-11-26T10:18:00.000Z',
    customer: { id: 4411, name: 'Renée Dupré', city: 'Orléans', country: 'FR', vip: true, score: 1 },
    shipping: { method: 'express', cost: 5, address: { street: '12 rue de l’Église', zip: '45000', city: 'Orléans' }, eta: null },
    items: [0, 1, 2, 3, 4].map(item),
    totals: { subtotal: 27.5, tax: 5.5, shipping: 5, total: 38, currency: 'EUR' },
    tags: ['web', 'promo', 'été'],
    note: ''
  }
  const size = Buffer.byteLength(JSON.stringify(doc))
  if (size > BODY_BYTES) throw new Error(`the document is ${size} bytes before padding, over ${BODY_BYTES}`)
  doc.note = 'n'.repeat(BODY_BYTES - size)
  return doc
}

/** A JSON string literal with every non-ASCII UTF-16 unit escaped as \uXXXX. */
function asciiString (s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `value` as another serializer might write it: keys reversed, whole numbers as `N.0`, non-ASCII escaped. */
export function reserialize (value: Json): string {
  if (value === null || typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}.0` : String(value)
  if (typeof value === 'string') return asciiString(value)
  if (Array.isArray(value)) return `[${value.map(reserialize).join(',')}]`
  return `{${Object.keys(value).reverse().map((k) => `${asciiString(k)}:${reserialize(value[k])}`).join(',')}}`
}

export interface Bodies {
  primary: Buffer
  reserialized: Buffer
  mismatch: Buffer
}

export function makeBodies (): Bodies {
  const doc = primaryDocument()
  const primary = Buffer.from(JSON.stringify(doc))
  const changed = structuredClone(doc) as Record<string, Record<string, Json>>
  changed.totals.total = 39 // a real difference the gate must count
  return { primary, reserialized: Buffer.from(reserialize(doc)), mismatch: Buffer.from(reserialize(changed)) }
}

/** Writes primary.json, reserialized.json and mismatch.json into `dir` (created) for a static server. */
export function writeBodies (dir: string): Bodies {
  const bodies = makeBodies()
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'primary.json'), bodies.primary)
  writeFileSync(join(dir, 'reserialized.json'), bodies.reserialized)
  writeFileSync(join(dir, 'mismatch.json'), bodies.mismatch)
  return bodies
}

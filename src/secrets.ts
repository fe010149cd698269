/*
 * What is secret, for every part that stores or logs (the logger, the comparison's redaction, the admin API):
 * names that are credentials or personal data, card numbers in any text, and the placeholder a
 * secret value becomes (an HMAC prefix under a key made at start-up; see compare/redact.ts).
 */
import { createHmac, randomBytes } from 'node:crypto'

let KEY = randomBytes(32)

/** This thread's placeholder key, in hex (comparison workers are given the main thread's). */
export function placeholderKey (): string {
  return KEY.toString('hex')
}

/** Uses the main thread's placeholder key, so that a secret has one placeholder everywhere. */
export function usePlaceholderKey (hex: string): void {
  if (hex !== KEY.toString('hex')) KEY = Buffer.from(hex, 'hex')
}

/** The HMAC prefix of a value under the placeholder key. */
export function digest8 (value: string | Uint8Array): string {
  return createHmac('sha256', KEY).update(value).digest('hex').slice(0, 8)
}

/** The placeholder of one secret value. */
export function placeholder (value: string | Uint8Array): string {
  return `[redacted:${createHmac('sha256', KEY).update(value).digest('hex').slice(0, 8)}]`
}

const NON_ALNUM = /[^a-z0-9]/g

/** A name as the patterns see it: lowercased, every character but ASCII letters and digits removed. */
export function normalizeName (name: string): string {
  return name.toLowerCase().replace(NON_ALNUM, '')
}

/**
 * Normalized names secret on their own: too short (or too common inside other words: `pin` in
 * `shipping`, `pan` in `company`, `auth` in `author`) to be looked for inside longer names.
 */
const SECRET_NAMES = new Set(['pass', 'pwd', 'pin', 'pincode', 'pinnumber', 'ssn', 'sin', 'pan', 'card', 'cc', 'ccnum', 'cvv2',
  'auth', 'sid', 'jwt', 'otp', 'totp', 'mfacode', 'dob', 'bearer'])

/**
 * Fragments that make any normalized name containing them secret: credentials (password,
 * token, key, session, cookie, signature), payment data (card, CVV, IBAN, account numbers) and
 * personal data (e-mail, phone, SSN, tax and national ids, passport, date of birth). Over-redacting
 * (`tokenCount`, `emailVerified`) costs a placeholder; under-redacting leaks.
 */
const SECRET_PARTS = /password|passwd|passphrase|pwd|secret|token|apikey|accesskey|privatekey|signingkey|encryptionkey|credential|authorization|authkey|authcode|session|cookie|signature|cardnumber|cardno|cardholder|ccnumber|creditcard|debitcard|cvv|cvc|securitycode|iban|accountnumber|acctnumber|routingnumber|bankaccount|email|phone|ssn$|socialsecurity|taxid|nationalid|passport|dateofbirth|birthdate|(?:card|user|atm)pin/

/** Further fragments for header names, where `key` and `auth` are never innocent (`x-api-key`, `x-auth-user`, `x-csrf-token`). */
const SECRET_HEADER_PARTS = /auth|key|token|secret|cookie|session|passw|pwd|credential|signature|csrf|xsrf/

/** True for a JSON key or form field name that holds a credential or personal data. */
export function isSecretField (name: string): boolean {
  const n = normalizeName(name)
  return SECRET_NAMES.has(n) || SECRET_PARTS.test(n)
}

/** True for a header whose value is a credential or personal data. */
export function isSecretHeader (name: string): boolean {
  const n = normalizeName(name)
  return SECRET_HEADER_PARTS.test(n) || SECRET_NAMES.has(n) || SECRET_PARTS.test(n)
}

/** Luhn (ISO/IEC 7812-1) check of a string of digits. */
export function luhn (digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) { d *= 2; if (d > 9) d -= 9 }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

/** Maximal runs of digits with single spaces or dashes between them. */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g
const RUN_SEPARATOR = /([ -])/

/**
 * The run with its card numbers replaced, or null when it holds none. A card is a whole run or
 * whole groups of it (cards are written in groups): 13 to 19 digits passing Luhn. A longer run of
 * digits without separators (an id, a hash) is not a card.
 */
function cardsInRun (run: string): string | null {
  const parts = run.split(RUN_SEPARATOR)
  if (parts.length === 1) return run.length <= 19 && luhn(run) ? placeholder(run) : null
  const out: string[] = []
  let changed = false
  let i = 0
  while (i < parts.length) {
    let digits = ''
    let card = ''
    let end = -1
    for (let j = i; j < parts.length; j += 2) {
      digits += parts[j]
      if (digits.length > 19) break
      if (digits.length >= 13 && luhn(digits)) { card = digits; end = j }
    }
    if (end === -1) {
      out.push(parts[i])
      if (i + 1 < parts.length) out.push(parts[i + 1])
      i += 2
    } else {
      out.push(placeholder(card))
      if (end + 1 < parts.length) out.push(parts[end + 1])
      i = end + 2
      changed = true
    }
  }
  return changed ? out.join('') : null
}

/** The text with every card number (13–19 digits, spaces or dashes allowed, Luhn-valid) replaced by a placeholder. */
export function scrubCards (text: string): string {
  if (text.length < 13) return text
  DIGIT_RUN.lastIndex = 0
  let out: string | null = null
  let last = 0
  let m: RegExpExecArray | null
  while ((m = DIGIT_RUN.exec(text)) !== null) {
    if (m[0].length < 13) continue
    const replaced = cardsInRun(m[0])
    if (replaced === null) continue
    out = (out ?? '') + text.slice(last, m.index) + replaced
    last = m.index + m[0].length
  }
  return out === null ? text : out + text.slice(last)
}

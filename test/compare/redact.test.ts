/* Redaction rules one by one: names by pattern, card numbers by Luhn, forms, non-JSON bodies, targets, configured URLs, log lines. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { canonicalize } from '../../src/compare/canonical.ts'
import { redactForm, redactTarget, redactText, redactUrl, Redactor } from '../../src/compare/redact.ts'
import { isSecretField, isSecretHeader, luhn, placeholder, scrubCards } from '../../src/secrets.ts'
import { createLogger } from '../../src/logger.ts'

const PH = /^\[redacted:[0-9a-f]{8}\]$/

test('field names should be secret by normalized pattern, whatever their case and separators', () => {
  for (const name of ['Password', 'user_password', 'USER-PASSWORD', 'passwd', 'pwd', 'pass', 'card', 'cc.number', 'cc_number', 'cardNumber', 'credit card',
    'pin', 'PIN_code', 'ssn', 'user_ssn', 'cvv', 'CVC', 'iban', 'apiKey', 'api-key', 'X_Auth_Token', 'accessToken', 'refresh_token', 'client_secret',
    'Authorization', 'auth', 'credentials', 'sessionId', 'session', 'cookie', 'email', 'e-mail', 'Phone', 'phone_number', 'dateOfBirth', 'passport_no', 'tax_id']) {
    ok(isSecretField(name), name)
  }
  for (const name of ['id', 'name', 'status', 'price', 'items', 'shipping', 'company', 'author', 'classname', 'cardinality', 'spinner', 'expand', 'keyed', 'side']) {
    ok(!isSecretField(name), name)
  }
})

test('header names should be secret by pattern: any token, key, auth, cookie, session or secret', () => {
  for (const name of ['authorization', 'x-auth-token', 'x-api-key', 'x-csrf-token', 'set-cookie', 'x-session-id', 'x-client-secret', 'x-amz-security-token', 'x-user-email', 'x-hub-signature']) {
    ok(isSecretHeader(name), name)
  }
  for (const name of ['content-type', 'content-length', 'etag', 'date', 'cache-control', 'x-request-id', 'keep-alive', 'vary']) ok(!isSecretHeader(name), name)
})

test('card numbers should be found by Luhn in any text, with spaces or dashes, and nothing else', () => {
  ok(luhn('4111111111111111') && !luhn('4111111111111112'))
  const card = (text: string) => scrubCards(text) !== text
  for (const text of ['4111111111111111', 'card 4111 1111 1111 1111 exp 12/27', '5500-0000-0000-0004', 'x4222222222222y', '3782 822463 10005',
    'ref 1234 4111-1111-1111-1111 ok', '6011000990139424 and 4012888888881881']) {
    ok(card(text), text)
    ok(!/\d{4}[ -]?\d{4}[ -]?\d{4}/.test(scrubCards(text)), scrubCards(text))
  }
  for (const text of ['4111111111111112', 'id 00004111111111111111', 'tel +1 202 555 0100', '2024-01-15 10:00:00', '1718000000001', 'hash 4af1c0de']) {
    strictEqual(scrubCards(text), text, text)
  }
  strictEqual(scrubCards('a 4111-1111-1111-1111 b'), `a ${placeholder('4111111111111111')} b`, 'the placeholder of a card is that of its digits')
})

test('JSON should be rendered with secret-named values replaced at any depth and card numbers replaced in any string or number', () => {
  const body = {
    Password: 'p1',
    user: { user_password: 'p2', 'cc.number': '5500 0000 0000 0004', pin: '1234', ssn: '078-05-1120', name: 'Ann' },
    list: [{ 'API-Key': 'k1', credentials: { a: 1 } }, { note: 'paid with 4111-1111-1111-1111 today', amount: 4012888888881881, count: 3 }],
    4111111111111111: 'a card as a key'
  }
  const tree = canonicalize(Buffer.from(JSON.stringify(body)), { hash: false })
  ok(tree.ok)
  const text = new Redactor([], ['$.user.name']).render(tree.value, 1e6)
  const shown = JSON.parse(text)
  for (const v of [shown.Password, shown.user.user_password, shown.user['cc.number'], shown.user.pin, shown.user.ssn, shown.user.name, shown.list[0]['API-Key'], shown.list[0].credentials, shown.list[1].amount]) {
    ok(typeof v === 'string' && PH.test(v), `${v}`)
  }
  strictEqual(shown.list[1].note, `paid with ${placeholder('4111111111111111')} today`)
  strictEqual(shown.list[1].count, 3)
  strictEqual(shown.Password, placeholder('p1'), 'a string is hashed by its value: equal secrets look equal')
  ok(!text.includes('4111111111111111') && !text.includes('p2') && !text.includes('078-05-1120') && !text.includes('Ann'), text)
})

test('a form body should be redacted field by field; other non-JSON bodies should not be stored unless configured', () => {
  const r = new Redactor()
  const form = Buffer.from('side=v2&Password=hunter2&card=4111+1111+1111+1111&note=paid+with+5500-0000-0000-0004&q=shoes&User.Email=a%40b.c')
  const shown = r.body(form, 'application/x-www-form-urlencoded', 1000).text
  ok(shown.startsWith('side=v2&Password=[redacted:') && shown.includes('&q=shoes&'), shown)
  for (const secret of ['hunter2', '4111', '5500', 'a%40b.c']) ok(!shown.includes(secret), `${secret} in ${shown}`)
  ok(shown.includes('note=paid%20with%20[redacted:'), shown)

  // Cut short: the last pair, perhaps a cut secret, goes whole.
  const cut = r.body(Buffer.from(`a=1&pan_hint=x&memo=4111 1111 1111 1111&z=${'y'.repeat(100)}`), 'application/x-www-form-urlencoded', 10)
  ok(cut.truncated && !cut.text.includes('4111') && !cut.text.includes('yyy'), cut.text)

  for (const type of ['text/plain', 'text/html', 'application/xml', 'application/octet-stream', 'application/json', '']) {
    const text = r.body(Buffer.from('password=hunter2 card 4111111111111111'), type, 1000).text
    ok(/^\[non-JSON body not stored: 38 bytes of [^,]+, digest [0-9a-f]{8}\]$/.test(text), text)
  }
  const a = r.body(Buffer.from('same'), 'text/plain', 100).text
  strictEqual(a, r.body(Buffer.from('same'), 'text/plain', 100).text, 'equal bodies show equal digests')
  ok(a !== r.body(Buffer.from('other'), 'text/plain', 100).text)

  const stored = new Redactor([], [], true).body(Buffer.from('user=bob password=hunter2\nAuthorization: Bearer abc.def\n<ssn>078-05-1120</ssn> 4111 1111 1111 1111'), 'text/plain', 1000).text
  ok(stored.startsWith('user=bob password=[redacted:') && stored.includes('Authorization: [redacted:') && stored.includes('<ssn>[redacted:'), stored)
  for (const secret of ['hunter2', 'abc.def', '078-05-1120', '4111']) ok(!stored.includes(secret), `${secret} in ${stored}`)
  ok(!redactText('x 4111 1111 1111 1111').includes('4111'))
  strictEqual(redactForm('a=1&token=x&tok'), `a=1&token=${placeholder('x')}&tok`)
})

test('response headers should be redacted by name pattern, card numbers and link query values replaced in the others', () => {
  const shown = new Redactor(['x-custom']).headerObject(['X-Auth-Token', 't1', 'x-api-key', 'k1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-custom', 'c1',
    'x-note', 'card 4111 1111 1111 1111', 'content-type', 'application/json', 'location', 'https://u:p@x.example/cb?code=abc#frag', 'connection', 'close'])
  for (const name of ['x-auth-token', 'x-api-key', 'x-custom']) ok(PH.test(shown[name]), name)
  ok(/^\[redacted:[0-9a-f]{8}\], \[redacted:[0-9a-f]{8}\]$/.test(shown['set-cookie']), shown['set-cookie'])
  strictEqual(shown['x-note'], `card ${placeholder('4111111111111111')}`)
  strictEqual(shown['content-type'], 'application/json')
  ok(/^https:\/\/\[redacted:[0-9a-f]{8}\]@x\.example\/cb\?code=\[redacted:[0-9a-f]{8}\]#\[redacted:[0-9a-f]{8}\]$/.test(shown.location), shown.location)
  strictEqual(shown.connection, undefined)
})

test('a stored request target should lose every query value, card numbers and token-like segments, and keep ids', () => {
  strictEqual(redactTarget('/orders/123/items/3f2a1b4c-1111-2222-3333-444455556666'), '/orders/123/items/3f2a1b4c-1111-2222-3333-444455556666')
  strictEqual(redactTarget('/a?token=x&page=2&flag'), `/a?token=${placeholder('x')}&page=${placeholder('2')}&${placeholder('flag')}`)
  strictEqual(redactTarget('/cards/4111111111111111'), `/cards/${placeholder('4111111111111111')}`)
  strictEqual(redactTarget('/cards/4111%201111%201111%201111'), `/cards/${placeholder('4111 1111 1111 1111')}`)
  for (const token of ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz', 'AbCdEfGhIjKlMnOpQrSt1234', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'a'.repeat(20) + 'b1'.repeat(10)]) {
    strictEqual(redactTarget(`/reset/${token}/x`), `/reset/${placeholder(token)}/x`, token)
  }
  strictEqual(redactTarget('/x;jsessionid=ABC;v=2'), `/x;jsessionid=${placeholder('ABC')};v=${placeholder('2')}`)
})

test('a configured URL should keep its scheme, host and plain path words only', () => {
  strictEqual(redactUrl('https://hooks.slack.com/services/T000/B000/XXXX'), 'https://hooks.slack.com/services/[redacted]/[redacted]/[redacted]')
  strictEqual(redactUrl('https://hooks.slack.com/services/T0A1B2C3D/B0E1F2G3H/abcdefghijklmnopqrstuvwx'), 'https://hooks.slack.com/services/[redacted]/[redacted]/[redacted]')
  strictEqual(redactUrl('https://user:pw@example.com/api/v1/hook?token=abc&flag#frag'), 'https://[redacted]@example.com/api/v1/hook?token=[redacted]&[redacted]#[redacted]')
  strictEqual(redactUrl('https://discord.com/api/webhooks/123456789/AbC-dEf_123'), 'https://discord.com/api/webhooks/[redacted]/[redacted]')
  strictEqual(redactUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080')
  strictEqual(redactUrl('https://pager.example.com/incidents/new'), 'https://pager.example.com/incidents/new')
  strictEqual(redactUrl('not a url'), '[redacted]')
})

test('log lines should lose secret-named values and card numbers, and keep hashes and errors', () => {
  let text = ''
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { text += chunk.toString(); cb() } })
  const log = createLogger('debug', [], sink)
  const err = new Error('boom')
  log.debug({ requestId: 'r-1', token: 'tok-secret-1', nested: { apiKey: 'key-secret-2', list: [{ password: 'pw-secret-3' }] }, headers: { 'x-csrf-token': 'csrf-secret-4', accept: '*/*' }, note: 'card 4111 1111 1111 1111', primaryHash: '41111111111111114111', err }, 'line')
  const line = JSON.parse(text) as Record<string, any>
  for (const secret of ['tok-secret-1', 'key-secret-2', 'pw-secret-3', 'csrf-secret-4', '4111 1111']) ok(!text.includes(secret), `${secret} in ${text}`)
  deepStrictEqual([line.token, line.nested.apiKey, line.nested.list[0].password, line.headers['x-csrf-token'], line.headers.accept], ['[redacted]', '[redacted]', '[redacted]', '[redacted]', '*/*'])
  strictEqual(line.requestId, 'r-1')
  strictEqual(line.primaryHash, '41111111111111114111')
  strictEqual(line.err.message, 'boom')
})

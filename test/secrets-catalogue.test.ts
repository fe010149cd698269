/*
 * A catalogue of secrets in every place a request or an answer can carry one (request and
 * response headers, JSON keys of any casing and separator at any depth, forms, text, HTML, XML
 * and binary bodies, query strings, path segments, card numbers inside free text), sent through a
 * real proxy whose primary and candidate disagree, so that samples are kept, with the mismatch
 * file on and logs at trace. Every output is then searched for every secret: none may appear.
 */
import { ok, strictEqual } from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { request } from 'undici'
import { placeholder } from '../src/secrets.ts'
import { startProxy, type StartedProxy } from './helpers/proxy.ts'
import { createUpstream } from './helpers/upstream.ts'
import { eventually, metric } from './mirror/helpers.ts'

/** Secrets that must never be seen again; each is unique, so that a hit names its way out. */
const S = {
  reqBearer: 'reqBearerQx7101',
  reqCookie: 'reqCookieQx7102',
  reqApiKey: 'reqApiKeyQx7103',
  reqAuthToken: 'reqAuthTokQx7104',
  reqCsrf: 'reqCsrfQx7105',
  reqProxyAuth: 'reqProxyAuthQx7106',
  reqSession: 'reqSessionQx7107',
  qToken: 'qTokenQx7201',
  qApiKey: 'qApiKeyQx7202',
  qEmail: 'q.user.qx7203@example.com',
  qSearch: 'qSearchQx7204',
  pathToken: 'PathTok3nQx7301AbCdEfGhIjKl',
  pathSession: 'PathSessQx7302',
  resAuthToken: 'resAuthTokQx7401',
  resApiKey: 'resApiKeyQx7402',
  resCookie: 'resCookieQx7403',
  resCsrf: 'resCsrfQx7404',
  resSession: 'resSessionQx7405',
  resSecret: 'resSecretQx7406',
  resEmail: 'res.mail.qx7407@example.com',
  resCode: 'resCodeQx7408',
  jPassword: 'jPasswordQx7501',
  jUserPassword: 'jUserPwdQx7502',
  jPin: 'Pin7503Qx',
  jSsn: '078-05-7504',
  jApiKey: 'jApiKeyQx7505',
  jAuthToken: 'jAuthTokQx7506',
  jRefresh: 'jRefreshQx7507',
  jCredPass: 'jCredPassQx7508',
  jEmail: 'j.mail.qx7509@example.com',
  jPhone: '+1-202-555-7510',
  jIban: 'GB33BUKB20201555557511',
  jSession: 'jSessionQx7512',
  jSecretKey: 'jSecretKeyQx7513',
  jCvv: 'Cvv7514Qx',
  fPassword: 'fPasswordQx7601',
  fToken: 'fTokenQx7602',
  fEmail: 'f.mail.qx7603@example.com',
  tPassword: 'tPasswordQx7701',
  tToken: 'tTokenQx7702',
  hSecret: 'hSecretQx7801',
  xSecret: 'xSecretQx7802',
  binSecret: 'binSecretQx7803',
  hookToken: 'hookTokenQx7901',
  hookQuery: 'hookQueryQx7902',
  pageUser: 'pageUserQx7903',
  pagePass: 'pagePassQx7904'
}

/** Luhn-valid card numbers, each used once, in every spelling they are sent in. */
const CARDS = {
  jString: '4111 1111 1111 1111',
  jDotted: '5500-0000-0000-0004',
  jNumber: '4012888888881881',
  jFree: '3782 822463 10005',
  qCard: '6011111111111117',
  qFree: '4000 0566 5566 5556',
  pathCard: '4242424242424242',
  resNote: '5105-1051-0510-5100',
  fCard: '4222222222222',
  fFree: '5555 5555 5555 4444',
  tCard: '4000-0000-0000-0002',
  hCard: '3566 0020 2036 0505',
  xCard: '6200000000000005'
}

const SPELLINGS = (value: string) => [value, value.replace(/[ -]/g, ''), encodeURIComponent(value), value.replaceAll(' ', '+')]

/** Every string that must not appear, with the name of the secret it spells. */
const NEEDLES: Array<[string, string]> = [
  ...Object.entries(S).flatMap(([name, value]) => SPELLINGS(value).map((s): [string, string] => [s, name])),
  ...Object.entries(CARDS).flatMap(([name, value]) => SPELLINGS(value).map((s): [string, string] => [s, `card ${name}`]))
]

function answer (side: string, req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://x')
  res.setHeader('set-cookie', [`session=${S.resCookie}; HttpOnly`, `theme=dark-${side}`])
  res.setHeader('x-auth-token', S.resAuthToken)
  res.setHeader('X-Api-Key', S.resApiKey)
  res.setHeader('x-csrf-token', S.resCsrf)
  res.setHeader('X-Session-Id', S.resSession)
  res.setHeader('x-client-secret', S.resSecret)
  res.setHeader('x-user-email', S.resEmail)
  res.setHeader('x-note', `card ${CARDS.resNote} on file (${side})`)
  res.setHeader('content-location', `/callback?code=${S.resCode}&state=ok`)
  res.setHeader('x-side', side)
  const p = url.pathname
  if (p === '/json') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({
      side,
      visible: 'plain words stay',
      Password: S.jPassword,
      user_password: S.jUserPassword,
      card: CARDS.jString,
      'cc.number': CARDS.jDotted,
      PIN: S.jPin,
      SSN: S.jSsn,
      amount: Number(CARDS.jNumber),
      note: `paid with ${CARDS.jFree} yesterday`,
      account: { IBAN: S.jIban, 'Session-ID': S.jSession, 'Secret Key': S.jSecretKey, cvv: S.jCvv },
      nested: {
        deeper: [{ 'API-Key': S.jApiKey, X_Auth_Token: S.jAuthToken, refreshToken: S.jRefresh, credentials: { user: 'bob', pass: S.jCredPass } }]
      },
      'e-mail': S.jEmail,
      Phone: S.jPhone,
      echo: {
        headers: { authorization: req.headers.authorization, cookie: req.headers.cookie, 'x-api-key': req.headers['x-api-key'], 'x-auth-token': req.headers['x-auth-token'], 'x-csrf-token': req.headers['x-csrf-token'] },
        // `q` is a search, not a secret by name: only the path shows it, with every query value redacted.
        query: Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'q'))
      }
    }))
  } else if (p === '/form') {
    res.setHeader('content-type', 'application/x-www-form-urlencoded')
    res.end(`side=${side}&password=${S.fPassword}&Access-Token=${S.fToken}&card_number=${encodeURIComponent(CARDS.fCard)}&note=${encodeURIComponent(`paid with ${CARDS.fFree} ok`)}&E.Mail=${encodeURIComponent(S.fEmail)}&echo=${encodeURIComponent(body.length)}`)
  } else if (p === '/text') {
    res.setHeader('content-type', 'text/plain')
    res.end(`side ${side}\npassword=${S.tPassword}\nAuthorization: Bearer ${S.tToken}\ncard ${CARDS.tCard}\n`)
  } else if (p === '/html') {
    res.setHeader('content-type', 'text/html')
    res.end(`<html><body data-side="${side}"><input name="secret" value="${S.hSecret}">${CARDS.hCard}</body></html>`)
  } else if (p === '/xml') {
    res.setHeader('content-type', 'application/xml')
    res.end(`<r side="${side}"><password>${S.xSecret}</password><n>${CARDS.xCard}</n></r>`)
  } else if (p === '/bin') {
    res.setHeader('content-type', 'application/octet-stream')
    res.end(Buffer.concat([Buffer.from([0, 1, 2, side === 'v1' ? 1 : 2]), Buffer.from(S.binSecret)]))
  } else {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ side, path: 'seen' }))
  }
}

async function upstream (t: TestContext, side: string): Promise<string> {
  return createUpstream(t, (req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => { body += d })
    req.on('end', () => answer(side, req, res, body))
  })
}

const REQUEST_HEADERS = {
  authorization: `Bearer ${S.reqBearer}`,
  cookie: `sid=${S.reqCookie}; theme=dark`,
  'x-api-key': S.reqApiKey,
  'x-auth-token': S.reqAuthToken,
  'x-csrf-token': S.reqCsrf,
  'proxy-authorization': `Basic ${S.reqProxyAuth}`,
  'x-session-id': S.reqSession
}

const QUERY = `token=${S.qToken}&api_key=${S.qApiKey}&email=${encodeURIComponent(S.qEmail)}&q=${S.qSearch}&card=${CARDS.qCard}&memo=${encodeURIComponent(`card ${CARDS.qFree}`)}`

const TARGETS: Array<{ method: string, path: string, body?: string, route: string }> = [
  { method: 'GET', path: `/json?${QUERY}`, route: 'GET /json' },
  { method: 'POST', path: `/form?${QUERY}`, body: `password=${S.fPassword}&card=${CARDS.fCard}`, route: 'POST /form' },
  { method: 'GET', path: '/text', route: 'GET /text' },
  { method: 'GET', path: '/html', route: 'GET /html' },
  { method: 'GET', path: '/xml', route: 'GET /xml' },
  { method: 'GET', path: '/bin', route: 'GET /bin' },
  { method: 'GET', path: `/reset/${S.pathToken}?${QUERY}`, route: 'GET /reset/:id' },
  { method: 'GET', path: `/cards/${CARDS.pathCard}/charges;jsessionid=${S.pathSession}`, route: 'cards' }
]

/** Every answer of the admin API and every file and log line the run produced. */
async function outputs (proxy: StartedProxy, dir: string): Promise<Array<[string, string]>> {
  const get = async (path: string) => (await request(`${proxy.admin}${path}`)).body.text()
  const out: Array<[string, string]> = []
  for (const path of ['/api/v1/config', '/api/v1/mismatches?limit=1000', '/api/v1/fields', '/api/v1/noise', '/api/v1/routes', '/api/v1/gate', '/api/v1/mirror', '/metrics', '/healthz/ready']) {
    out.push([path, await get(path)])
  }
  const list = JSON.parse(out[1][1]) as { signatures: Array<{ route: string, samples: Array<{ id: string }> }> }
  for (const s of list.signatures) {
    for (const sample of s.samples) out.push([`/api/v1/mismatches/${sample.id}`, await get(`/api/v1/mismatches/${sample.id}`)])
    out.push([`/api/v1/fields?route=${s.route}`, await get(`/api/v1/fields?route=${encodeURIComponent(s.route)}`)])
  }
  for (const f of readdirSync(dir)) out.push([`file ${f}`, readFileSync(join(dir, f), 'utf8')])
  out.push(['logs', proxy.logText()])
  return out
}

for (const [mode, compare] of [['on the main thread', { workers: 0 }], ['in a comparison worker', { workers: 1, workerMinBytes: 0 }]] as const) {
  test(`no secret of the catalogue should reach any output, compared ${mode}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'paritygate-catalogue-'))
    const file = join(dir, 'mismatches.ndjson')
    const primary = await upstream(t, 'v1')
    const candidate = await upstream(t, 'v2')
    const proxy = await startProxy(t, {
      primary: { url: primary },
      candidate: { url: candidate },
      mirror: { percent: 100, methods: ['GET', 'POST'] },
      // An automatic route name keeps a path's words, and `;jsessionid=` is one: this path gets a template.
      routes: [{ name: 'cards', match: 'GET /cards/*' }],
      compare: { ...compare, mismatchLog: { path: file } },
      gate: {
        notify: {
          // Port 9 (discard) refuses: the notifier fails and logs, which is one more output to search.
          webhooks: [`http://127.0.0.1:9/services/T0${S.hookToken}/B0${S.hookToken}/${S.hookToken}?sig=${S.hookQuery}`],
          pageUrl: `https://${S.pageUser}:${S.pagePass}@pager.example.com/incidents?key=${S.hookQuery}`,
          intervalMs: 1000,
          retries: 0
        }
      },
      log: { level: 'trace' }
    })
    const rounds = 3
    for (let i = 0; i < rounds; i++) {
      for (const target of TARGETS) {
        const res = await request(`${proxy.url}${target.path}`, {
          method: target.method,
          headers: { ...REQUEST_HEADERS, ...(target.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
          body: target.body
        })
        strictEqual(res.statusCode, 200)
        await res.body.text()
      }
    }
    const mismatches = async () => {
      const text = await (await request(`${proxy.admin}/metrics`)).body.text()
      return text.split('\n').filter((l) => l.startsWith('paritygate_comparisons_total{') && l.includes('outcome="mismatch"'))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
    }
    const expected = rounds * TARGETS.length
    ok(await eventually(async () => await mismatches() === expected, 5000), `${await mismatches()} of ${expected} mismatches`)
    ok(await eventually(() => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === expected, 5000), 'every mismatch in the file')
    strictEqual(await metric(proxy, 'paritygate_comparisons_total{route="GET /json",outcome="mismatch"}'), rounds)

    const all = await outputs(proxy, dir)
    const hits: string[] = []
    for (const [where, text] of all) for (const [needle, name] of NEEDLES) if (text.includes(needle)) hits.push(`${name} (${needle}) in ${where}`)
    strictEqual(hits.length, 0, hits.join('\n'))

    // Not vacuous: samples of every kind were stored, with placeholders where the secrets were and the rest intact.
    const samples = all.filter(([where]) => where.startsWith('/api/v1/mismatches/')).map(([, text]) => JSON.parse(text) as { route: string, path: string, diffs: Array<{ primary?: unknown, candidate?: unknown }>, primary: { headers: Record<string, string>, body: string }, candidate: { body: string } })
    const byRoute = new Map(samples.map((s) => [s.route, s]))
    for (const target of TARGETS) ok(byRoute.has(target.route), `a sample of ${target.route}`)
    const json = byRoute.get('GET /json')
    ok(json !== undefined)
    // A JSON body comes back as JSON (its redacted rendering parsed), not as a string.
    const jsonBody = JSON.stringify(json.candidate.body)
    ok(typeof json.candidate.body === 'object' && jsonBody.includes('"side":"v2"') && jsonBody.includes('plain words stay'), jsonBody)
    ok(jsonBody.includes('[redacted:'), jsonBody)
    ok(json.diffs.some((d) => d.primary !== undefined || d.candidate !== undefined), 'differences carry their (redacted) values')
    strictEqual(json.primary.headers['x-side'], 'v1')
    // One placeholder per secret in the whole process: a comparison worker hashes under the main thread's key.
    strictEqual(json.primary.headers['x-auth-token'], placeholder(S.resAuthToken))
    ok(json.primary.headers['set-cookie'].startsWith('[redacted:'))
    ok(json.path.startsWith('/json?token=[redacted:'), json.path)
    ok(/^\/cards\/\[redacted:[0-9a-f]{8}\]\/charges;jsessionid=\[redacted:[0-9a-f]{8}\]$/.test(byRoute.get('cards')?.path ?? ''), byRoute.get('cards')?.path)
    ok(/^\/reset\/\[redacted:[0-9a-f]{8}\]\?/.test(byRoute.get('GET /reset/:id')?.path ?? ''), byRoute.get('GET /reset/:id')?.path)
    const form = byRoute.get('POST /form')
    ok(form !== undefined && form.candidate.body.startsWith('side=v2&password=[redacted:'), form?.candidate.body)
    for (const route of ['GET /text', 'GET /html', 'GET /xml', 'GET /bin']) {
      ok(/^\[non-JSON body not stored: \d+ bytes of [a-z/-]+, digest [0-9a-f]{8}\]$/.test(byRoute.get(route)?.candidate.body ?? ''), `${route}: ${byRoute.get(route)?.candidate.body}`)
    }
    ok(proxy.logs.some((l) => l.msg === 'compared'), 'debug lines were written')
    const config = all[0][1]
    ok(config.includes('http://127.0.0.1:9/services/[redacted]/[redacted]/[redacted]?sig=[redacted]'), config)
    ok(config.includes('https://[redacted]@pager.example.com/incidents?key=[redacted]'), config)
  })
}

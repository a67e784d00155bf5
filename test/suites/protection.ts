import t, { type Test } from 'tap'
import { encodeCursor } from '../../src/lib/cursor.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson, readOnlyApp, softDeleteFacility } from '../helper.ts'

t.test('security headers (helmet) on API responses and the docs page', async (t) => {
  const app = await buildTestApp(t, { seed: false })
  const res = await app.inject('/v1/facilities')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
  t.match(String(res.headers['strict-transport-security']), /max-age=/)
  const docs = await app.inject('/docs/')
  t.match(String(docs.headers['content-security-policy']), /default-src 'self'/)
  t.notMatch(String(docs.headers['content-security-policy']), /upgrade-insecure-requests/, '/docs works over plain http too')
})

t.test('rate limit per client with RateLimit headers; 429 is problem+json; 304 revalidations are free', async (t) => {
  const app = await buildTestApp(t, { rateLimitMax: 3 })
  const first = await app.inject('/v1/facilities/kreativhaus')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['ratelimit-limit'], '3')
  t.equal(first.headers['ratelimit-remaining'], '2')
  for (let i = 0; i < 10; i++) {
    const revalidation = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { 'if-none-match': String(first.headers.etag) } })
    t.equal(revalidation.statusCode, 304, 'a current revalidation is answered without counting')
  }
  t.equal((await app.inject('/v1/facilities')).headers['ratelimit-remaining'], '1')
  t.equal((await app.inject('/v1/services')).statusCode, 200)
  const limited = await app.inject('/v1/contacts')
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['content-type'], PROBLEM_JSON)
  t.equal(limited.json().status, 429)
  t.match(limited.json().detail, /at most 3 per minute/)
  t.ok(Number(limited.headers['retry-after']) > 0)
  const { key } = createKey(app, ['contacts:read-internal'])
  const withKey = await app.inject({ url: '/v1/contacts', headers: bearer(key) })
  t.equal(withKey.statusCode, 200, 'a key has its own allowance')
})

t.test('a bad key counts against its address\'s allowance, and its 401 carries the security headers', async (t) => {
  const app = await buildTestApp(t, { rateLimitMax: 3 })
  const badKey = { authorization: 'Bearer mpd_AAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ url: '/v1/facilities', headers: badKey })
    statuses.push(res.statusCode)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.headers['x-content-type-options'], 'nosniff', 'not to be sniffed')
    if (res.statusCode === 401) t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', 'helmet ran')
    t.equal(res.headers['x-cache'], undefined, 'never answered from the cache')
  }
  t.same(statuses, [401, 401, 401, 429, 429], 'guessing keys is rate-limited')
  t.equal((await app.inject('/v1/facilities')).statusCode, 429, 'the same address, without a key')
})

t.test('behind a trusted proxy (TRUST_PROXY) each client has its own allowance; a forged header elsewhere counts for nothing', async (t) => {
  const { buildApp } = await import('../../src/app.ts')
  const limited = async (trustProxy: string) => {
    const app = await buildApp({ config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 2, TRUST_PROXY: trustProxy }, seed: false, logger: false })
    t.teardown(() => app.close())
    const from = async (client: string) => (await app.inject({ url: '/v1/facilities', headers: { 'x-forwarded-for': client } })).statusCode
    return [await from('203.0.113.1'), await from('203.0.113.1'), await from('203.0.113.1'), await from('203.0.113.2')]
  }
  // light-my-request connects from 127.0.0.1: the proxy.
  t.same(await limited('127.0.0.1'), [200, 200, 429, 200], 'counted per client the proxy names')
  t.same(await limited(''), [200, 200, 429, 429], 'without TRUST_PROXY the header is not believed: one address')
  t.same(await limited('10.0.0.0/8'), [200, 200, 429, 429], 'nor from an address that is not a trusted proxy')
})

t.test('the response cache serves repeated GETs and never serves stale data after a write', async (t) => {
  const app = await buildTestApp(t)
  const first = await app.inject('/v1/facilities?limit=100')
  t.equal(first.headers['x-cache'], undefined)
  const second = await app.inject('/v1/facilities?limit=100')
  t.equal(second.headers['x-cache'], 'hit')
  t.equal(second.body, first.body)
  t.equal(second.headers.etag, first.headers.etag)
  t.equal(second.headers['x-total-count'], '14')
  t.equal(second.headers.link, first.headers.link)
  softDeleteFacility(app, seedId('facility', 'kreativhaus'))
  const after = await app.inject('/v1/facilities?limit=100')
  t.equal(after.headers['x-cache'], undefined, 'a write invalidates every cached response')
  t.equal(after.json().total, 13)
  const { key } = createKey(app, ['directory:write'])
  const etag = String((await app.inject('/v1/facilities/shk-mitte')).headers.etag)
  await app.inject('/v1/facilities/shk-mitte')
  const patched = await app.inject({ method: 'PATCH', url: '/v1/facilities/shk-mitte', headers: { ...bearer(key), 'if-match': etag }, payload: { phone: '030 111' } })
  t.equal(patched.statusCode, 200)
  const read = await getJson(app, '/v1/facilities/shk-mitte')
  t.equal(read.body.phone, '030 111', 'the API write is visible at once')
  t.equal(read.res.headers.etag, patched.headers.etag)
})

t.test('cached answers carry the same headers as the first, and count against the rate limit', async (t) => {
  const app = await buildTestApp(t, { rateLimitMax: 4 })
  const first = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://app.example' } })
  const second = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://app.example' } })
  t.equal(second.headers['x-cache'], 'hit')
  t.equal(second.body, first.body)
  for (const name of ['content-type', 'etag', 'last-modified', 'cache-control', 'vary', 'access-control-allow-origin',
    'access-control-expose-headers', 'x-content-type-options', 'strict-transport-security', 'content-security-policy']) {
    t.equal(second.headers[name], first.headers[name], `${name} replayed`)
  }
  t.equal(first.headers['ratelimit-remaining'], '3')
  t.equal(second.headers['ratelimit-remaining'], '2', 'a cache hit is counted')
  await app.inject('/v1/facilities/kreativhaus')
  await app.inject('/v1/facilities/kreativhaus')
  const limited = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://app.example' } })
  t.equal(limited.statusCode, 429, 'repeating a cached URL does not escape the limit')
  t.equal(limited.headers['access-control-allow-origin'], '*', 'a browser can read the 429')
  const badKey = await app.inject({ url: '/v1/facilities', headers: { authorization: 'Bearer nope', origin: 'https://app.example' } })
  t.equal(badKey.statusCode, 429, 'a bad key does not escape the limit of its address')
  t.equal(badKey.headers['access-control-allow-origin'], '*', 'a browser can read it')
})

t.test('a write by another process (npm run db:seed on the same file) is seen within a quarter second', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { buildApp } = await import('../../src/app.ts')
  const { openDatabase } = await import('../../src/db/client.ts')
  const dir = mkdtempSync(join(tmpdir(), 'mitte-cache-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'directory.db')
  const app = await buildApp({ config: { DATABASE_PATH: file, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0 }, logger: false })
  t.teardown(() => app.close())
  const before = await getJson(app, '/v1/facilities/kreativhaus')
  t.equal((await app.inject('/v1/facilities/kreativhaus')).headers['x-cache'], 'hit')
  const other = openDatabase(file)
  other.$client.prepare("update facilities set phone = '030 999', updated_at = ? where slug = 'kreativhaus'").run(new Date().toISOString())
  other.$client.close()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const after = await getJson(app, '/v1/facilities/kreativhaus')
  t.equal(after.res.headers['x-cache'], undefined, 'the cached answer was dropped')
  t.equal(after.body.phone, '030 999')
  t.not(after.res.headers.etag, before.res.headers.etag)
})

t.test('authenticated and clock-dependent responses are not cached publicly', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['contacts:read-internal'])
  await app.inject({ url: '/v1/contacts', headers: bearer(key) })
  const again = await app.inject({ url: '/v1/contacts', headers: bearer(key) })
  t.equal(again.headers['x-cache'], undefined)
  t.equal(again.headers['cache-control'], 'private, no-cache')
  t.match(String(again.headers.vary), /Authorization/)
  await app.inject('/v1/facilities?openNow=true')
  t.equal((await app.inject('/v1/facilities?openNow=true')).headers['x-cache'], undefined)
})

t.test('CORS: reads from anywhere, writes only from configured origins', async (t) => {
  const app = await buildTestApp(t, { corsWriteOrigins: 'https://bezirk.example.org' })
  const preflight = (origin: string, method: string) => app.inject({
    method: 'OPTIONS',
    url: '/v1/facilities/kreativhaus',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,if-match' }
  })
  const read = await preflight('https://anyone.example', 'GET')
  t.equal(read.headers['access-control-allow-origin'], '*')
  const foreignWrite = await preflight('https://anyone.example', 'PATCH')
  t.equal(foreignWrite.headers['access-control-allow-origin'], undefined, 'no CORS grant for writes from other origins')
  const allowedWrite = await preflight('https://bezirk.example.org', 'PATCH')
  t.equal(allowedWrite.headers['access-control-allow-origin'], 'https://bezirk.example.org')
  t.match(String(allowedWrite.headers['access-control-allow-methods']), /PATCH/)
  t.match(String(allowedWrite.headers['access-control-allow-headers']), /If-Match/)
  // The answer differs by Origin, and says so next to what the API varies by.
  t.match(String(allowedWrite.headers.vary), /Origin/)
  t.match(String(allowedWrite.headers.vary), /Accept-Encoding/)
  // A read is the same for every origin (*): shared caches need not keep one per origin.
  const anyRead = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://anyone.example' } })
  t.equal(anyRead.headers['access-control-allow-origin'], '*')
  t.notMatch(String(anyRead.headers.vary), /Origin/)
})

t.test('health probes are never kept by a cache', async (t) => {
  const app = await readOnlyApp(t)
  for (const url of ['/health', '/ready']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'no-store', url)
  }
})

t.test('Authorization headers never reach the logs', async (t) => {
  const { buildApp, loggerOptions } = await import('../../src/app.ts')
  const lines: string[] = []
  const stream = { write: (line: string) => { lines.push(line) } }
  const app = await buildApp({
    config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'info', RATE_LIMIT_MAX: 0 },
    seed: false,
    logger: { ...(loggerOptions('info') as object), stream }
  })
  t.teardown(() => app.close())
  const { key } = createKey(app, ['directory:write'])
  await app.inject({ url: '/v1/facilities', headers: { ...bearer(key), 'x-forwarded-for': '203.0.113.9' } })
  await app.inject({ url: '/v1/facilities', headers: { authorization: 'Bearer mpd_unknownkey_secretsecretsecretsecretsecretsecretsecret1' } })
  // A key pasted into a URL by mistake: the logged URL has no value of it.
  await app.inject({ url: `/v1/facilities?api_key=${key}` })
  // Query values may be personal data: a searched name, a cursor (base64 of a contact's name).
  const cursor = encodeCursor('name', ['Testperson Geheim', '00000000-0000-4000-8000-000000000001'])
  await app.inject({ url: '/v1/contacts?q=D%C3%A4xl&limit=1' })
  await app.inject({ url: `/v1/contacts?limit=1&cursor=${cursor}` })
  await app.inject({ url: `/v1/facilities/x?${key}=1` })
  const log = lines.join('')
  t.ok(log.length > 0, 'requests were logged')
  t.match(log, '"url":"/v1/facilities?api_key=…"', 'the path and the parameter names are logged, not the values')
  t.match(log, '"url":"/v1/contacts?q=…&limit=…"')
  t.notMatch(log, 'D%C3%A4xl', 'no search text')
  t.notMatch(log, cursor.slice(0, 12), 'no cursor')
  t.match(log, 'mpd_[redacted]', 'a key as a parameter name is masked')
  t.notMatch(log, key.slice(4), 'no key material')
  t.notMatch(log, 'secretsecret')
  t.notMatch(log, '203.0.113.9', 'no client addresses')
  t.notMatch(log, '127.0.0.1')
})

// A POST whose body arrives one byte every 50 ms (never idle, never done: slowloris), with the
// given headers; resolves with everything the server sent once it closed the connection.
async function slowPost (t: Test, headers: string, requestMs = 300, rateLimitMax = 0): Promise<string> {
  const { createConnection } = await import('node:net')
  const { buildApp } = await import('../../src/app.ts')
  const app = await buildApp({ config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: rateLimitMax }, seed: false, logger: false, timeouts: { requestMs, idleMs: 10_000 } })
  t.teardown(() => app.close())
  const { key } = createKey(app, ['directory:write'])
  // Uses up the allowance of a rate limit, if there is one (the same address as the socket's).
  if (rateLimitMax > 0) for (let i = 0; i < rateLimitMax; i++) await app.inject({ url: '/v1/categories', remoteAddress: '127.0.0.1' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return new Promise<string>((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let received = ''
    const drip = setInterval(() => { if (socket.writable) socket.write('x') }, 50)
    const giveUp = setTimeout(() => { socket.destroy(); reject(new Error(`still open after 10 s: ${received}`)) }, 10_000)
    socket.on('connect', () => socket.write(`POST /v1/facilities HTTP/1.1\r\nHost: localhost\r\n${headers.replace('{key}', key)}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`))
    socket.on('data', (chunk) => { received += chunk.toString() })
    socket.on('error', () => {})
    socket.on('close', () => { clearInterval(drip); clearTimeout(giveUp); resolve(received) })
  })
}

t.test('a client that sends its request too slowly gets 408 (problem+json) and is disconnected', async (t) => {
  const answer = await slowPost(t, 'Authorization: Bearer {key}\r\n')
  t.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  t.match(answer, /Content-Type: application\/problem\+json; charset=utf-8/)
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
  t.same(body, { type: '/problems/request-timeout', title: 'Request Timeout', status: 408, detail: 'The request was not received in time.' })
})

t.test('a write without a key is answered 401 before its body, and the connection closes: the server reads no more of it', async (t) => {
  // A request timeout far longer than the test: only the server's own close ends the connection.
  const started = Date.now()
  const answer = await slowPost(t, '', 60_000)
  t.ok(Date.now() - started < 5_000, 'closed at once, not by the request timeout')
  t.match(answer, /^HTTP\/1\.1 401 Unauthorized\r\n/)
  t.match(answer, /\r\nConnection: close\r\n/i)
  t.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer only')
  t.match(answer, /"type":"\/problems\/api-key-required"/)
})

t.test('a 429 before the body, and a 415 that does not read it, close the connection too', async (t) => {
  for (const [what, headers, rateLimitMax, status] of [
    ['rate-limited', '', 1, '429 Too Many Requests'],
    ['an unsupported media type', 'Authorization: Bearer {key}\r\nContent-Type: text/csv\r\n', 0, '415 Unsupported Media Type']
  ] as const) {
    const started = Date.now()
    const answer = await slowPost(t, headers, 60_000, rateLimitMax)
    t.ok(Date.now() - started < 5_000, `${what}: closed at once`)
    t.match(answer, new RegExp(`^HTTP/1\\.1 ${status}\r\n`), what)
    t.match(answer, /\r\nConnection: close\r\n/i)
    t.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, `${what}: one answer only`)
  }
})

// What app.inject cannot show (its URL parser resolves dot segments; Node answers a missing Host
// and an unknown Expect itself): raw requests over a real socket.
t.test('over a real socket: dot segments, a missing Host and an unknown Expect get problem+json', async (t) => {
  const { createConnection } = await import('node:net')
  const app = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const raw = (text: string) => new Promise<{ status: number, type: string, body: string }>((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1')
    let out = ''
    socket.on('data', (chunk) => { out += chunk })
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), type: /content-type: ([^\r]*)/i.exec(head)?.[1] ?? '', body })
    })
    socket.end(text)
  })
  for (const path of ['/v1/facilities/%2E', '/v1/facilities/%2e%2e', '/v1/facilities/./kreativhaus', '/hsds/service_at_locations/%2E']) {
    const res = await raw(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
    t.equal(res.status, 404, `${path}: not another resource`)
    t.equal(res.type, PROBLEM_JSON)
  }
  const expect = await raw('GET /v1/facilities HTTP/1.1\r\nHost: localhost\r\nExpect: foo\r\nConnection: close\r\n\r\n')
  t.equal(expect.status, 417)
  t.equal(expect.type, PROBLEM_JSON)
  t.equal(JSON.parse(expect.body).type, '/problems/expectation-failed')
  const noHost = await raw('GET /v1/facilities HTTP/1.1\r\nConnection: close\r\n\r\n')
  t.equal(noHost.status, 400, 'RFC 9112 §3.2')
  t.equal(noHost.type, PROBLEM_JSON)
  t.match(JSON.parse(noHost.body).detail, /Host/)
  const http10 = await raw('GET /health HTTP/1.0\r\n\r\n')
  t.equal(http10.status, 200, 'HTTP/1.0 needs no Host')
})

t.test('JSON bodies are UTF-8 without a content coding: other charsets, codings and invalid bytes are refused', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const before = app.dataVersion().seq
  const post = (payload: Buffer, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/target-groups', headers: { ...bearer(key), ...headers }, payload })
  const latin1 = Buffer.from(JSON.stringify({ slug: 'test-sued', labelDe: 'Begegnungsstätte Süd', labelEn: 'South', description: 'Test.' }), 'latin1')
  const cases: Array<[string, Buffer, Record<string, string>, number]> = [
    ['charset=iso-8859-1', latin1, { 'content-type': 'application/json; charset=iso-8859-1' }, 415],
    ['charset=utf-16', latin1, { 'content-type': 'application/json;charset="UTF-16"' }, 415],
    ['charset=iso-8859-1 on an ASCII body (the declaration is wrong for JSON)', Buffer.from('{}'), { 'content-type': 'application/json; charset=iso-8859-1' }, 415],
    ['bytes that are not UTF-8', latin1, { 'content-type': 'application/json' }, 400],
    ['a lone 0xFF byte', Buffer.concat([Buffer.from('{"slug":"x'), Buffer.from([0xff]), Buffer.from('"}')]), { 'content-type': 'application/merge-patch+json' }, 400],
    ['Content-Encoding: br on a plain body', Buffer.from('{}'), { 'content-type': 'application/json', 'content-encoding': 'br' }, 415],
    ['Content-Encoding: gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00]), { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 415]
  ]
  for (const [what, payload, headers, status] of cases) {
    const res = await post(payload, headers)
    t.equal(res.statusCode, status, what)
    t.equal(res.headers['content-type'], PROBLEM_JSON, what)
  }
  t.equal(app.dataVersion().seq, before, 'nothing was written')
  const utf8 = await post(Buffer.from(latin1.toString('latin1'), 'utf8'), { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'identity' })
  t.equal(utf8.statusCode, 201, 'UTF-8, declared or not, with the identity coding')
  t.equal(utf8.json().labelDe, 'Begegnungsstätte Süd')
  const ascii = await post(Buffer.from(JSON.stringify({ slug: 'test-ascii', labelDe: 'Nord', labelEn: 'North', description: 'Test.' })), { 'content-type': 'application/json; charset=US-ASCII' })
  t.equal(ascii.statusCode, 201, 'US-ASCII is a subset of UTF-8')
})

t.test('names of spaces or invisible characters, bidirectional controls and slugs shaped like UUIDs are refused', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const before = app.dataVersion().seq
  const entry = { slug: 'test-eintrag', labelDe: 'Testeintrag', labelEn: 'Test entry', description: 'Synthetic.' }
  const kreativhaus = (await getJson(app, '/v1/facilities/kreativhaus')).body.id as string
  const cases: Array<[string, object, RegExp]> = [
    ['spaces', { ...entry, labelDe: '   ' }, /body\.labelDe must contain at least one letter or digit/],
    ['no-break and em spaces', { ...entry, labelDe: '\u00a0\u2003' }, /letter or digit/],
    ['a zero-width space', { ...entry, labelEn: '\u200b' }, /body\.labelEn must contain at least one letter or digit/],
    ['a right-to-left override', { ...entry, labelDe: 'Test\u202eegnaro' }, /body\.labelDe contains the bidirectional control U\+202E/],
    ['a left-to-right embedding', { ...entry, description: 'a\u202ab' }, /U\+202A/],
    ['a slug shaped like a UUID (the Kreativhaus\'s id)', { ...entry, slug: kreativhaus }, /body\.slug must not be shaped like a UUID/]
  ]
  for (const [what, payload, detail] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/target-groups', headers: bearer(key), payload })
    t.equal(res.statusCode, 400, what)
    t.match(res.json().detail, detail, what)
  }
  // The same rule where a merge patch makes the record: 422 for the merged record.
  const patch = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': '*', 'content-type': 'application/merge-patch+json' }, payload: { name: ' \u200b ' } })
  t.ok([400, 422].includes(patch.statusCode), 'a blank name by PATCH')
  t.match(patch.json().detail, /name must contain at least one letter or digit/)
  t.equal(app.dataVersion().seq, before, 'nothing was written')
  const fine = await app.inject({ method: 'POST', url: '/v1/target-groups', headers: bearer(key), payload: { ...entry, labelDe: 'Treff \u2067مرحبا ٣\u2069', labelEn: 'Test' } })
  t.equal(fine.statusCode, 201, 'right-to-left text, in isolates as W3C recommends, and other scripts are fine')
})

t.test('a UUID in a path is read case-insensitively (RFC 9562)', async (t) => {
  const app = await readOnlyApp(t)
  const id = seedId('facility', 'kreativhaus')
  const service = (await getJson(app, '/v1/services?facility=kreativhaus&limit=1')).body.items[0].id as string
  for (const [path, record, rest] of [['/v1/facilities/', id, ''], ['/v1/facilities/', id, '/services'], ['/hsds/services/', service, ''], ['/v1/services/', service, '']]) {
    const url = `${path}${record!.toUpperCase()}${rest}`
    const upper = await app.inject(url)
    const lower = await app.inject(`${path}${record}${rest}`)
    t.equal(upper.statusCode, lower.statusCode, url)
    // (A page's links repeat the URL as it was asked.)
    const { links: _upperLinks, ...upperBody } = upper.json()
    const { links: _lowerLinks, ...lowerBody } = lower.json()
    t.same(upperBody, lowerBody, `${url}: the same answer`)
  }
  t.equal((await app.inject(`/v1/facilities/${id.toUpperCase()}`)).statusCode, 200)
  t.equal((await app.inject('/v1/facilities/KREATIVHAUS')).statusCode, 404, 'slugs stay lower-case')
})

t.test('writes take no query parameters: one sent anyway is 400, as on reads, and nothing is written', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const before = app.dataVersion().seq
  const entry = { slug: 'test-query', labelDe: 'Test', labelEn: 'Test', description: 'Synthetic.' }
  const writes = [
    { method: 'POST' as const, url: '/v1/target-groups?bogus=1', payload: entry },
    { method: 'PATCH' as const, url: '/v1/facilities/kreativhaus?dryRun=true', payload: { description: 'x' } },
    { method: 'DELETE' as const, url: '/v1/facilities/familienzentrum-moabit-ost?force=1' }
  ]
  for (const write of writes) {
    const res = await app.inject({ ...write, headers: { ...bearer(key), 'if-match': '*', ...(write.method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {}) } })
    t.equal(res.statusCode, 400, `${write.method} ${write.url}`)
    t.match(res.json().detail, /is not a known parameter/)
  }
  t.equal(app.dataVersion().seq, before, 'nothing was written')
  t.equal((await app.inject({ method: 'POST', url: '/v1/target-groups', headers: bearer(key), payload: entry })).statusCode, 201, 'without the parameter')
})

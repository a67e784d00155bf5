import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { openDatabase } from '../../src/db/client.ts'
import { buildQueue } from '../../src/plugins/http-cache.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { bearer, buildTestApp, createKey, getJson, insertTestFacility, softDeleteFacility, readOnlyApp, testServiceInput } from '../helper.ts'

t.test('GET item and list carry a strong ETag, Last-Modified and Cache-Control', async (t) => {
  const app = await readOnlyApp(t)
  for (const url of ['/v1/facilities/kreativhaus', '/v1/facilities', '/v1/services?limit=5', '/v1/agreements', '/']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.match(res.headers.etag, /^"[A-Za-z0-9_-]{32}"$/, `${url} strong ETag`)
    t.ok(Date.parse(String(res.headers['last-modified'])) > 0, `${url} Last-Modified`)
    t.equal(res.headers['cache-control'], 'public, max-age=60, must-revalidate')
  }
})

t.test('If-None-Match with the current ETag gives 304 without a body (items and lists)', async (t) => {
  const app = await readOnlyApp(t)
  for (const url of ['/v1/facilities/kreativhaus', '/v1/facilities?type=familienzentrum']) {
    const first = await app.inject(url)
    const etag = String(first.headers.etag)
    const again = await app.inject({ url, headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304, url)
    t.equal(again.body, '')
    t.equal(again.headers.etag, etag)
    const list = await app.inject({ url, headers: { 'if-none-match': `"other", ${etag}` } })
    t.equal(list.statusCode, 304, 'any listed ETag matches')
    // Also when the answer is built (HEAD, or Cache-Control: no-cache): no Content-Length on a 304.
    for (const built of [{ method: 'HEAD' as const, url, headers: { 'if-none-match': etag } }, { url, headers: { 'if-none-match': etag, 'cache-control': 'no-cache' } }]) {
      const res = await app.inject(built)
      t.equal(res.statusCode, 304, `${built.method ?? 'GET'} ${url} built`)
      // HEAD: the length of the 200 (the same URL without a coding), else none.
      t.equal(res.headers['content-length'], built.method === 'HEAD' ? String(Buffer.byteLength(first.body)) : undefined, 'no Content-Length but that of the 200')
      t.equal(res.headers.etag, etag)
    }
    const stale = await app.inject({ url, headers: { 'if-none-match': '"something-else"' } })
    t.equal(stale.statusCode, 200)
    t.equal(stale.body, first.body)
  }
})

t.test('a change gives a new ETag: no stale 304 after a write', async (t) => {
  const app = await buildTestApp(t)
  const before = await app.inject('/v1/facilities')
  softDeleteFacility(app, seedId('facility', 'kreativhaus'))
  const after = await app.inject({ url: '/v1/facilities', headers: { 'if-none-match': String(before.headers.etag) } })
  t.equal(after.statusCode, 200)
  t.not(after.headers.etag, before.headers.etag)
  t.equal(after.json().total, 13)
})

t.test('If-Modified-Since answers 304 until the data changes', async (t) => {
  const app = await readOnlyApp(t)
  const first = await app.inject('/v1/facilities')
  const lastModified = String(first.headers['last-modified'])
  const same = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': lastModified } })
  t.equal(same.statusCode, 304)
  const earlier = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': 'Mon, 01 Jan 2018 00:00:00 GMT' } })
  t.equal(earlier.statusCode, 200)
  const garbage = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': 'yesterday' } })
  t.equal(garbage.statusCode, 200, 'an unparsable date is ignored')
  // Only HTTP-dates count (RFC 9110 §13.1.3); Date.parse would read these as far-future dates.
  for (const notADate of ['3000', '2999-01-01', 'Sat, 01 Jan 2999 00:00:00 UTC', '9999999999999']) {
    t.equal((await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': notADate } })).statusCode, 200, `'${notADate}' is not an HTTP-date`)
  }
  // The obsolete forms are HTTP-dates too (RFC 850; asctime, whose time is GMT).
  for (const obsolete of ['Friday, 31-Dec-99 23:59:59 GMT', 'Fri Dec 31 23:59:59 2100']) {
    t.equal((await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': obsolete } })).statusCode, obsolete.includes('2100') ? 304 : 200, obsolete)
  }
  const both = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': lastModified, 'if-none-match': '"x"' } })
  t.equal(both.statusCode, 200, 'If-None-Match takes precedence (RFC 9110)')
})

t.test('errors are not cached and carry no ETag', async (t) => {
  const app = await readOnlyApp(t)
  const res = await app.inject('/v1/facilities/nope')
  t.equal(res.statusCode, 404)
  t.equal(res.headers.etag, undefined)
})

t.test('CORS is open for reads and exposes the caching and paging headers', async (t) => {
  const app = await readOnlyApp(t)
  const res = await app.inject({ url: '/v1/facilities', headers: { origin: 'https://example.org' } })
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.match(String(res.headers['access-control-expose-headers']), /ETag.*Link.*X-Total-Count/)
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/v1/facilities',
    headers: { origin: 'https://example.org', 'access-control-request-method': 'GET' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')
  t.match(String(preflight.headers['access-control-allow-methods']), /GET/)
})

t.test('a 304 from the cache has the CORS headers of the read; a request with a key is never answered by it', async (t) => {
  const app = await buildTestApp(t)
  const first = await app.inject({ url: '/v1/facilities', headers: { origin: 'https://example.org' } })
  const etag = String(first.headers.etag)
  const viaCors = await app.inject({ url: '/v1/facilities', headers: { origin: 'https://other.example', 'if-none-match': etag } })
  t.equal(viaCors.statusCode, 304)
  t.equal(viaCors.headers['access-control-allow-origin'], '*')
  t.equal(viaCors.headers['access-control-expose-headers'], first.headers['access-control-expose-headers'])
  t.equal(viaCors.headers['x-ratelimit-limit'], undefined)
  const badKey = await app.inject({ url: '/v1/facilities', headers: { 'if-none-match': etag, authorization: 'Bearer nope' } })
  t.equal(badKey.statusCode, 401, 'a bad key is refused, even for a current ETag')
  t.equal(badKey.json().type, '/problems/invalid-api-key')
  t.equal(badKey.headers['access-control-allow-origin'], '*', 'the error is readable by a browser')
  const { createKey, bearer } = await import('../helper.ts')
  const { key } = createKey(app, ['contacts:read-internal'])
  const withKey = await app.inject({ url: '/v1/facilities', headers: { 'if-none-match': etag, ...bearer(key) } })
  t.equal(withKey.statusCode, 304, 'with a valid key, revalidated against the answer built for it')
  t.equal(withKey.headers['cache-control'], 'private, no-cache')
})

t.test('a stored answer is replayed with every header of the first one, with and without a rate limit', async (t) => {
  for (const rateLimitMax of [0, 1000]) {
    const app = await buildTestApp(t, { rateLimitMax })
    const first = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://example.org' } })
    const hit = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://other.example' } })
    t.equal(hit.headers['x-cache'], 'hit', `rate limit ${rateLimitMax}`)
    t.equal(hit.body, first.body)
    for (const name of ['content-type', 'etag', 'last-modified', 'cache-control', 'vary', 'access-control-allow-origin', 'access-control-expose-headers',
      'content-security-policy', 'x-content-type-options', 'strict-transport-security', 'cross-origin-resource-policy']) {
      t.equal(hit.headers[name], first.headers[name], `${name} (rate limit ${rateLimitMax})`)
    }
    t.equal(hit.headers['ratelimit-remaining'] === undefined, rateLimitMax === 0, 'a limited hit is counted and says so')
  }
})

// A public contact of a facility (synthetic).
const testContact = (facility: string) => ({
  name: 'Testperson Zauberwald',
  role: 'Koordinatorin (Testdatensatz)',
  organisation: null,
  facility,
  phone: null,
  email: null,
  visibility: 'public',
  asOf: '2026',
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }]
})

// A write with a key; If-Match from a GET of etagOf. Fails the test unless it succeeds.
function writerFor (t: Test, app: FastifyInstance, key: string) {
  return async (method: string, url: string, payload: object, etagOf?: string) => {
    const headers: Record<string, string> = { ...bearer(key), 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }
    if (etagOf !== undefined) headers['if-match'] = String((await app.inject(etagOf)).headers.etag)
    const res = await app.inject({ method, url, headers, payload })
    t.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode}`)
    return res.statusCode === 204 ? null : res.json()
  }
}

// Each page as cached against one built afresh (body and the paging headers); returns those
// that were served from the cache.
function pagesOracle (t: Test, app: FastifyInstance, lists: string[]) {
  return async (what: string): Promise<string[]> => {
    const hits: string[] = []
    for (const url of lists) {
      const cached = await app.inject(url)
      const fresh = await app.inject({ url, headers: { 'cache-control': 'no-cache' } })
      t.equal(cached.statusCode, 200, `${what}: ${url}`)
      t.equal(cached.body, fresh.body, `${what}: ${url} is current`)
      for (const name of ['etag', 'x-total-count', 'link']) t.equal(cached.headers[name], fresh.headers[name], `${what}: ${url} ${name}`)
      if (cached.headers['x-cache'] === 'hit') hits.push(url)
    }
    return hits
  }
}

// Answers of one facility name the facility they were built from (reply.cacheDependsOn): a write
// keeps those of the other facilities, and every write that changes what a facility shows (its
// own fields, its services' count and categories, its operator's name, its target groups' labels,
// a verification, a deletion) must drop its answers. The oracle: after each write, every cached
// answer equals one built afresh from the database.
t.test('cached facility answers outlive writes to other records, never a change of what they show', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const slugs = (await getJson(app, '/v1/facilities?fields=slug&limit=500')).body.items.map((f: any) => f.slug as string)
  t.equal(slugs.length, 14)
  const urls = [...slugs.map((slug: string) => `/v1/facilities/${slug}`), `/v1/facilities/${seedId('facility', 'meerbaum-haus')}`,
    '/v1/facilities/meerbaum-haus?format=geojson', '/v1/facilities/shk-mitte?format=vcard', '/v1/facilities/shk-mitte?format=jsonld']
  const write = writerFor(t, app, key)
  // Every answer cached, then a write, then each answer (cached or not) against a fresh one.
  const check = async (what: string, changed: string[] | 'all') => {
    const hits: string[] = []
    const found: string[] = []
    for (const url of urls) {
      const cached = await app.inject(url)
      const fresh = await app.inject({ url, headers: { 'cache-control': 'no-cache' } })
      t.equal(cached.statusCode, fresh.statusCode, `${what}: ${url} status`)
      t.equal(cached.body, fresh.body, `${what}: ${url} is current`)
      t.equal(cached.headers.etag, fresh.headers.etag, `${what}: ${url} ETag`)
      if (cached.headers['x-cache'] === 'hit') hits.push(url)
      if (fresh.statusCode === 200) found.push(url)
    }
    // Only the answers the write changed are built again.
    const expected = changed === 'all' ? [] : found.filter((url) => !changed.includes(url))
    t.same(hits, expected, `${what}: the other answers kept`)
  }
  for (const url of urls) await app.inject(url)
  await check('no write', [])

  await write('PATCH', '/v1/facilities/kreativhaus', { description: 'Neu beschrieben.' }, '/v1/facilities/kreativhaus')
  await check('PATCH a facility', ['/v1/facilities/kreativhaus'])
  t.equal((await getJson(app, '/v1/facilities/kreativhaus')).body.description, 'Neu beschrieben.')

  const meerbaum = ['/v1/facilities/meerbaum-haus', `/v1/facilities/${seedId('facility', 'meerbaum-haus')}`, '/v1/facilities/meerbaum-haus?format=geojson']
  const before = (await getJson(app, '/v1/facilities/meerbaum-haus')).body
  const service = await write('POST', '/v1/services', testServiceInput('meerbaum-haus'))
  await check('POST a service', meerbaum)
  t.equal((await getJson(app, '/v1/facilities/meerbaum-haus')).body.serviceCount, before.serviceCount + 1)

  await write('PATCH', `/v1/services/${service.id}`, { category: 'gesundheit' }, `/v1/services/${service.id}`)
  // Any other change of a service may move it to another facility: every facility is built again.
  await check('PATCH a service\'s category', 'all')
  await write('PATCH', `/v1/services/${service.id}`, { facility: 'kreativhaus' }, `/v1/services/${service.id}`)
  await check('PATCH a service\'s facility', 'all')
  await write('PATCH', `/v1/services/${service.id}`, { facility: 'meerbaum-haus' }, `/v1/services/${service.id}`)
  await check('PATCH a service\'s facility back', 'all')
  await write('DELETE', `/v1/services/${service.id}`, {}, `/v1/services/${service.id}`)
  await check('DELETE a service', meerbaum)
  t.equal((await getJson(app, '/v1/facilities/meerbaum-haus')).body.serviceCount, before.serviceCount)

  await write('PATCH', '/v1/target-groups/studierende', { labelDe: 'Studentinnen und Studenten' }, '/v1/target-groups/studierende')
  // Target groups, categories and operators are shown by facilities: a change of one counts as a
  // change of every facility (the repositories also touch the facilities that show it).
  await check('PATCH a target group\'s label', 'all')
  // Facilities list their services' categories by slug.
  await write('PATCH', '/v1/categories/beratung', { slug: 'beratung-und-hilfe' }, '/v1/categories/beratung')
  await check('PATCH a category\'s slug', 'all')
  t.ok((await getJson(app, '/v1/facilities/shk-mitte')).body.categories.includes('beratung-und-hilfe'))
  await write('PATCH', '/v1/organisations/stadtrand', { name: 'StadtRand gGmbH (Test)' }, '/v1/organisations/stadtrand')
  await check('PATCH an operator\'s name', 'all')
  await write('POST', '/v1/facilities/shk-mitte/verification', {})
  await check('verify a facility', ['/v1/facilities/shk-mitte', '/v1/facilities/shk-mitte?format=vcard', '/v1/facilities/shk-mitte?format=jsonld'])
  // JSON-LD adds the facility's contacts: a change of any contact builds it again.
  const contact = (await getJson(app, '/v1/contacts?limit=1')).body.items[0]
  await write('PATCH', `/v1/contacts/${contact.id}`, { role: `${contact.role} (Test)` }, `/v1/contacts/${contact.id}`)
  await check('PATCH a contact', ['/v1/facilities/shk-mitte?format=jsonld'])
  // (A facility that no contact, agreement party or event names: those are refused, 409.)
  await write('DELETE', '/v1/facilities/familienzentrum-moabit-ost', {}, '/v1/facilities/familienzentrum-moabit-ost')
  await check('DELETE a facility', ['/v1/facilities/familienzentrum-moabit-ost'])
  t.equal((await app.inject('/v1/facilities/familienzentrum-moabit-ost')).statusCode, 404)
  // Plain SQL on the app's connection, outside the repositories' writes: the change feed need not
  // say all it changed (tables without change triggers; a service moved and deleted at once), so
  // nothing kept from before it is vouched for, even when writes through the API follow.
  app.db.$client.prepare("update facilities set phone = '+49 30 0000000' where slug = 'nachbarschaftsetage-fabrik-osloer-strasse'").run()
  await check('an UPDATE of a facility row in SQL', 'all')
  app.db.$client.prepare("insert into facility_types (facility_id, type) values (?, 'stadtteilzentrum')").run(seedId('facility', 'meerbaum-haus'))
  // (A POST: no GET of an ETag, which would read the feed before it.)
  await write('POST', '/v1/services', testServiceInput('sprengelhaus'))
  await check('SQL to facility_types, then a service of another facility', 'all')
  t.ok((await getJson(app, '/v1/facilities/meerbaum-haus')).body.types.includes('stadtteilzentrum'))
  // Operators, target groups and categories are shown by facilities: a change of one counts as a
  // change of every facility, even without the repositories' touch.
  app.db.$client.prepare("update organisations set name = 'StadtRand (SQL)' where slug = 'stadtrand'").run()
  await check('an UPDATE of an operator in SQL', 'all')
  t.equal((await getJson(app, '/v1/facilities/shk-mitte')).body.operator.name, 'StadtRand (SQL)')
})

t.test('a write the feed does not show moves Last-Modified too: If-Modified-Since gets the change, not 304', async (t) => {
  const app = await buildTestApp(t)
  const url = '/v1/facilities/kreativhaus'
  const before = await app.inject(url)
  const lastModified = String(before.headers['last-modified'])
  t.equal((await app.inject({ url, headers: { 'if-modified-since': lastModified } })).statusCode, 304)
  // A link table has no change trigger: the newest change row stays the same. (The app's clock
  // a minute on: HTTP dates count whole seconds.)
  const started = Date.now()
  app.clock.now = () => started + 60_000
  app.db.$client.prepare('delete from facility_target_groups where facility_id = ?').run(seedId('facility', 'kreativhaus'))
  const after = await app.inject({ url, headers: { 'if-modified-since': lastModified } })
  t.equal(after.statusCode, 200, 'not 304: the facility changed')
  t.same(after.json().targetGroups, [])
  t.ok(Date.parse(String(after.headers['last-modified'])) > Date.parse(lastModified), 'a later Last-Modified')
  t.not(after.headers.etag, before.headers.etag)
  const hsds = await app.inject({ url: '/hsds/services?per_page=1', headers: { 'if-modified-since': lastModified } })
  t.equal(hsds.statusCode, 200)
})

t.test('a write while the server was stopped: after the restart, If-Modified-Since gets the change', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mitte-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'directory.db')
  const start = () => buildApp({ config: { DATABASE_PATH: file, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0 }, logger: false })
  const first = await start()
  const before = await first.inject('/v1/facilities/kreativhaus')
  await first.close()
  // Not through the API, and no change row: a link table, written while no server runs.
  const other = openDatabase(file)
  other.$client.prepare('delete from facility_target_groups where facility_id = ?').run(seedId('facility', 'kreativhaus'))
  other.$client.close()
  // HTTP dates count whole seconds: the restart is in a later one (at most a second's wait).
  await new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)))
  const second = await start()
  t.teardown(() => second.close())
  const after = await second.inject({ url: '/v1/facilities/kreativhaus', headers: { 'if-modified-since': String(before.headers['last-modified']) } })
  t.equal(after.statusCode, 200, 'not 304')
  t.same(after.json().targetGroups, [])
})

t.test('after another process writes, no cached facility answer is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mitte-cache-'))
  const file = join(dir, 'directory.db')
  const app = await buildApp({ config: { DATABASE_PATH: file, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0, CORS_WRITE_ORIGINS: '' }, seed: true, logger: false })
  const other = openDatabase(file)
  t.teardown(async () => {
    await app.close()
    other.$client.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await app.inject('/v1/facilities/kreativhaus')
  await app.inject('/v1/facilities/meerbaum-haus')
  t.equal((await app.inject('/v1/facilities/meerbaum-haus')).headers['x-cache'], 'hit')
  // A seed run (another process) may rewrite any record, with or without change-feed entries.
  other.$client.prepare("update facilities set phone = '+49 30 0000000' where slug = 'meerbaum-haus'").run()
  // This process notices another's commit within 250 ms (SQLite's data_version).
  await new Promise((resolve) => setTimeout(resolve, 300))
  const after = await app.inject('/v1/facilities/meerbaum-haus')
  t.not(after.headers['x-cache'], 'hit')
  t.equal(after.json().phone, '+49 30 0000000')
  t.not((await app.inject('/v1/facilities/kreativhaus')).headers['x-cache'], 'hit', 'nor are the others')
})

t.test('build queue: one build per turn of the event loop, first in first out', async (t) => {
  const queue = buildQueue()
  const log: string[] = []
  queue.add(() => log.push('build 1'))
  queue.add(() => log.push('build 2'))
  queue.add(() => log.push('build 3'))
  t.equal(queue.length, 3)
  // Work that arrives meanwhile (here: callbacks of the same turn) runs between two builds.
  setImmediate(() => log.push('other 1'))
  await new Promise((resolve) => setImmediate(resolve))
  setImmediate(() => log.push('other 2'))
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(log, ['build 1', 'other 1', 'build 2', 'other 2', 'build 3'])
  t.equal(queue.length, 0)
  queue.add(() => log.push('build 4'))
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(log.at(-1), 'build 4', 'an empty queue starts again')
})

t.test('after a write, requests that build an answer queue: each is answered, the same answer is built once', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const kept = '/v1/facilities/meerbaum-haus'
  // Pages with the facility, its services, an export: all built again after the write.
  const stale = ['/v1/facilities?q=beratung', '/v1/facilities/kreativhaus/services', '/v1/facilities?format=csv']
  for (const url of [kept, ...stale]) await app.inject(url)
  const etag = String((await app.inject('/v1/facilities/kreativhaus')).headers.etag)
  const patched = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': etag }, payload: { description: 'Geändert.' } })
  t.equal(patched.statusCode, 200)
  // Each stale answer asked for twice at once: the second request finds it built.
  const answers = await Promise.all([...stale, ...stale, kept].map(async (url) => await app.inject(url)))
  t.same(answers.map((res) => res.statusCode), answers.map(() => 200))
  t.equal(answers[6]!.headers['x-cache'], 'hit', 'the answer of another facility is kept')
  const [first, second] = [answers.slice(0, 3), answers.slice(3, 6)]
  t.same(first.map((res) => res.headers['x-cache']), [undefined, undefined, undefined], 'built')
  t.same(second.map((res) => res.headers['x-cache']), ['hit', 'hit', 'hit'], 'built once, then replayed')
  t.same(second.map((res) => res.body), first.map((res) => res.body))
  t.ok(first[0]!.body.includes('Geändert.'), 'built from the data after the write')
})

// Pages of facilities name the facilities on them and how to ask their query again
// (reply.cacheRecheck): after a write to facilities not on a page, the page is kept if the query
// still selects the same ones, and built again when one came in or the order moved. The oracle as
// above: every cached answer equals one built afresh.
t.test('cached facility pages outlive writes to facilities not on them, while their query selects the same ones', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  // The facility deleted below: one that no contact, agreement party or event names.
  const gone = 'begegnungsstaette-spandauer-strasse'
  const goneOperator = (await getJson(app, `/v1/facilities/${gone}`)).body.operator.slug as string
  const lists = [`/v1/facilities?updatedSince=2020-01-01T00:00:00Z&operator=${goneOperator}`,
    '/v1/facilities', '/v1/facilities?limit=3', '/v1/facilities?limit=3&sort=-name', '/v1/facilities?q=familienzentrum',
    '/v1/facilities?q=senioren', '/v1/facilities?q=zaubergarten', '/v1/facilities?type=familienzentrum', '/v1/facilities?ortsteil=Moabit',
    '/v1/facilities?category=beratung', '/v1/facilities?targetGroup=senioren', '/v1/facilities?fields=id,name&sort=-updatedAt',
    '/v1/facilities?updatedSince=2020-01-01T00:00:00Z&limit=5', '/v1/facilities?openAt=2026-03-11T10:00:00%2B01:00',
    '/v1/facilities?near=52.5219,13.4132&radius=1500', '/v1/facilities?include=services&limit=2',
    '/v1/facilities?include=contacts,targetGroups&limit=20', '/v1/facilities?format=csv']
  const scoped = (url: string) => !url.includes('format=')
  const write = writerFor(t, app, key)
  const ids = async (url: string): Promise<string[]> => (await getJson(app, url)).body.items.map((f: any) => f.id)
  const check = pagesOracle(t, app, lists)
  for (const url of lists) await app.inject(url)
  t.same(await check('no write'), lists)

  // A change that moves no facility into or out of a page: the pages without it are kept.
  const kreativhaus = seedId('facility', 'kreativhaus')
  const without = []
  for (const url of lists.filter(scoped)) if (!(await ids(url)).includes(kreativhaus)) without.push(url)
  t.ok(without.length >= 5, 'pages without the Kreativhaus')
  await write('PATCH', '/v1/facilities/kreativhaus', { description: 'Neu beschrieben.' }, '/v1/facilities/kreativhaus')
  t.same(await check('PATCH a description'), without, 'exactly the pages without the facility are kept')

  // Changes that bring a facility onto a page it was not on.
  await write('PATCH', `/v1/facilities/${gone}`, { description: 'Mit Zaubergarten.' }, `/v1/facilities/${gone}`)
  await check('a facility comes into a search')
  t.same(await ids('/v1/facilities?q=zaubergarten'), [seedId('facility', gone)])
  await write('PATCH', '/v1/facilities/villa-luetzow', { name: 'AAA Villa Lützow (Test)' }, '/v1/facilities/villa-luetzow')
  await check('a renamed facility moves to the first page')
  t.equal((await ids('/v1/facilities?limit=3'))[0], seedId('facility', 'villa-luetzow'))
  const advising = await ids('/v1/facilities?category=beratung')
  const newcomer = (await ids('/v1/facilities')).find((id) => !advising.includes(id) && id !== seedId('facility', gone))!
  await write('POST', '/v1/services', { ...testServiceInput(newcomer), category: 'beratung' })
  await check('a new service brings its facility into a category')
  t.ok((await ids('/v1/facilities?category=beratung')).includes(newcomer))
  await write('DELETE', `/v1/facilities/${gone}`, {}, `/v1/facilities/${gone}`)
  await check('a facility deleted')
  // The new service (its name has the word) keeps its facility in the search.
  t.same(await ids('/v1/facilities?q=zaubergarten'), [newcomer])
  await write('PATCH', '/v1/target-groups/senioren', { labelDe: 'Ältere Menschen (Test)' }, '/v1/target-groups/senioren')
  await check('a target group relabelled')
  app.db.$client.prepare("update facilities set ortsteil = 'Moabit' where slug = 'kreativhaus'").run()
  await check('an UPDATE in SQL moves a facility into Moabit')
  // A sync page of a deleted facility's operator: renaming the operator touches no live facility.
  await write('PATCH', `/v1/organisations/${goneOperator}`, { slug: `${goneOperator}-neu` }, `/v1/organisations/${goneOperator}`)
  await check('the operator of a deleted facility renamed')
  t.equal((await getJson(app, `/v1/facilities?updatedSince=2020-01-01T00:00:00Z&operator=${goneOperator}`)).body.total, 0)
  t.ok((await ids('/v1/facilities?ortsteil=Moabit')).includes(kreativhaus))
  // Contacts are embedded (include=contacts) and have changes of their own.
  const contact = await write('POST', '/v1/contacts', testContact('kreativhaus'))
  t.notOk((await check('a contact of a facility created')).includes('/v1/facilities?include=contacts,targetGroups&limit=20'))
  const embedded = (await getJson(app, '/v1/facilities?include=contacts,targetGroups&limit=20')).body.items.find((f: any) => f.id === kreativhaus)
  t.same(embedded.contacts.map((c: any) => c.id), [contact.id])
})

t.test('cached service pages outlive writes to records not on them, while their query selects the same ones', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const write = writerFor(t, app, key)
  const lists = ['/v1/services', '/v1/services?limit=5', '/v1/services?limit=3&sort=-name', '/v1/services?q=beratung', '/v1/services?q=eltern',
    '/v1/services?q=zaubergarten', '/v1/services?category=selbsthilfe', '/v1/services?facility=meerbaum-haus&targetGroup=senioren',
    '/v1/facilities/kreativhaus/services', '/v1/services?updatedSince=2020-01-01T00:00:00Z&limit=5', '/v1/services?format=csv']
  const items = async (url: string): Promise<any[]> => (await getJson(app, url)).body.items
  const check = pagesOracle(t, app, lists)
  for (const url of lists) await app.inject(url)
  t.same(await check('no write'), lists)

  // A facility's description is not part of its services: only pages with its services are built.
  const meerbaum = seedId('facility', 'meerbaum-haus')
  const without = []
  for (const url of lists) if (!url.includes('format=') && !(await items(url)).some((s) => s.facility.id === meerbaum)) without.push(url)
  t.ok(without.length >= 3, 'pages without services of the Meerbaum Haus')
  await write('PATCH', '/v1/facilities/meerbaum-haus', { description: 'Neu beschrieben.' }, '/v1/facilities/meerbaum-haus')
  t.same(await check('PATCH a facility\'s description'), without, 'exactly the pages without its services are kept')

  await write('PATCH', '/v1/facilities/kreativhaus', { name: 'KREATIVHAUS (umbenannt)' }, '/v1/facilities/kreativhaus')
  await check('a facility renamed')
  t.ok((await items('/v1/facilities/kreativhaus/services')).every((s) => s.facility.name === 'KREATIVHAUS (umbenannt)'))
  const created = await write('POST', '/v1/services', testServiceInput('meerbaum-haus'))
  await check('a service created')
  t.same((await items('/v1/services?q=zaubergarten')).map((s) => s.id), [created.id])
  await write('PATCH', `/v1/services/${created.id}`, { name: 'AAA Testangebot' }, `/v1/services/${created.id}`)
  await check('a service renamed')
  await write('PATCH', '/v1/categories/selbsthilfe', { labelDe: 'Selbsthilfe (Test)' }, '/v1/categories/selbsthilfe')
  await check('a category relabelled')
  t.ok((await items('/v1/services?category=selbsthilfe')).every((s) => s.category.labelDe === 'Selbsthilfe (Test)'))
  await write('PATCH', '/v1/target-groups/senioren', { labelDe: 'Ältere Menschen (Test)' }, '/v1/target-groups/senioren')
  await check('a target group relabelled')
  await write('DELETE', `/v1/services/${created.id}`, {}, `/v1/services/${created.id}`)
  await check('a service deleted')
  // (One that no contact, agreement party or event names: those are refused, 409.)
  const goneServices = await items('/v1/services?facility=familienzentrum-moabit-ost')
  t.ok(goneServices.length > 0)
  await write('DELETE', '/v1/facilities/familienzentrum-moabit-ost', {}, '/v1/facilities/familienzentrum-moabit-ost')
  await check('a facility deleted (its services go with it)')
  t.same(await items('/v1/services?facility=familienzentrum-moabit-ost'), [])
})

t.test('a facility\'s empty service page is not kept once the facility is gone or its slug is another\'s', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const write = writerFor(t, app, key)
  insertTestFacility(app, { slug: 'testtreff-a', name: 'Testtreff A (synthetisch)' })
  insertTestFacility(app, { slug: 'testtreff-b', name: 'Testtreff B (synthetisch)' })
  const page = await app.inject('/v1/facilities/testtreff-a/services')
  t.equal(page.statusCode, 200)
  t.same(page.json().items, [])
  t.equal((await app.inject('/v1/facilities/testtreff-a/services')).headers['x-cache'], 'hit')
  // A hands its slug to B: the page of that slug is B's.
  await write('PATCH', '/v1/facilities/testtreff-a', { slug: 'testtreff-a-alt' }, '/v1/facilities/testtreff-a')
  await write('PATCH', '/v1/facilities/testtreff-b', { slug: 'testtreff-a' }, '/v1/facilities/testtreff-b')
  await write('POST', '/v1/services', testServiceInput('testtreff-a'))
  const handedOver = await app.inject('/v1/facilities/testtreff-a/services')
  t.not(handedOver.headers['x-cache'], 'hit')
  t.same(handedOver.json().items.map((s: any) => s.facility.name), ['Testtreff B (synthetisch)'])
  await app.inject('/v1/facilities/testtreff-a-alt/services')
  await write('DELETE', '/v1/facilities/testtreff-a-alt', {}, '/v1/facilities/testtreff-a-alt')
  t.equal((await app.inject('/v1/facilities/testtreff-a-alt/services')).statusCode, 404, 'gone with its facility')
})

// Lists of contacts, events and organisations show little of facilities: contacts and event
// participants a facility's slug and name, organisations how many facilities they operate. They
// name the kinds of records they are built from, and after writes to facilities they are kept
// while what they show of facilities is the same (reply.cacheRecheck). A full page of the change
// feed never changes but for what its entries read from records now (a contact's visibility).
// The oracle: after each write, every cached answer equals one built afresh.
t.test('cached contacts, events, organisations and full feed pages outlive writes that do not reach them', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const write = writerFor(t, app, key)
  const contacts = ['/v1/contacts', '/v1/contacts?format=vcard', '/v1/contacts?format=csv', '/v1/contacts?facility=sprengelhaus']
  const events = ['/v1/events', '/v1/events?format=ics', '/v1/events?agreement=kooperationsvereinbarung-2018']
  const organisations = ['/v1/organisations?kind=operator', '/v1/organisations?format=csv']
  const feed = ['/v1/changes?since=0&limit=20', '/v1/changes?since=0&limit=3&entityType=contact']
  // The feed's last entries: not a full page, built again after every write.
  const tail = `/v1/changes?since=${app.dataVersion().seq - 2}`
  const lists = [...contacts, ...events, ...organisations, ...feed, tail]
  const check = pagesOracle(t, app, lists)
  for (const url of lists) await app.inject(url)
  t.same(await check('no write'), lists)
  t.ok((await getJson(app, feed[0]!)).body.hasMore && (await getJson(app, feed[1]!)).body.hasMore, 'the feed pages are full')
  const except = (...changed: string[]) => lists.filter((url) => !changed.includes(url))

  // What the soak writes: a facility's description (the Kreativhaus takes part in the event), and
  // a service created and deleted.
  await write('PATCH', '/v1/facilities/kreativhaus', { description: 'Neu beschrieben.' }, '/v1/facilities/kreativhaus')
  t.same(await check('PATCH a facility\'s description'), except(tail), 'every answer but the feed\'s tail kept')
  const service = await write('POST', '/v1/services', testServiceInput('kreativhaus'))
  t.same(await check('POST a service'), except(tail))
  await write('DELETE', `/v1/services/${service.id}`, {}, `/v1/services/${service.id}`)
  t.same(await check('DELETE a service'), except(tail))

  // A public contact of the Sprengelhaus, which no event shows.
  const contact = await write('POST', '/v1/contacts', testContact('sprengelhaus'))
  // Full feed pages depend on every contact (whether one is, or was, public decides its entries).
  t.same(await check('POST a contact'), except(...contacts, ...feed, tail))
  t.same((await getJson(app, '/v1/contacts?facility=sprengelhaus')).body.items.map((c: any) => c.id), [contact.id])
  await write('PATCH', '/v1/facilities/sprengelhaus', { name: 'Sprengelhaus (umbenannt)' }, '/v1/facilities/sprengelhaus')
  t.same(await check('a facility that contacts show renamed'), except(...contacts, tail))
  t.equal((await getJson(app, '/v1/contacts?facility=sprengelhaus')).body.items[0].facility.name, 'Sprengelhaus (umbenannt)')
  await write('PATCH', '/v1/facilities/kreativhaus', { name: 'Kreativhaus (umbenannt)' }, '/v1/facilities/kreativhaus')
  // An internal contact names the Kreativhaus: public lists are built again too (they cannot tell).
  t.same(await check('a facility that events show renamed'), except(...contacts, ...events, tail))
  t.ok((await getJson(app, '/v1/events')).body.items[0].participants.some((p: any) => p.facility?.name === 'Kreativhaus (umbenannt)'))
  const operator = (await getJson(app, '/v1/facilities/sprengelhaus')).body.operator.slug as string
  const otherOperator = operator === 'fipp' ? 'pfefferwerk' : 'fipp'
  await write('PATCH', '/v1/facilities/sprengelhaus', { operator: otherOperator }, '/v1/facilities/sprengelhaus')
  // The operators' facility counts change; contacts and events do not show a facility's operator.
  t.same(await check('a facility moved to another operator'), except(...organisations, tail))
  // A facility that events show cannot be deleted (409: nothing changes); one that nothing
  // names can.
  const refused = await app.inject({ method: 'DELETE', url: '/v1/facilities/meerbaum-haus', headers: { ...bearer(key), 'if-match': '*' } })
  t.equal(refused.statusCode, 409)
  await check('a facility that events show: its delete refused')
  await write('DELETE', '/v1/facilities/familienzentrum-moabit-ost', {}, '/v1/facilities/familienzentrum-moabit-ost')
  await check('a facility that nothing names deleted')

  await write('PATCH', `/v1/contacts/${contact.id}`, { visibility: 'internal' }, `/v1/contacts/${contact.id}`)
  t.same(await check('a contact made internal'), except(...contacts, ...feed, tail))
  await write('PATCH', '/v1/events/voneinander-wissen-in-mitte-2020', { title: 'Voneinander wissen in Mitte (Test)' }, '/v1/events/voneinander-wissen-in-mitte-2020')
  t.same(await check('PATCH an event'), except(...events, tail))
  await write('PATCH', '/v1/organisations/jobcenter-berlin-mitte', { name: 'JobCenter Berlin Mitte (Test)' }, '/v1/organisations/jobcenter-berlin-mitte')
  t.same(await check('PATCH an organisation'), except(...contacts, ...events, ...organisations, tail))
  // Link tables have no change triggers: SQL to one starts afresh, also when a write through the
  // API (with a change row of its own) follows before the next read.
  app.db.$client.prepare("update event_participants set name = 'Umbenannt (SQL)' where facility_id is null and position = (select min(position) from event_participants)").run()
  await write('POST', '/v1/services', testServiceInput('sprengelhaus'))
  t.same(await check('SQL to event_participants, then a service created'), [])
  t.ok((await getJson(app, '/v1/events')).body.items[0].participants.some((p: any) => p.name === 'Umbenannt (SQL)'))
})

// Lists of target groups and categories show of facilities and services only how many each
// entry has: they are kept across writes that leave every count as it was. The oracle as above.
t.test('cached vocabulary lists outlive writes that leave their counts as they were', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const write = writerFor(t, app, key)
  const groups = ['/v1/target-groups', '/v1/target-groups?format=csv', '/v1/target-groups?format=ndjson']
  const categories = ['/v1/categories', '/v1/categories?format=csv-excel', '/v1/categories?sort=-updatedAt&limit=3']
  const lists = [...groups, ...categories]
  const check = pagesOracle(t, app, lists)
  for (const url of lists) await app.inject(url)
  t.same(await check('no write'), lists)
  const count = async (url: string, slug: string, member: 'facilityCount' | 'serviceCount') =>
    (await getJson(app, url)).body.items.find((entry: any) => entry.slug === slug)[member] as number

  await write('PATCH', '/v1/facilities/kreativhaus', { description: 'Neu beschrieben.' }, '/v1/facilities/kreativhaus')
  t.same(await check('PATCH a facility\'s description'), lists, 'every list kept')
  const before = { senioren: await count('/v1/target-groups', 'senioren', 'serviceCount'), begegnung: await count('/v1/categories', 'begegnung', 'serviceCount') }
  // A service of the category begegnung for seniors and families: both kinds of counts change.
  const service = await write('POST', '/v1/services', testServiceInput('kreativhaus'))
  t.same(await check('POST a service'), [], 'every list built again')
  t.equal(await count('/v1/target-groups', 'senioren', 'serviceCount'), before.senioren + 1)
  t.equal(await count('/v1/categories', 'begegnung', 'serviceCount'), before.begegnung + 1)
  await write('PATCH', `/v1/services/${service.id}`, { name: 'AAA Testangebot' }, `/v1/services/${service.id}`)
  t.same(await check('a service renamed'), lists)
  await write('PATCH', `/v1/services/${service.id}`, { category: 'beratung' }, `/v1/services/${service.id}`)
  t.same(await check('a service moved to another category'), groups, 'the target groups kept, the categories built again')
  await write('PATCH', `/v1/services/${service.id}`, { targetGroups: [] }, `/v1/services/${service.id}`)
  t.same(await check('a service\'s target groups removed'), categories)
  t.equal(await count('/v1/target-groups', 'senioren', 'serviceCount'), before.senioren)
  await write('PATCH', '/v1/categories/selbsthilfe', { labelDe: 'Selbsthilfe (Test)' }, '/v1/categories/selbsthilfe')
  t.same(await check('a category relabelled'), groups)
  await write('PATCH', '/v1/target-groups/senioren', { labelDe: 'Ältere Menschen (Test)' }, '/v1/target-groups/senioren')
  t.same(await check('a target group relabelled'), categories)
  // A facility that names no target group yet, and one deleted with its services.
  const facility = (await getJson(app, '/v1/facilities/sprengelhaus')).body
  const named = facility.targetGroups.map((g: any) => ({ targetGroup: g.slug, originalWording: g.originalWording }))
  const unnamed = (await getJson(app, '/v1/target-groups')).body.items.find((g: any) => !named.some((n: any) => n.targetGroup === g.slug) && g.facilityCount === 0)
  t.ok(unnamed, 'a target group that no facility serves yet')
  await write('PATCH', '/v1/facilities/sprengelhaus', { targetGroups: [...named, { targetGroup: unnamed.slug, originalWording: 'Testwortlaut' }] }, '/v1/facilities/sprengelhaus')
  t.same(await check('a facility names another target group'), categories)
  t.equal(await count('/v1/target-groups', unnamed.slug, 'facilityCount'), 1)
  // (It has no target groups left.)
  await write('DELETE', `/v1/services/${service.id}`, {}, `/v1/services/${service.id}`)
  t.same(await check('a service deleted'), groups)
  await write('DELETE', '/v1/facilities/familienzentrum-moabit-ost', {}, '/v1/facilities/familienzentrum-moabit-ost')
  t.same(await check('a facility with services deleted'), [], 'its services no longer count')
  // SQL outside the API's writes: nothing kept is vouched for.
  app.db.$client.prepare("update service_target_groups set target_group_id = (select id from target_groups where slug = 'familien') where rowid = (select min(rowid) from service_target_groups)").run()
  t.same(await check('SQL to service_target_groups'), [])
})

// RFC 9110 §9.3.2: HEAD sends the header fields a GET would. Both use the response cache, so a kept
// answer gives both the same ETag and Last-Modified (a HEAD built afresh had the newest change's).
t.test('HEAD answers with the headers of the GET, from the same cached answer', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const url = '/v1/facilities/kreativhaus'
  const head = await app.inject({ method: 'HEAD', url })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  const get = await app.inject(url)
  t.equal(get.headers['x-cache'], 'hit', 'the GET is answered from what the HEAD built')
  t.equal(head.headers['content-length'], String(get.rawPayload.length))
  await writerFor(t, app, key)('PATCH', '/v1/facilities/sprengelhaus', { description: 'Anderswo geändert.' }, '/v1/facilities/sprengelhaus')
  const [headAfter, getAfter] = [await app.inject({ method: 'HEAD', url }), await app.inject(url)]
  for (const name of ['etag', 'last-modified', 'cache-control', 'content-type', 'content-length']) {
    t.equal(headAfter.headers[name], getAfter.headers[name], `${name} of HEAD and GET`)
  }
  t.equal(headAfter.headers['last-modified'], get.headers['last-modified'], 'a kept answer keeps its Last-Modified')
  t.equal(headAfter.headers['x-cache'], 'hit')
})

t.test('the public Last-Modified is the newest change the public sees: an internal contact\'s edit does not show in it', async (t) => {
  const app = await buildTestApp(t)
  const key = bearer(createKey(app, ['directory:write', 'contacts:read-internal']).key)
  const changedAt = (seq: number) => new Date(app.db.$client.prepare('SELECT changed_at FROM changes WHERE seq = ?').pluck().get(seq) as string).toUTCString()
  const patch = async (url: string, body: object) => {
    const res = await app.inject({ method: 'PATCH', url, headers: { ...key, 'if-match': '*', 'content-type': 'application/merge-patch+json' }, payload: body })
    t.equal(res.statusCode, 200, url)
  }
  await patch('/v1/facilities/shk-mitte', { fax: '030 111' })
  const publicSeq = app.dataVersion().seq
  // HTTP dates count whole seconds: the hidden edit comes more than a second later.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const internal = app.db.$client.prepare("SELECT id FROM contacts WHERE visibility = 'internal' AND deleted_at IS NULL LIMIT 1").pluck().get() as string
  await patch(`/v1/contacts/${internal}`, { role: 'Geänderte Rolle (intern)' })
  const hiddenSeq = app.dataVersion().seq
  t.not(changedAt(hiddenSeq), changedAt(publicSeq), 'the two changes are seconds apart')
  for (const url of ['/v1/facilities', '/v1/contacts', '/v1/changes?since=0&limit=1000', '/v1/facilities/shk-mitte']) {
    t.equal((await app.inject(url)).headers['last-modified'], changedAt(publicSeq), `${url}: the public change's time`)
  }
  const keyed = await app.inject({ url: '/v1/contacts', headers: key })
  t.equal(keyed.headers['last-modified'], changedAt(hiddenSeq), 'a key that reads internal contacts gets the newest change')
  // So does any key: directory:write reads an internal contact's history.
  const writer = bearer(createKey(app, ['directory:write']).key)
  const history = await app.inject({ url: `/v1/contacts/${internal}/history`, headers: writer })
  t.equal(history.statusCode, 200)
  t.equal(history.json().items.length, 1, 'the hidden edit is in it')
  t.equal(history.headers['last-modified'], changedAt(hiddenSeq), 'with its time')
  const revalidated = await app.inject({ url: `/v1/contacts/${internal}/history`, headers: { ...writer, 'if-modified-since': changedAt(publicSeq) } })
  t.equal(revalidated.statusCode, 200, 'not a 304 for a date before the edit')
  // A public change moves it on.
  await patch('/v1/facilities/shk-mitte', { fax: '030 222' })
  t.equal((await app.inject('/v1/facilities')).headers['last-modified'], changedAt(app.dataVersion().seq))
})

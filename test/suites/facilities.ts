import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { migrateDatabase, openDatabase } from '../../src/db/client.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { createFacilitiesRepository, type FacilityListOptions } from '../../src/repositories/facilities-repository.ts'
import { createWriter } from '../../src/repositories/writer.ts'
import type { Facility } from '../../src/schemas/facilities.ts'
import { seedDatabase } from '../../seed/seed.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

const KREATIVHAUS_ID = seedId('facility', 'kreativhaus')
const slugsOf = (body: { items: { slug: string }[] }) => body.items.map((f) => f.slug).sort()

t.test('GET /v1/facilities (200) lists every seeded facility with its partnership status', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/facilities')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, 14)
  t.equal(body.limit, 50)
  t.equal(body.offset, 0)
  t.equal(body.items.length, 14)
  const names = body.items.map((f: { name: string }) => f.name)
  t.same(names, [...names].sort((a: string, b: string) => a.toLowerCase() < b.toLowerCase() ? -1 : 1), 'sorted by name')
  const byStatus = (status: string) => body.items.filter((f: any) => f.partnership.status === status).length
  t.equal(byStatus('participant'), 9, 'only 9 facilities are named in a source')
  t.equal(byStatus('probable'), 3)
  t.equal(byStatus('unknown'), 2)
  for (const facility of body.items) {
    t.equal(facility.geo, null, `${facility.slug}: no source gives coordinates`)
    t.ok(facility.sources.length > 0, `${facility.slug} carries its sources`)
  }
})

t.test('GET /v1/facilities/{idOrSlug} (200) by slug and by id give the real record', async (t) => {
  const app = await readOnlyApp(t)
  const bySlug = await getJson(app, '/v1/facilities/kreativhaus')
  t.equal(bySlug.res.statusCode, 200)
  const f = bySlug.body
  t.equal(f.id, KREATIVHAUS_ID)
  t.equal(f.slug, 'kreativhaus')
  t.match(f.name, /KREATIVHAUS/)
  t.same(f.address, {
    street: 'Fischerinsel 3',
    postcode: '10179',
    city: 'Berlin',
    ortsteil: 'Mitte',
    bezirksregion: f.address.bezirksregion,
    note: f.address.note
  })
  t.equal(f.phone, '030 / 238 09 13')
  t.equal(f.website, 'https://www.kreativhaus-berlin.de/')
  t.equal(f.geo, null)
  t.equal(f.partnership.status, 'participant')
  t.match(f.partnership.evidence, /067\/2020/)
  t.equal(f.operator.slug, 'fipp')
  t.ok(f.types.includes('stadtteilzentrum'))
  t.ok(f.types.includes('mehrgenerationenhaus'))
  t.ok(f.types.includes('familienzentrum'))
  t.equal(f.serviceCount, 20, 'all 20 offers of the research file')
  t.ok(f.targetGroups.some((g: any) => g.slug === 'senioren' && g.originalWording === 'Senioren'))
  t.ok(f.sources.some((s: any) => s.url === 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php'))
  t.equal(f.verifiedAt, null)
  t.match(f.createdAt, /^\d{4}-\d\d-\d\dT/)
  const byId = await getJson(app, `/v1/facilities/${KREATIVHAUS_ID}`)
  t.same(byId.body, f)
})

t.test('GET /v1/facilities/{idOrSlug} (200) keeps unknown facts null', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson(app, '/v1/facilities/begegnungsstaette-mehr-mitte')
  t.equal(body.partnership.status, 'participant')
  t.same(body.address, { street: null, postcode: null, city: 'Berlin', ortsteil: null, bezirksregion: null, note: body.address.note })
  t.equal(body.operator, null)
  t.equal(body.phone, null)
  t.equal(body.email, null)
  t.equal(body.website, null)
  t.equal(body.serviceCount, 0)
  t.same(body.targetGroups, [])
  const watt = (await getJson(app, '/v1/facilities/familienzentrum-wattstrasse')).body
  t.equal(watt.address.street, 'Wattstraße 16')
  t.equal(watt.address.postcode, null, 'no source states the postcode')
})

t.test('GET /v1/facilities/{idOrSlug} (404) is problem+json', async (t) => {
  const app = await readOnlyApp(t)
  for (const id of ['no-such-facility', '00000000-0000-4000-8000-000000000000']) {
    const { res, body } = await getJson(app, `/v1/facilities/${id}`)
    t.equal(res.statusCode, 404)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(body, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `No facility with id or slug '${id}' exists.`,
      instance: `/v1/facilities/${id}`
    })
  }
})

t.test('GET /v1/facilities?type= filters by type; repeating it means OR', async (t) => {
  const app = await readOnlyApp(t)
  const shk = await getJson(app, '/v1/facilities?type=selbsthilfekontaktstelle')
  t.same(slugsOf(shk.body), ['shk-mitte'])
  const or = await getJson(app, '/v1/facilities?type=selbsthilfekontaktstelle&type=begegnungsstaette')
  t.same(slugsOf(or.body), ['begegnungsstaette-mehr-mitte', 'begegnungsstaette-spandauer-strasse', 'meerbaum-haus', 'shk-mitte'])
  t.equal(or.body.total, 4)
})

t.test('GET /v1/facilities?ortsteil= filters by Ortsteil, case-insensitive', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson(app, '/v1/facilities?ortsteil=moabit')
  t.same(slugsOf(body), ['familienzentrum-moabit-ost', 'shk-mitte', 'stadtschloss-moabit'])
  const or = await getJson(app, '/v1/facilities?ortsteil=Moabit&ortsteil=Gesundbrunnen')
  t.same(slugsOf(or.body), ['familienzentrum-moabit-ost', 'familienzentrum-wattstrasse', 'nachbarschaftsetage-fabrik-osloer-strasse', 'olof-palme-zentrum', 'shk-mitte', 'stadtschloss-moabit'])
})

t.test('GET /v1/facilities?partnershipStatus= and AND across parameters', async (t) => {
  const app = await readOnlyApp(t)
  const probable = await getJson(app, '/v1/facilities?partnershipStatus=probable')
  t.same(slugsOf(probable.body), ['nachbarschaftsetage-fabrik-osloer-strasse', 'sprengelhaus', 'stadtschloss-moabit'])
  const and = await getJson(app, '/v1/facilities?partnershipStatus=probable&ortsteil=Moabit')
  t.same(slugsOf(and.body), ['stadtschloss-moabit'])
  const none = await getJson(app, '/v1/facilities?partnershipStatus=unknown&type=selbsthilfekontaktstelle')
  t.equal(none.body.total, 0)
  t.same(none.body.items, [])
})

t.test('GET /v1/facilities?operator= accepts slug or id', async (t) => {
  const app = await readOnlyApp(t)
  const bySlug = await getJson(app, '/v1/facilities?operator=pfefferwerk')
  t.same(slugsOf(bySlug.body), ['familienzentrum-wattstrasse', 'olof-palme-zentrum'])
  const byId = await getJson(app, `/v1/facilities?operator=${seedId('organisation', 'pfefferwerk')}`)
  t.same(byId.body.items, bySlug.body.items)
  t.equal(byId.body.total, 2)
})

t.test('GET /v1/facilities?targetGroup= and ?category= use the vocabularies', async (t) => {
  const app = await readOnlyApp(t)
  const seniors = await getJson(app, '/v1/facilities?targetGroup=senioren')
  t.ok(seniors.body.total >= 5)
  for (const f of seniors.body.items) {
    const detail = (await getJson(app, `/v1/services?facility=${f.slug}&targetGroup=senioren`)).body
    t.ok(f.targetGroups.some((g: any) => g.slug === 'senioren') || detail.total > 0, `${f.slug} serves seniors`)
  }
  const selbsthilfe = await getJson(app, '/v1/facilities?category=selbsthilfe')
  t.ok(slugsOf(selbsthilfe.body).includes('shk-mitte'))
  for (const f of selbsthilfe.body.items) t.ok(f.categories.includes('selbsthilfe'))
  const and = await getJson(app, '/v1/facilities?category=selbsthilfe&targetGroup=senioren&ortsteil=Moabit')
  t.ok(slugsOf(and.body).includes('shk-mitte'))
})

t.test('GET /v1/facilities paginates with limit and offset', async (t) => {
  const app = await readOnlyApp(t)
  const all = (await getJson(app, '/v1/facilities')).body.items.map((f: any) => f.id)
  const first = await getJson(app, '/v1/facilities?limit=5')
  const second = await getJson(app, '/v1/facilities?limit=5&offset=5')
  const last = await getJson(app, '/v1/facilities?limit=5&offset=10')
  t.equal(first.body.total, 14)
  t.same([...first.body.items, ...second.body.items, ...last.body.items].map((f: any) => f.id), all)
  t.equal(last.body.items.length, 4)
})

t.test('GET /v1/facilities (400) lists each failing parameter as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/facilities?limit=501&type=schloss&colour=blue')
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(body.type, '/problems/validation-error')
  t.equal(body.status, 400)
  const fields = body.errors.map((e: any) => e.field).sort()
  t.same(fields, ['query.colour', 'query.limit', 'query.type.0'])
  t.match(body.detail, /query\.limit must be <= 500/)
  for (const url of ['/v1/facilities?offset=-1', '/v1/facilities?limit=abc', '/v1/facilities?targetGroup=Not%20A%20Slug', '/v1/facilities?partnershipStatus=signed']) {
    const r = await app.inject(url)
    t.equal(r.statusCode, 400, url)
    t.equal(r.headers['content-type'], PROBLEM_JSON, url)
  }
})

t.test('GET /v1/facilities/{idOrSlug}/services and /contacts (200, 404)', async (t) => {
  const app = await readOnlyApp(t)
  const services = await getJson(app, '/v1/facilities/meerbaum-haus/services')
  t.equal(services.res.statusCode, 200)
  t.equal(services.body.total, 11)
  t.ok(services.body.items.every((s: any) => s.facility.slug === 'meerbaum-haus'))
  const mittag = services.body.items.find((s: any) => /Mittagstreff/.test(s.name))
  t.ok(mittag, 'the Offener Mittagstreff is an offer')
  const contacts = await getJson(app, '/v1/facilities/villa-luetzow/contacts')
  t.equal(contacts.res.statusCode, 200)
  t.same(contacts.body.items, [], 'the only person named for Villa Lützow is an internal contact')
  for (const sub of ['services', 'contacts']) {
    const missing = await app.inject(`/v1/facilities/nope/${sub}`)
    t.equal(missing.statusCode, 404)
    t.equal(missing.headers['content-type'], PROBLEM_JSON)
  }
})

t.test('unknown routes are 404 problem+json', async (t) => {
  const app = await buildTestApp(t, { seed: false })
  const { res, body } = await getJson(app, '/v1/nothing-here')
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same(body, { type: '/problems/not-found', title: 'Not Found', status: 404, detail: 'No route GET /v1/nothing-here. See /docs for the API.', instance: '/v1/nothing-here' })
})

t.test('a method a path does not have is 405 problem+json with Allow; OPTIONS without preflight headers is 204', async (t) => {
  const app = await buildTestApp(t, { seed: false })
  for (const [method, url, allow] of [
    ['PUT', '/v1/facilities/kreativhaus', 'GET, HEAD, PATCH, DELETE'],
    ['POST', '/v1/changes?since=0', 'GET, HEAD'],
    ['DELETE', '/v1/facilities', 'GET, HEAD, POST']
  ] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 405, `${method} ${url}`)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.headers.allow, allow)
    t.match(res.json(), { type: '/problems/method-not-allowed', status: 405, instance: url })
  }
  // A path parameter longer than the router takes names no route: 404, never a made-up Allow.
  const long = await app.inject({ method: 'PUT', url: `/v1/facilities/${'a'.repeat(250)}` })
  t.equal(long.statusCode, 404)
  t.equal(long.headers.allow, undefined)
  const options = await app.inject({ method: 'OPTIONS', url: '/v1/facilities' })
  t.equal(options.statusCode, 204, 'a plain OPTIONS is not an error')
  t.equal(options.headers['access-control-allow-origin'], '*')
})

t.test('facility records are built once per data generation: never stale after a write, never kept from a rolled-back one', async (t) => {
  const app = await buildTestApp(t)
  const sqlite = app.db.$client
  const fresh = { 'cache-control': 'no-cache' }
  const read = async () => (await getJson(app, '/v1/facilities/kreativhaus', { headers: fresh })).body.description as string
  const original = await read()
  t.equal(await read(), original, 'built again from the same data: the same record')

  // A write (any changing statement) starts a new generation: the next answer is built anew.
  sqlite.prepare('update facilities set description = ? where id = ?').run('Nach dem Schreiben.', KREATIVHAUS_ID)
  t.equal(await read(), 'Nach dem Schreiben.')
  const list = await getJson(app, '/v1/facilities?q=kreativhaus', { headers: fresh })
  t.equal(list.body.items[0].description, 'Nach dem Schreiben.', 'lists and searches too')
  t.same(list.body.items[0].match.fields.includes('name'), true, 'a search adds its explanation to its own copy')
  t.equal((await getJson(app, '/v1/facilities/kreativhaus', { headers: fresh })).body.match, undefined, 'the kept record has no match')

  // A record read inside a write transaction that then rolls back must not outlive it.
  t.throws(() => sqlite.transaction(() => {
    sqlite.prepare('update facilities set description = ? where id = ?').run('Nie geschrieben.', KREATIVHAUS_ID)
    t.equal(app.repos.facilities.find('kreativhaus')?.description, 'Nie geschrieben.', 'the transaction sees its change')
    throw new Error('roll back')
  })(), /roll back/)
  t.equal(await read(), 'Nach dem Schreiben.', 'after the rollback: the committed record')

  // What callers get: their own top level; the nested parts are shared and frozen.
  const record = app.repos.facilities.find('kreativhaus')!
  t.ok(Object.isFrozen(record.address) && Object.isFrozen(record.targetGroups), 'nested parts are frozen')
  t.throws(() => { (record.address as { street: string | null }).street = 'x' }, TypeError, 'changing a shared part throws')
  record.description = 'only this copy'
  t.equal(app.repos.facilities.find('kreativhaus')!.description, 'Nach dem Schreiben.', 'a caller changes its copy only')
})

t.test('kept facility records: complete when more are asked for than are kept, rebuilt when another process changed the row', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mitte-built-'))
  const file = join(dir, 'directory.db')
  const ours = openDatabase(file)
  const other = openDatabase(file)
  t.teardown(() => {
    ours.$client.close()
    other.$client.close()
    rmSync(dir, { recursive: true, force: true })
  })
  migrateDatabase(ours)
  seedDatabase(ours)
  const repository = createFacilitiesRepository(ours, createWriter(ours), { builtKept: 3 })
  const all = { limit: 500, offset: 0 } as FacilityListOptions
  for (let round = 0; round < 2; round++) {
    const page = repository.list(all)
    t.equal(page.items.length, 14)
    t.ok(page.items.every((f) => typeof (f as Facility).name === 'string' && Array.isArray((f as Facility).alternateNames)), `round ${round}: every record complete with 3 kept`)
  }
  const before = repository.find('kreativhaus')!
  // Another process writes; this connection notices it within 250 ms, but the row read now is new,
  // and the record built for it must be too.
  other.$client.prepare('update facilities set description = ?, updated_at = ? where slug = ?').run('Von nebenan.', '2099-01-01T00:00:00.000Z', 'kreativhaus')
  const after = repository.list({ ...all, updatedSince: '2098-01-01T00:00:00Z' } as FacilityListOptions)
  t.equal(after.items.length, 1)
  t.equal((after.items[0] as Facility).description, 'Von nebenan.', 'the record agrees with its row')
  t.equal((after.items[0] as Facility).updatedAt, '2099-01-01T00:00:00.000Z')
  t.not(before.description, 'Von nebenan.')
})

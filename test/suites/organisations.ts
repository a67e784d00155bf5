import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { facilities, organisations, organisationSites, organisationUnits } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

const JOBCENTER_ID = seedId('organisation', 'jobcenter-berlin-mitte')
const PM_067_URL = 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php'
const DELETED_AT = '2026-01-02T00:00:00.000Z'

const NAMES = [
  'Bezirksamt Mitte von Berlin',
  'Evangelische Kirchengemeinde Tiergarten',
  'Fabrik Osloer Straße e.V.',
  'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)',
  'JobCenter Berlin Mitte',
  'Kreativhaus e.V.',
  'Moabiter Ratschlag e.V.',
  'Pfefferwerk Stadtkultur gGmbH',
  'StadtRand gGmbH',
  'Stadtteilverein Tiergarten e.V.'
]

// After the seed (written when the test process starts), so that only the test's own writes count.
const SINCE = new Date(Date.now() + 3_600_000).toISOString()
const LATER = new Date(Date.now() + 7_200_000).toISOString()
const LATEST = new Date(Date.now() + 10_800_000).toISOString()

const namesOf = (body: { items: { name: string }[] }) => body.items.map((o) => o.name)
const slugsOf = (items: { slug: string }[]) => items.map((o) => o.slug)

t.test('GET /v1/organisations (200) lists the ten organisations sorted by name', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/organisations')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, 10)
  t.equal(body.limit, 50)
  t.equal(body.offset, 0)
  t.same(namesOf(body), NAMES)
  const counts = Object.fromEntries(body.items.map((o: any) => [o.slug, o.facilityCount]))
  t.same(counts, {
    'bezirksamt-mitte': 1,
    'ev-kirchengemeinde-tiergarten': 1,
    'fabrik-osloer-strasse': 1,
    fipp: 2,
    'jobcenter-berlin-mitte': 0,
    'kreativhaus-ev': 0,
    'moabiter-ratschlag': 2,
    pfefferwerk: 2,
    stadtrand: 1,
    'stadtteilverein-tiergarten': 1
  }, 'facilityCount counts the facilities each one operates')
  const jobcenter = body.items.find((o: any) => o.slug === 'jobcenter-berlin-mitte')
  t.same(jobcenter, {
    id: JOBCENTER_ID,
    slug: 'jobcenter-berlin-mitte',
    kind: 'jobcenter',
    name: 'JobCenter Berlin Mitte',
    alternateNames: ['JobCenter Mitte', 'Jobcenter Berlin-Mitte'],
    description: jobcenter.description,
    legalForm: 'gemeinsame Einrichtung der Agentur für Arbeit und des Bezirksamtes',
    website: 'https://www.berlin.de/jobcenter-mitte/',
    email: null,
    phone: null,
    address: { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null },
    notes: jobcenter.notes,
    facilityCount: 0,
    sources: jobcenter.sources,
    createdAt: jobcenter.createdAt,
    updatedAt: jobcenter.updatedAt
  })
  t.match(jobcenter.description, /Kooperationsvereinbarung von 2018/)
  t.equal(jobcenter.notes.length, 5)
  t.ok(jobcenter.sources.some((s: any) => s.url === PM_067_URL && s.facts.includes('address of site Spittelmarkt')))
  t.notOk('units' in jobcenter, 'the list has no embedded units')
  const ratschlag = body.items.find((o: any) => o.slug === 'moabiter-ratschlag')
  t.equal(ratschlag.phone, '(030) 390 812-0')
  t.equal(ratschlag.email, 'info@moabiter-ratschlag.de')
  t.equal(ratschlag.legalForm, 'e.V.')
})

t.test('GET /v1/organisations?kind= filters by kind; repeating it means OR', async (t) => {
  const app = await readOnlyApp(t)
  const jobcenter = await getJson(app, '/v1/organisations?kind=jobcenter')
  t.equal(jobcenter.res.statusCode, 200)
  t.equal(jobcenter.body.total, 1)
  t.same(namesOf(jobcenter.body), ['JobCenter Berlin Mitte'])
  const or = await getJson(app, '/v1/organisations?kind=jobcenter&kind=district_office')
  t.equal(or.body.total, 2)
  t.same(namesOf(or.body), ['Bezirksamt Mitte von Berlin', 'JobCenter Berlin Mitte'])
  const operators = await getJson(app, '/v1/organisations?kind=operator')
  t.equal(operators.body.total, 8)
  t.same(namesOf(operators.body), NAMES.filter((n) => !['Bezirksamt Mitte von Berlin', 'JobCenter Berlin Mitte'].includes(n)))
  t.ok(operators.body.items.every((o: any) => o.kind === 'operator'))
})

t.test('GET /v1/organisations paginates with limit and offset', async (t) => {
  const app = await readOnlyApp(t)
  const first = await getJson(app, '/v1/organisations?limit=4')
  const second = await getJson(app, '/v1/organisations?limit=4&offset=4')
  const last = await getJson(app, '/v1/organisations?limit=4&offset=8')
  t.same({ total: first.body.total, limit: first.body.limit, offset: first.body.offset }, { total: 10, limit: 4, offset: 0 })
  t.same({ total: last.body.total, limit: last.body.limit, offset: last.body.offset }, { total: 10, limit: 4, offset: 8 })
  t.same([...first.body.items, ...second.body.items, ...last.body.items].map((o: any) => o.name), NAMES)
  t.equal(last.body.items.length, 2)
  const filtered = await getJson(app, '/v1/organisations?kind=operator&limit=2&offset=6')
  t.equal(filtered.body.total, 8, 'total counts the filtered records, not the page')
  t.same(namesOf(filtered.body), ['StadtRand gGmbH', 'Stadtteilverein Tiergarten e.V.'])
})

t.test('GET /v1/organisations (400) lists each failing parameter as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/organisations?kind=verein&limit=0&name=FiPP')
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(body.type, '/problems/validation-error')
  t.equal(body.title, 'Bad Request')
  t.equal(body.status, 400)
  t.equal(body.instance, '/v1/organisations?kind=verein&limit=0&name=FiPP')
  t.same(body.errors.map((e: any) => e.field).sort(), ['query.kind.0', 'query.limit', 'query.name'])
  t.same(body.errors.find((e: any) => e.field === 'query.kind.0'), {
    field: 'query.kind.0',
    message: 'must be one of the allowed values: district_office, jobcenter, operator'
  })
  t.match(body.detail, /query\.limit must be >= 1/)
  for (const [url, field] of [['/v1/organisations?limit=501', 'query.limit'], ['/v1/organisations?offset=-1', 'query.offset'], ['/v1/organisations?offset=x', 'query.offset']] as const) {
    const r = await getJson(app, url)
    t.equal(r.res.statusCode, 400, url)
    t.equal(r.res.headers['content-type'], PROBLEM_JSON, url)
    t.same(r.body.errors.map((e: any) => e.field), [field], url)
  }
})

t.test('GET /v1/organisations/{idOrSlug} (200) gives the JobCenter with its sites and public contacts', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.id, JOBCENTER_ID)
  t.equal(body.name, 'JobCenter Berlin Mitte')
  t.equal(body.kind, 'jobcenter')
  t.same(body.address, { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null })
  t.equal(body.facilityCount, 0)
  t.same(body.units, [])
  t.same(body.facilities, [])
  t.same(body.sites.map((s: any) => [s.name, s.status]), [
    ['Standort Leopoldplatz', 'active'],
    ['Standort Spittelmarkt', 'active'],
    ['Außenstelle U25', 'unverified'],
    ['Standort Wedding', 'unverified'],
    ['Früherer Hauptstandort Sickingenstraße', 'historic']
  ], 'active sites first, then by name')
  const spittelmarkt = body.sites.find((s: any) => s.slug === 'jobcenter-spittelmarkt')
  t.same(spittelmarkt, {
    id: seedId('organisation-site', 'jobcenter-spittelmarkt'),
    slug: 'jobcenter-spittelmarkt',
    name: 'Standort Spittelmarkt',
    status: 'active',
    address: { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null },
    geo: null,
    description: spittelmarkt.description,
    notes: spittelmarkt.notes,
    sources: spittelmarkt.sources
  })
  t.match(spittelmarkt.description, /11\.03\.2020 fand hier das Kennenlerntreffen/)
  t.ok(spittelmarkt.sources.some((s: any) => s.url === PM_067_URL && s.facts.includes('venue of the event 11.03.2020')))
  const leopoldplatz = body.sites.find((s: any) => s.slug === 'jobcenter-leopoldplatz')
  t.same(leopoldplatz.address, { street: 'Müllerstraße 147', postcode: null, city: 'Berlin', ortsteil: 'Wedding' })
  t.same(body.contacts.map((c: any) => [c.name, c.phone]), [
    ['Lutz Mania', '(030) 5555 45-1010'],
    ['Manuela Arlt', '(030) 5555-456086']
  ])
  const arlt = body.contacts.find((c: any) => c.name === 'Manuela Arlt')
  t.same(arlt.organisation, { id: JOBCENTER_ID, slug: 'jobcenter-berlin-mitte', name: 'JobCenter Berlin Mitte', kind: 'jobcenter' })
  t.equal(arlt.visibility, 'public')
  const fromContacts = await getJson(app, `/v1/contacts/${arlt.id}`)
  t.same(fromContacts.body, arlt, 'an embedded contact has the shape of /v1/contacts/{id}')
  const listed = (await getJson(app, '/v1/organisations')).body.items.find((o: any) => o.id === JOBCENTER_ID)
  const { units, sites, contacts, facilities, ...organisation } = body
  t.same(organisation, listed, 'the detail carries every field of the list entry')
})

t.test('GET /v1/organisations/{idOrSlug} (200) by UUID gives the same record as by slug', async (t) => {
  const app = await readOnlyApp(t)
  const bySlug = await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')
  const byId = await getJson(app, `/v1/organisations/${JOBCENTER_ID}`)
  t.equal(byId.res.statusCode, 200)
  t.same(byId.body, bySlug.body)
})

t.test('GET /v1/organisations/{idOrSlug} (200) gives the Bezirksamt with units, public contacts and its facility', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/organisations/bezirksamt-mitte')
  t.equal(res.statusCode, 200)
  t.equal(body.kind, 'district_office')
  t.equal(body.email, 'Presse@ba-mitte.berlin.de')
  t.same(body.address, { street: null, postcode: null, city: 'Berlin', ortsteil: null })
  t.same(body.units.map((u: any) => [u.name, u.kind]), [
    ['Abteilung Stadtentwicklung, Soziales und Gesundheit', 'department'],
    ['Arbeitskreis Stadtteilarbeit in Mitte', 'working_group'],
    ['Sozialraumorientierte Planungskoordination (SPK)', 'unit'],
    ['Stadtteilkoordination (STK) Mitte', 'programme']
  ])
  const spk = body.units.find((u: any) => u.slug === 'sozialraumorientierte-planungskoordination')
  t.same(spk, {
    id: seedId('organisation-unit', 'sozialraumorientierte-planungskoordination'),
    slug: 'sozialraumorientierte-planungskoordination',
    kind: 'unit',
    name: 'Sozialraumorientierte Planungskoordination (SPK)',
    description: spk.description,
    website: null,
    phone: '(030) 9018-42393',
    notes: spk.notes,
    sources: spk.sources
  })
  t.equal(spk.sources.length, 6)
  t.equal(body.units.find((u: any) => u.slug === 'stadtteilkoordination-mitte').website, 'https://www.berlin.de/stk-mitte/')
  t.same(body.sites, [])
  t.same(body.contacts.map((c: any) => c.name), ['Ephraim Gothe', 'Petra Patz-Drüke'])
  t.same(body.facilities, [{
    id: seedId('facility', 'begegnungsstaette-spandauer-strasse'),
    slug: 'begegnungsstaette-spandauer-strasse',
    name: 'Begegnungsstätte „Spandauer Straße“'
  }])
  t.equal(body.facilityCount, 1)
})

t.test('GET /v1/organisations/{idOrSlug} (200) lists the facilities an operator runs, sorted by name', async (t) => {
  const app = await readOnlyApp(t)
  const fipp = (await getJson(app, '/v1/organisations/fipp')).body
  t.same(slugsOf(fipp.facilities), ['villa-luetzow', 'kreativhaus'], 'Kiez-Zentrum Villa Lützow before KREATIVHAUS')
  t.equal(fipp.facilityCount, 2)
  t.same(fipp.contacts, [], 'both FiPP contacts are internal')
  const ratschlag = (await getJson(app, '/v1/organisations/moabiter-ratschlag')).body
  t.same(slugsOf(ratschlag.facilities), ['sprengelhaus', 'stadtschloss-moabit'])
  t.same(ratschlag.facilities[1], {
    id: seedId('facility', 'stadtschloss-moabit'),
    slug: 'stadtschloss-moabit',
    name: 'Stadtschloss Moabit – Nachbarschaftshaus'
  })
  const former = (await getJson(app, '/v1/organisations/kreativhaus-ev')).body
  t.same(former.facilities, [], 'the former operator of the KREATIVHAUS runs nothing now')
  t.equal(former.facilityCount, 0)
})

t.test('GET /v1/organisations/{idOrSlug} (404) is problem+json', async (t) => {
  const app = await readOnlyApp(t)
  for (const id of ['no-such-organisation', '00000000-0000-4000-8000-000000000000', 'JobCenter Berlin Mitte', seedId('facility', 'kreativhaus')]) {
    const path = `/v1/organisations/${encodeURIComponent(id)}`
    const { res, body } = await getJson(app, path)
    t.equal(res.statusCode, 404, id)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(body, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `No organisation with id or slug '${id}' exists.`,
      instance: path
    })
  }
})

t.test('soft-deleted organisations are neither listed, counted nor found', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(organisations).set({ deletedAt: DELETED_AT }).where(eq(organisations.slug, 'stadtrand')).run()
  const list = await getJson(app, '/v1/organisations')
  t.equal(list.body.total, 9)
  t.same(namesOf(list.body), NAMES.filter((n) => n !== 'StadtRand gGmbH'))
  const operators = await getJson(app, '/v1/organisations?kind=operator')
  t.equal(operators.body.total, 7)
  for (const id of ['stadtrand', seedId('organisation', 'stadtrand')]) {
    const { res } = await getJson(app, `/v1/organisations/${id}`)
    t.equal(res.statusCode, 404, id)
  }
})

t.test('soft-deleted facilities, sites and units are left out of an organisation', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(facilities).set({ deletedAt: DELETED_AT }).where(eq(facilities.slug, 'sprengelhaus')).run()
  app.db.update(organisationSites).set({ deletedAt: DELETED_AT }).where(eq(organisationSites.slug, 'jobcenter-leopoldplatz')).run()
  app.db.update(organisationUnits).set({ deletedAt: DELETED_AT }).where(eq(organisationUnits.slug, 'arbeitskreis-stadtteilarbeit-mitte')).run()
  const ratschlag = (await getJson(app, '/v1/organisations/moabiter-ratschlag')).body
  t.equal(ratschlag.facilityCount, 1)
  t.same(slugsOf(ratschlag.facilities), ['stadtschloss-moabit'])
  const listed = (await getJson(app, '/v1/organisations?kind=operator')).body.items.find((o: any) => o.slug === 'moabiter-ratschlag')
  t.equal(listed.facilityCount, 1)
  const jobcenter = (await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')).body
  t.notOk(slugsOf(jobcenter.sites).includes('jobcenter-leopoldplatz'))
  t.equal(jobcenter.sites.length, 4)
  const bezirksamt = (await getJson(app, '/v1/organisations/bezirksamt-mitte')).body
  t.same(slugsOf(bezirksamt.units), ['abteilung-stadtentwicklung-soziales-gesundheit', 'sozialraumorientierte-planungskoordination', 'stadtteilkoordination-mitte'])
})

t.test('GET /v1/organisations/{idOrSlug} (200) gives geo only when a site has coordinates', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(organisationSites).set({ lat: 52.5113, lon: 13.4036 }).where(eq(organisationSites.slug, 'jobcenter-spittelmarkt')).run()
  app.db.update(organisationSites).set({ lat: 52.5, lon: null }).where(eq(organisationSites.slug, 'jobcenter-leopoldplatz')).run()
  const { body } = await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')
  t.same(body.sites.find((s: any) => s.slug === 'jobcenter-spittelmarkt').geo, { lat: 52.5113, lon: 13.4036 })
  t.equal(body.sites.find((s: any) => s.slug === 'jobcenter-leopoldplatz').geo, null, 'half a coordinate is no position')
})

function touch (app: FastifyInstance, slug: string, at: string) {
  app.db.update(organisations).set({ updatedAt: at }).where(eq(organisations.slug, slug)).run()
}

function softDelete (app: FastifyInstance, slug: string, at: string) {
  app.db.update(organisations).set({ deletedAt: at, updatedAt: at }).where(eq(organisations.slug, slug)).run()
}

function addOrganisation (app: FastifyInstance, slug: string, name: string) {
  const now = new Date().toISOString()
  app.db.insert(organisations).values({
    id: seedId('organisation', slug), slug, kind: 'operator', name, alternateNames: [], notes: [], sources: [], createdAt: now, updatedAt: now
  }).run()
}

// Follows links.next from the first page; every page must carry the total and matching Link headers.
async function walk (t: Test, app: FastifyInstance, url: string, total: number): Promise<any[]> {
  const items: any[] = []
  let next: string | null = url
  while (next !== null) {
    const { res, body }: { res: any, body: any } = await getJson(app, next)
    t.equal(res.statusCode, 200, next)
    t.equal(res.headers['x-total-count'], String(total), `${next}: X-Total-Count`)
    t.equal(body.total, total)
    t.equal(body.links.self, next)
    const link = [body.links.next === null ? null : `<${body.links.next}>; rel="next"`, `<${body.links.first}>; rel="first"`]
    t.equal(res.headers.link, link.filter(Boolean).join(', '), `${next}: Link header`)
    items.push(...body.items)
    next = body.links.next
  }
  return items
}

t.test('GET /v1/organisations?updatedSince= lists what changed since, deleted organisations as tombstones', async (t) => {
  const app = await buildTestApp(t)
  touch(app, 'fipp', LATER)
  softDelete(app, 'stadtrand', LATEST)
  const live = await getJson(app, '/v1/organisations')
  t.equal(live.body.total, 9)
  t.notOk(namesOf(live.body).includes('StadtRand gGmbH'), 'without updatedSince a deleted organisation is simply gone')

  const { res, body } = await getJson(app, `/v1/organisations?updatedSince=${encodeURIComponent(SINCE)}`)
  t.equal(res.statusCode, 200)
  t.equal(body.total, 2, 'only the two organisations written after SINCE')
  t.equal(res.headers['x-total-count'], '2')
  t.same(body.items.map((o: any) => o.id), [seedId('organisation', 'fipp'), seedId('organisation', 'stadtrand')], 'sorted by updatedAt')
  const fipp = body.items[0]
  t.equal(fipp.name, 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)')
  t.equal(fipp.facilityCount, 2)
  t.equal(fipp.updatedAt, LATER)
  t.notOk('deleted' in fipp)
  t.same(body.items[1], { id: seedId('organisation', 'stadtrand'), deleted: true, deletedAt: LATEST }, 'a tombstone carries no other field')

  const later = await getJson(app, `/v1/organisations?updatedSince=${encodeURIComponent(LATEST)}`)
  t.same(later.body.items.map((o: any) => o.id), [seedId('organisation', 'stadtrand')], 'updatedSince is inclusive')
  const none = await getJson(app, `/v1/organisations?updatedSince=${encodeURIComponent(new Date(Date.parse(LATEST) + 1).toISOString())}`)
  t.equal(none.body.total, 0)
  t.same(none.body.items, [])
  const everything = await getJson(app, '/v1/organisations?updatedSince=2000-01-01T00:00:00Z&kind=operator')
  t.equal(everything.body.total, 8, 'seven live operators and the tombstone')
  t.equal(everything.body.items.filter((o: any) => o.deleted === true).length, 1)
  const byName = await getJson(app, `/v1/organisations?updatedSince=${encodeURIComponent(SINCE)}&sort=-name`)
  t.same(byName.body.items.map((o: any) => o.id), [seedId('organisation', 'stadtrand'), seedId('organisation', 'fipp')], 'sort still applies')

  const bad = await getJson(app, '/v1/organisations?updatedSince=yesterday')
  t.equal(bad.res.statusCode, 400)
  t.equal(bad.res.headers['content-type'], PROBLEM_JSON)
  t.same(bad.body.errors.map((e: any) => e.field), ['query.updatedSince'])
})

t.test('GET /v1/organisations cursor pages concatenate to the full list, in every sort', async (t) => {
  const app = await readOnlyApp(t)
  const first = await getJson(app, '/v1/organisations?limit=3')
  t.same(first.body.links, {
    self: '/v1/organisations?limit=3',
    first: '/v1/organisations?limit=3',
    next: first.body.links.next
  })
  t.match(first.body.links.next, /^\/v1\/organisations\?limit=3&cursor=[A-Za-z0-9_-]+$/)
  t.same((await walk(t, app, '/v1/organisations?limit=3', 10)).map((o) => o.name), NAMES)
  t.same((await walk(t, app, '/v1/organisations?limit=4&sort=-name', 10)).map((o) => o.name), [...NAMES].reverse())
  // Every seeded organisation has the same updatedAt, so the order is the id tie-break.
  const ids = (await getJson(app, '/v1/organisations')).body.items.map((o: any) => o.id).sort()
  t.same((await walk(t, app, '/v1/organisations?limit=3&sort=updatedAt', 10)).map((o) => o.id), ids)
  t.same((await walk(t, app, '/v1/organisations?limit=3&sort=-updatedAt', 10)).map((o) => o.id), [...ids].reverse())
  t.same((await walk(t, app, '/v1/organisations?limit=2&kind=operator', 8)).map((o) => o.name), NAMES.filter((n) => !['Bezirksamt Mitte von Berlin', 'JobCenter Berlin Mitte'].includes(n)))
  const last = await getJson(app, '/v1/organisations?limit=10')
  t.equal(last.body.links.next, null, 'no next page after the last record')
  t.equal(last.res.headers.link, '</v1/organisations?limit=10>; rel="first"')
})

t.test('GET /v1/organisations cursors stay stable while organisations are added and deleted', async (t) => {
  const app = await buildTestApp(t)
  const first = (await getJson(app, '/v1/organisations?limit=3')).body
  t.same(namesOf(first), NAMES.slice(0, 3))
  // Between the requests: one sorting before the cursor appears, one on the next page is deleted.
  addOrganisation(app, 'aaa-test', 'Aaa Testträger')
  softDelete(app, 'fipp', LATER)
  const rest = await walk(t, app, first.links.next, 10)
  t.same([...namesOf(first), ...rest.map((o) => o.name)], NAMES.filter((n) => !n.startsWith('FiPP')), 'no duplicates, no gaps among the survivors')
  const offset = await getJson(app, '/v1/organisations?limit=3&offset=3')
  t.same(namesOf(offset.body), ['Fabrik Osloer Straße e.V.', 'JobCenter Berlin Mitte', 'Kreativhaus e.V.'], 'offset still counts positions')
})

t.test('GET /v1/organisations?format=ndjson streams every organisation, one per line', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject('/v1/organisations?format=ndjson&limit=2&offset=5')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  t.ok(res.body.endsWith('\n'))
  const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.equal(lines.length, 10, 'all records, ignoring limit and offset')
  t.same(lines.map((o) => o.name), NAMES)
  t.same(lines, (await getJson(app, '/v1/organisations')).body.items, 'each line is the record the JSON list gives')
  softDelete(app, 'stadtrand', LATER)
  const changes = await app.inject(`/v1/organisations?format=ndjson&updatedSince=${encodeURIComponent(SINCE)}`)
  t.same(changes.body, `${JSON.stringify({ id: seedId('organisation', 'stadtrand'), deleted: true, deletedAt: LATER })}\n`)
  const empty = await app.inject('/v1/organisations?format=ndjson&kind=jobcenter&updatedSince=2099-01-01T00:00:00Z')
  t.equal(empty.statusCode, 200)
  t.equal(empty.body, '')
})

t.test('organisations repository iterate() walks the keyset batch by batch', async (t) => {
  const app = await readOnlyApp(t)
  const batches = [...app.repos.organisations.iterate({ limit: 50, offset: 0 }, 3)]
  t.same(batches.map((b) => b.length), [3, 3, 3, 1])
  t.same(batches.flat().map((o) => 'name' in o ? o.name : null), NAMES)
  t.same([...app.repos.organisations.iterate({ limit: 50, offset: 0, sort: '-name' }, 5)].map((b) => b.length), [5, 5])
})

t.test('GET /v1/organisations (400) for a cursor that is garbage or of another sort', async (t) => {
  const app = await readOnlyApp(t)
  for (const cursor of ['not-a-cursor', Buffer.from('["name"]').toString('base64url'), Buffer.from('["name",{},"x"]').toString('base64url')]) {
    const { res, body } = await getJson(app, `/v1/organisations?cursor=${cursor}`)
    t.equal(res.statusCode, 400, cursor)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(body.type, '/problems/invalid-cursor')
    t.same(body.errors, [{ field: 'query.cursor', message: 'is not a cursor issued by this API' }])
  }
  const next = (await getJson(app, '/v1/organisations?limit=2')).body.links.next
  const cursor = new URL(next, 'http://x').searchParams.get('cursor')!
  const other = await getJson(app, `/v1/organisations?limit=2&sort=-updatedAt&cursor=${cursor}`)
  t.equal(other.res.statusCode, 400)
  t.equal(other.res.headers['content-type'], PROBLEM_JSON)
  t.equal(other.body.detail, 'The cursor belongs to sort=name, not sort=-updatedAt.')
  const sameSort = await getJson(app, `/v1/organisations?limit=2&sort=name&cursor=${cursor}`)
  t.equal(sameSort.res.statusCode, 200, 'the explicit default sort accepts it')
  t.same(namesOf(sameSort.body), NAMES.slice(2, 4))
  const sync = await getJson(app, `/v1/organisations?limit=2&updatedSince=2000-01-01T00:00:00Z&cursor=${cursor}`)
  t.equal(sync.res.statusCode, 400, 'updatedSince sorts by updatedAt, so a name cursor does not fit')
})

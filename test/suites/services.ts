import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { eq } from 'drizzle-orm'
import { categories, facilities, services, targetGroups } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

const serviceId = (facility: string, key: string) => seedId('service', `${facility}/${key}`)
const KREATIVHAUS_ID = seedId('facility', 'kreativhaus')
const MOABIT_OST_ID = seedId('facility', 'familienzentrum-moabit-ost')
const MITTAGSTREFF_ID = serviceId('meerbaum-haus', 'offener-mittagstreff')
const SENIORENANGEBOTE_ID = serviceId('kreativhaus', 'seniorenangebote')
const ALL_SERVICES = 114

interface ServiceBody {
  id: string
  name: string
  description: string | null
  category: { slug: string }
  facility: { id: string, slug: string, name: string }
  targetGroups: { slug: string, originalWording: string }[]
  updatedAt: string
  match?: { fields: string[], snippet: string | null }
  deleted?: true
  deletedAt?: string
}
interface ServiceList {
  total: number
  limit: number
  offset: number
  links: { self: string, first: string, next: string | null }
  items: ServiceBody[]
}

const names = (body: ServiceList) => body.items.map((s) => s.name)
const countBy = (items: ServiceBody[], key: (s: ServiceBody) => string) =>
  items.reduce<Record<string, number>>((acc, s) => ({ ...acc, [key(s)]: (acc[key(s)] ?? 0) + 1 }), {})

t.test('GET /v1/services (200) lists every service of the seed with the default page', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson<ServiceList>(app, '/v1/services')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, ALL_SERVICES, 'all offers of the 14 facilities')
  t.equal(body.limit, 50)
  t.equal(body.offset, 0)
  t.equal(body.items.length, 50)
  const first = body.items[0]!
  t.equal(first.name, 'Spielrunden', 'the first facility by name is the Begegnungsstätte „Spandauer Straße“, its first category begegnung')
  t.same(first.facility, { id: seedId('facility', 'begegnungsstaette-spandauer-strasse'), slug: 'begegnungsstaette-spandauer-strasse', name: 'Begegnungsstätte „Spandauer Straße“' })
  t.equal(first.category.slug, 'begegnung')
})

t.test('GET /v1/services (200) sorts by facility name, category slug, name and id', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<ServiceList>(app, '/v1/services?limit=500')
  t.equal(body.items.length, ALL_SERVICES)
  const keys = body.items.map((s) => [s.facility.name.toLowerCase(), s.category.slug, s.name.toLowerCase(), s.id])
  const sorted = [...keys].sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
    return 0
  })
  t.same(keys, sorted)
  t.equal(body.items.at(-1)!.name, 'Stadtteilkoordination Moabit West und Ost', 'last: Stadtschloss Moabit, stadtteilarbeit')
  t.equal(new Set(body.items.map((s) => s.id)).size, ALL_SERVICES, 'no duplicates')
  t.same(countBy(body.items, (s) => s.facility.slug).kreativhaus, 20)
  t.same(countBy(body.items, (s) => s.category.slug).begegnung, 18)
})

t.test('GET /v1/services (200) pages with limit and offset', async (t) => {
  const app = await readOnlyApp(t)
  const all = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body
  const { body } = await getJson<ServiceList>(app, '/v1/services?limit=3&offset=2')
  t.equal(body.total, ALL_SERVICES)
  t.equal(body.limit, 3)
  t.equal(body.offset, 2)
  t.same(body.items.map((s) => s.id), all.items.slice(2, 5).map((s) => s.id))
  const last = (await getJson<ServiceList>(app, '/v1/services?limit=10&offset=110')).body
  t.same(last.items.map((s) => s.id), all.items.slice(110).map((s) => s.id))
  t.equal(last.items.length, ALL_SERVICES - 110)
  const beyond = (await getJson<ServiceList>(app, '/v1/services?offset=1000')).body
  t.equal(beyond.total, ALL_SERVICES)
  t.same(beyond.items, [])
})

t.test('GET /v1/services?facility= (200) takes a slug or a UUID; repeating means OR', async (t) => {
  const app = await readOnlyApp(t)
  const bySlug = (await getJson<ServiceList>(app, '/v1/services?facility=kreativhaus')).body
  t.equal(bySlug.total, 20)
  t.ok(bySlug.items.every((s) => s.facility.id === KREATIVHAUS_ID))
  t.ok(names(bySlug).includes('Café CoCo Mittagstisch'))
  const byId = (await getJson<ServiceList>(app, `/v1/services?facility=${KREATIVHAUS_ID}`)).body
  t.same(byId.items, bySlug.items)
  t.equal(byId.total, bySlug.total)
  const either = (await getJson<ServiceList>(app, `/v1/services?facility=kreativhaus&facility=${MOABIT_OST_ID}`)).body
  t.equal(either.total, 21)
  t.same(countBy(either.items, (s) => s.facility.slug), { kreativhaus: 20, 'familienzentrum-moabit-ost': 1 })
  t.ok(names(either).includes('Familiencafé mit Sprachparcours'))
  const none = (await getJson<ServiceList>(app, '/v1/services?facility=begegnungsstaette-mehr-mitte')).body
  t.equal(none.total, 0, 'no source names an offer of the Begegnungsstätte „Mehr Mitte“')
  const unknown = (await getJson<ServiceList>(app, '/v1/services?facility=no-such-facility')).body
  t.equal(unknown.total, 0)
  t.same(unknown.items, [])
})

t.test('GET /v1/services?category= (200) filters by category slug; repeating means OR', async (t) => {
  const app = await readOnlyApp(t)
  const beratung = (await getJson<ServiceList>(app, '/v1/services?category=beratung')).body
  t.equal(beratung.total, 8)
  t.ok(beratung.items.every((s) => s.category.slug === 'beratung'))
  t.ok(names(beratung).includes('Rechtsberatung'))
  const either = (await getJson<ServiceList>(app, '/v1/services?category=beratung&category=arbeit-und-beruf')).body
  t.equal(either.total, 9)
  t.same(countBy(either.items, (s) => s.category.slug), { beratung: 8, 'arbeit-und-beruf': 1 })
  t.ok(names(either).includes('Jobcoaching'))
  const unknown = (await getJson<ServiceList>(app, '/v1/services?category=no-such-category')).body
  t.equal(unknown.total, 0)
})

t.test('GET /v1/services?targetGroup= (200) filters by the service\'s own target groups; repeating means OR', async (t) => {
  const app = await readOnlyApp(t)
  const senioren = (await getJson<ServiceList>(app, '/v1/services?targetGroup=senioren')).body
  t.equal(senioren.total, 9, 'services naming seniors themselves, not all services of facilities for seniors')
  t.ok(senioren.items.every((s) => s.targetGroups.some((g) => g.slug === 'senioren')))
  t.ok(names(senioren).includes('Seniorentreff'))
  const either = (await getJson<ServiceList>(app, '/v1/services?targetGroup=senioren&targetGroup=frauen')).body
  t.equal(either.total, 10)
  const frauen = either.items.filter((s) => s.targetGroups.some((g) => g.slug === 'frauen'))
  t.same(frauen.map((s) => [s.name, s.facility.slug]), [['Frauenfrühstück', 'familienzentrum-wattstrasse']])
  const none = (await getJson<ServiceList>(app, '/v1/services?targetGroup=arbeitsuchende')).body
  t.equal(none.total, 0, 'no offer names jobseekers')
})

t.test('GET /v1/services (200) combines different filters with AND', async (t) => {
  const app = await readOnlyApp(t)
  const kreativhausBeratung = (await getJson<ServiceList>(app, '/v1/services?facility=kreativhaus&category=beratung')).body
  t.equal(kreativhausBeratung.total, 3)
  t.same(names(kreativhausBeratung).sort(), [
    'Beratung, Kreativ- und Bewegungskurse für Menschen mit Migrationshintergrund',
    'Rechtsberatung',
    'Sozial-, Rechts- und Mietberatung'
  ])
  const helpForSeniors = (await getJson<ServiceList>(app, '/v1/services?category=alltagshilfe&targetGroup=senioren')).body
  t.same(names(helpForSeniors), ['Hilfe für ältere Menschen'])
  t.equal(helpForSeniors.items[0]!.id, serviceId('kreativhaus', 'hilfe-fuer-aeltere-menschen'))
  const three = (await getJson<ServiceList>(app,
    '/v1/services?facility=familienzentrum-wattstrasse&facility=kreativhaus&category=familie&category=begegnung&targetGroup=eltern&targetGroup=frauen&targetGroup=familien')).body
  t.equal(three.total, 6)
  t.same(names(three), ['Elterncafés / Begegnungscafé', 'Frauenfrühstück', 'Eltern-Kind-Gruppen', 'Elternworkshops', 'Vätergruppe', 'Baby-Treff'],
    'Familienzentrum Wattstraße (begegnung before familie), then KREATIVHAUS')
  const empty = (await getJson<ServiceList>(app, '/v1/services?facility=kreativhaus&targetGroup=frauen')).body
  t.equal(empty.total, 0)
})

t.test('GET /v1/services (400) rejects unknown parameters, bad slugs and out-of-range pages', async (t) => {
  const app = await readOnlyApp(t)
  const cases: [string, string][] = [
    ['/v1/services?foo=1', 'query.foo'],
    ['/v1/services?limit=0', 'query.limit'],
    ['/v1/services?limit=501', 'query.limit'],
    ['/v1/services?limit=ten', 'query.limit'],
    ['/v1/services?offset=-1', 'query.offset'],
    ['/v1/services?category=Beratung', 'query.category.0'],
    ['/v1/services?targetGroup=senioren&targetGroup=not%20a%20slug', 'query.targetGroup.1'],
    ['/v1/services?facility=', 'query.facility.0']
  ]
  for (const [url, field] of cases) {
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON, url)
    t.equal(body.type, '/problems/validation-error', url)
    t.equal(body.title, 'Bad Request', url)
    t.equal(body.status, 400, url)
    t.equal(body.instance, url)
    t.ok(body.errors.some((e: { field: string }) => e.field === field), `${url} names ${field}: ${JSON.stringify(body.errors)}`)
    t.match(body.detail, field)
  }
})

t.test('GET /v1/services/{id} (200) gives the whole record', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, `/v1/services/${MITTAGSTREFF_ID}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(body, {
    id: MITTAGSTREFF_ID,
    name: 'Offener Mittagstreff',
    description: 'Gemeinsames Mittagessen, für das die Tafel Lebensmittel liefert.',
    category: { id: seedId('category', 'alltagshilfe'), slug: 'alltagshilfe', labelDe: 'Alltagshilfe', labelEn: 'Everyday support' },
    facility: {
      id: seedId('facility', 'meerbaum-haus'),
      slug: 'meerbaum-haus',
      name: 'Meerbaum-Haus (Ev. Familienzentrum / Begegnungszentrum der Kirchengemeinde Tiergarten)'
    },
    scheduleNote: 'dienstags ab 12 Uhr',
    feeNote: 'gegen Spende',
    asOf: null,
    status: 'active',
    targetGroups: [],
    sources: [
      {
        url: 'https://landing.churchdesk.com/e/24137039/offener-mittagstreff',
        title: 'churchdesk (Ev. Kirchengemeinde Tiergarten): Offener Mittagstreff im Meerbaum-Haus',
        facts: ['offer', 'schedule', 'fee (donation)']
      },
      { url: 'http://meerbaumhaus.de/', title: 'meerbaumhaus.de: Das Meerbaum-Haus – unser Begegnungszentrum', facts: ['offers'] }
    ],
    createdAt: body.createdAt,
    updatedAt: body.updatedAt
  })
  t.match(body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})

t.test('GET /v1/services/{id} (200) carries target groups with the source\'s wording, status and asOf', async (t) => {
  const app = await readOnlyApp(t)
  const seniors = (await getJson(app, `/v1/services/${SENIORENANGEBOTE_ID}`)).body
  t.equal(seniors.facility.slug, 'kreativhaus')
  t.same(seniors.targetGroups, [{
    id: seedId('target-group', 'senioren'),
    slug: 'senioren',
    labelDe: 'Seniorinnen und Senioren',
    labelEn: 'Older people',
    originalWording: 'Seniorenangebote'
  }])
  const historic = (await getJson(app, `/v1/services/${serviceId('nachbarschaftstreff-stadtteilverein-tiergarten', 'sitz-stadtteilkoordination-tiergarten-sued')}`)).body
  t.equal(historic.name, 'Sitz der Stadtteilkoordination Tiergarten Süd')
  t.equal(historic.status, 'historic')
  t.equal(historic.asOf, '2017')
  t.equal(historic.category.slug, 'stadtteilarbeit')
})

t.test('GET /v1/services/{id} (404) is problem+json for unknown ids and non-UUIDs', async (t) => {
  const app = await readOnlyApp(t)
  for (const id of ['00000000-0000-5000-8000-000000000000', 'offener-mittagstreff', KREATIVHAUS_ID]) {
    const url = `/v1/services/${id}`
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 404, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(body, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `No service with id or slug '${id}' exists.`,
      instance: url
    })
  }
})

t.test('GET /v1/services hides soft-deleted services and the services of soft-deleted facilities', async (t) => {
  const app = await buildTestApp(t)
  const now = new Date().toISOString()
  app.db.update(services).set({ deletedAt: now }).where(eq(services.id, MITTAGSTREFF_ID)).run()
  app.db.update(facilities).set({ deletedAt: now }).where(eq(facilities.id, KREATIVHAUS_ID)).run()

  const all = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body
  t.equal(all.total, ALL_SERVICES - 1 - 20)
  t.equal(all.items.length, all.total)
  t.notOk(all.items.some((s) => s.id === MITTAGSTREFF_ID || s.facility.id === KREATIVHAUS_ID))
  t.equal((await getJson<ServiceList>(app, '/v1/services?facility=kreativhaus')).body.total, 0)
  t.equal((await getJson<ServiceList>(app, '/v1/services?category=alltagshilfe')).body.total, 9 - 1 - 4, 'Mittagstreff and the 4 of KREATIVHAUS')
  t.equal((await getJson(app, `/v1/services/${MITTAGSTREFF_ID}`)).res.statusCode, 404)
  t.equal((await getJson(app, `/v1/services/${SENIORENANGEBOTE_ID}`)).res.statusCode, 404)
})

t.test('GET /v1/services leaves soft-deleted target groups out of links and filters', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(targetGroups).set({ deletedAt: new Date().toISOString() }).where(eq(targetGroups.slug, 'senioren')).run()
  t.equal((await getJson<ServiceList>(app, '/v1/services?targetGroup=senioren')).body.total, 0)
  const service = (await getJson(app, `/v1/services/${SENIORENANGEBOTE_ID}`)).body
  t.same(service.targetGroups, [])
})

t.test('GET /v1/facilities/{idOrSlug}/services (200) lists the same services as the facility filter', async (t) => {
  const app = await readOnlyApp(t)
  const nested = (await getJson<ServiceList>(app, '/v1/facilities/meerbaum-haus/services')).body
  const filtered = (await getJson<ServiceList>(app, '/v1/services?facility=meerbaum-haus&limit=500')).body
  t.equal(nested.total, 11)
  t.same(nested.items, filtered.items)
  t.same(nested.links, { self: '/v1/facilities/meerbaum-haus/services', first: '/v1/facilities/meerbaum-haus/services?limit=500', next: null })
  t.ok(nested.items.some((s) => s.id === MITTAGSTREFF_ID))
  // More than a page: links.next is a URL of this route that gives the rest.
  const pages: string[] = []
  let next: string | null = '/v1/facilities/meerbaum-haus/services?limit=4'
  while (next !== null) {
    const page: ServiceList = (await getJson<ServiceList>(app, next)).body
    t.equal(page.total, 11)
    pages.push(...page.items.map((s) => s.id))
    next = page.links.next
  }
  t.same(pages, nested.items.map((s) => s.id), 'the pages concatenate to the list')
  const contacts = await app.inject('/v1/facilities/meerbaum-haus/contacts?limit=1')
  t.equal(contacts.statusCode, 200)
  t.equal((await app.inject('/v1/facilities/meerbaum-haus/services?limit=0')).statusCode, 400)
})

t.test('services repository listForFacilities gives each facility its live services in list order', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(services).set({ deletedAt: new Date().toISOString() }).where(eq(services.id, SENIORENANGEBOTE_ID)).run()
  const byFacility = app.repos.services.listForFacilities([KREATIVHAUS_ID, MOABIT_OST_ID, seedId('facility', 'begegnungsstaette-mehr-mitte')])
  t.same([...byFacility.keys()].sort(), [KREATIVHAUS_ID, MOABIT_OST_ID].sort(), 'a facility without services has no entry')
  const listed = (await getJson<ServiceList>(app, `/v1/services?facility=kreativhaus&facility=${MOABIT_OST_ID}`)).body
  t.equal(byFacility.get(KREATIVHAUS_ID)!.length, 19, 'the deleted Seniorenangebote are left out')
  t.same([...byFacility.get(MOABIT_OST_ID)!, ...byFacility.get(KREATIVHAUS_ID)!], listed.items)
  t.same(app.repos.services.listForFacilities([]), new Map())
})

// --- Search ---------------------------------------------------------------------------------

const search = (text: string, rest = '') => `/v1/services?q=${encodeURIComponent(text)}${rest}`
const KIEZMUETTER_ID = serviceId('familienzentrum-wattstrasse', 'kiezmuetter')
const PFLEGE_ID = serviceId('shk-mitte', 'kontaktstelle-pflegeengagement-mitte')
const SENIORS_NAMED = ['Angebote auch für Ältere', 'Hilfe für ältere Menschen', 'Medienkompetenz-Schulungen für Ältere']

t.test('GET /v1/services?q= ignores case, umlauts (ä = a = ae) and ß (= ss)', async (t) => {
  const app = await readOnlyApp(t)
  for (const text of ['Kiezmütter', 'kiezmutter', 'KIEZMUETTER', 'kiezmü']) {
    const { body } = await getJson<ServiceList>(app, search(text))
    t.same(body.items.map((s) => s.id), [KIEZMUETTER_ID], text)
  }
  t.equal((await getJson<ServiceList>(app, search('mütter'))).body.total, 0, 'a word prefix, not a substring: Kiezmütter does not start with mütter')
  const older = (await getJson<ServiceList>(app, search('Ältere'))).body
  t.same(names(older).sort(), [...SENIORS_NAMED, 'Seniorenangebote'].sort())
  for (const text of ['altere', 'AELTERE', 'ÄLTERE']) {
    t.same((await getJson<ServiceList>(app, search(text))).body.items.map((s) => s.id).sort(), older.items.map((s) => s.id).sort(), text)
  }
  for (const text of ['Lübecker Straße', 'luebecker strasse', 'LUBECKER STRASSE', 'Lübecker Str']) {
    t.same((await getJson<ServiceList>(app, search(text))).body.items.map((s) => s.id), [PFLEGE_ID], text)
  }
  const osloer = (await getJson<ServiceList>(app, search('osloer strasse', '&sort=facility'))).body
  const atOsloer = (await getJson<ServiceList>(app, '/v1/services?facility=nachbarschaftsetage-fabrik-osloer-strasse')).body
  t.equal(osloer.total, 6)
  t.same(osloer.items.map((s) => s.id), atOsloer.items.map((s) => s.id), 'every service of the NachbarschaftsEtage in der Fabrik Osloer Straße')
})

t.test('GET /v1/services?q= matches every word as a prefix and all words must occur', async (t) => {
  const app = await readOnlyApp(t)
  const prefix = (await getJson<ServiceList>(app, search('selbsthil'))).body
  t.equal(prefix.total, 9)
  t.ok(prefix.items.every((s) => s.facility.slug === 'shk-mitte'), 'Selbsthilfe-, Kontakt- und Beratungsstelle Mitte')
  const both = (await getJson<ServiceList>(app, search('selbsthil migration'))).body
  t.same(names(both), ['Selbsthilfe und Migration'])
  t.equal((await getJson<ServiceList>(app, search('selbsthil wattstr'))).body.total, 0)
  const filtered = (await getJson<ServiceList>(app, search('beratung', '&facility=kreativhaus&sort=name'))).body
  t.same(names(filtered), [
    'Beratung, Kreativ- und Bewegungskurse für Menschen mit Migrationshintergrund',
    'Rechtsberatung',
    'Sozial-, Rechts- und Mietberatung'
  ], 'prefixes of words only (Rechtsberatung via its category Beratung), combined with the filters')
})

t.test('GET /v1/services?q= takes FTS5 syntax characters as plain text', async (t) => {
  const app = await readOnlyApp(t)
  const plain = (await getJson<ServiceList>(app, search('selbsthil migration'))).body
  for (const text of ['"selbsthil migration', 'selbsthil* migration*', '-selbsthil -migration', '(selbsthil) migration)', 'selbsthil: "migration"', '^selbsthil + migration', '"selbsthil" "migration']) {
    const { res, body } = await getJson<ServiceList>(app, search(text))
    t.equal(res.statusCode, 200, text)
    t.same(body.items.map((s) => s.id), plain.items.map((s) => s.id), text)
  }
  t.equal((await getJson<ServiceList>(app, search('NEAR(selbsthil migration'))).body.total, 0, 'near is a word that must occur, not an operator')
  const unfiltered = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body
  for (const text of ['"', '*', '-', '(', ')', 'NEAR(', '" * - ( ) :', '']) {
    const { res, body } = await getJson<ServiceList>(app, search(text, '&limit=500'))
    t.equal(res.statusCode, 200, text)
    if (text === 'NEAR(') {
      t.equal(body.total, 0, 'near is searched as a word prefix, not as an operator')
    } else {
      t.equal(body.total, ALL_SERVICES, `${JSON.stringify(text)}: no letters or digits, no search filter`)
      t.same(body.items, unfiltered.items, 'in the default order, without match')
    }
  }
  const operators = await getJson<ServiceList>(app, search('migration NOT selbsthilfe'))
  t.equal(operators.res.statusCode, 200)
  t.equal(operators.body.total, 0, 'NOT is a word that must occur, not an operator (which would give the 2 migration services outside the SHK)')
  t.equal((await getJson<ServiceList>(app, search('migration -selbsthilfe'))).body.total, 1, 'no exclusion with -')
  t.equal((await getJson<ServiceList>(app, search('AND OR NOT'))).body.total, 0)
})

t.test('GET /v1/services?q= allows 200 characters and rejects 201 as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const long = 'selbsthil migration'.padEnd(200, ' ')
  const ok = await getJson<ServiceList>(app, search(long))
  t.equal(ok.res.statusCode, 200)
  t.same(names(ok.body), ['Selbsthilfe und Migration'])
  const url = search(long + 'x')
  const { res, body } = await getJson(app, url)
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(body.type, '/problems/validation-error')
  t.same(body.errors, [{ field: 'query.q', message: 'must NOT have more than 200 characters' }])
})

t.test('GET /v1/services?q= ranks name matches above description-only matches', async (t) => {
  const app = await readOnlyApp(t)
  const older = (await getJson<ServiceList>(app, search('ältere'))).body
  t.same(names(older).slice(0, 3).sort(), SENIORS_NAMED.toSorted())
  t.equal(older.items[3]!.name, 'Seniorenangebote', 'only its description says Ältere')
  const cafe = (await getJson<ServiceList>(app, search('cafe'))).body
  t.same(names(cafe).slice(0, 2).sort(), ['Café CoCo Mittagstisch', 'Repair Café / Werkstatt der Eigenarbeit / Fahrradwerkstatt'])
  t.equal(cafe.items[2]!.name, 'Elterncafés / Begegnungscafé', 'Elterncafés does not start with cafe; its description (Offenes Café) matches')
  t.equal(cafe.total, 3)
  const selbsthilfe = (await getJson<ServiceList>(app, search('selbsthil'))).body
  const named = selbsthilfe.items.map((s) => /selbsthil/i.test(s.name))
  t.same(named, [true, true, true, true, true, false, false, false, false], 'the five named Selbsthilfe… first')
})

t.test('GET /v1/services?q= says which fields matched and shows a snippet', async (t) => {
  const app = await readOnlyApp(t)
  const older = (await getJson<ServiceList>(app, search('ältere'))).body
  const byName = Object.fromEntries(older.items.map((s) => [s.name, s.match]))
  t.same(byName['Seniorenangebote'], { fields: ['description'], snippet: 'Für Ältere gibt es Gymnastik, Lachyoga, Englischkurse, Chöre und Gedächtnistraining.' })
  t.same(byName['Angebote auch für Ältere'], { fields: ['name', 'targetGroups'], snippet: 'Angebote auch für Ältere' }, 'the SHK names the target group „Ältere“')
  const pflege = (await getJson<ServiceList>(app, search('luebecker'))).body.items[0]!
  t.same(pflege.match, {
    fields: ['description'],
    snippet: '…tstelle für pflegende Angehörige in der Lübecker Straße 19, ebenfalls in Trägerschaft der StadtRand gGmbH.'
  }, 'cut around the match, in the original spelling')
  const shk = (await getJson<ServiceList>(app, search('migration selbsthilfe'))).body.items[0]!
  t.same(shk.match, { fields: ['name', 'category', 'targetGroups', 'facility'], snippet: 'Selbsthilfe und Migration' }, 'fields in a fixed order, the snippet from the first')
  const watt = (await getJson<ServiceList>(app, search('wattstr'))).body
  t.equal(watt.total, 14, 'the 14 services of the Familienzentrum Wattstraße')
  t.ok(watt.items.every((s) => s.facility.slug === 'familienzentrum-wattstrasse' && s.match!.fields.includes('facility')))
  t.same(watt.items.find((s) => s.name === 'Vätergruppe')!.match, { fields: ['facility'], snippet: 'Familienzentrum Wattstraße' }, 'a match in the facility name only')
  const plain = (await getJson<ServiceList>(app, '/v1/services?limit=5')).body
  t.ok(plain.items.every((s) => s.match === undefined), 'no match without q')
})

t.test('GET /v1/services?sort= orders by name, updatedAt, relevance or facility', async (t) => {
  const app = await buildTestApp(t)
  const byFacility = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body
  t.same((await getJson<ServiceList>(app, '/v1/services?limit=500&sort=facility')).body.items, byFacility.items, 'facility is the default')
  const byName = (await getJson<ServiceList>(app, '/v1/services?limit=500&sort=name')).body
  const sortKey = (s: ServiceBody) => `${s.name.toLowerCase()}\u0000${s.id}`
  t.same(byName.items.map(sortKey), byName.items.map(sortKey).sort(), 'case-insensitive name, then id')
  t.equal(byName.items.length, ALL_SERVICES)
  t.same((await getJson<ServiceList>(app, '/v1/services?limit=500&sort=-name')).body.items.map((s) => s.id), byName.items.map((s) => s.id).reverse())
  const searchedByName = (await getJson<ServiceList>(app, search('selbsthil', '&sort=name'))).body
  t.same(names(searchedByName), names(searchedByName).toSorted((a, b) => a.toLowerCase() < b.toLowerCase() ? -1 : 1))
  t.equal(searchedByName.total, 9)

  const later = new Date(Date.now() + 60_000).toISOString()
  app.db.update(services).set({ updatedAt: later }).where(eq(services.id, MITTAGSTREFF_ID)).run()
  const byUpdate = (await getJson<ServiceList>(app, '/v1/services?limit=500&sort=updatedAt')).body
  t.equal(byUpdate.items.at(-1)!.id, MITTAGSTREFF_ID)
  t.equal(byUpdate.items.at(-1)!.updatedAt, later)
  const ids = byUpdate.items.slice(0, -1).map((s) => s.id)
  t.same(ids, ids.toSorted(), 'equal updatedAt (the seed) are ordered by id')
  t.equal((await getJson<ServiceList>(app, '/v1/services?limit=1&sort=-updatedAt')).body.items[0]!.id, MITTAGSTREFF_ID)

  for (const url of ['/v1/services?sort=relevance', '/v1/services?sort=relevance&q=%22*', '/v1/services?sort=size']) {
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON, url)
    t.equal(body.errors[0].field, 'query.sort', url)
  }
})

// --- Sync and pages -------------------------------------------------------------------------

const inFuture = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString()

function softDeleteService (app: FastifyInstance, id: string, at = new Date().toISOString()): void {
  app.db.update(services).set({ deletedAt: at, updatedAt: at }).where(eq(services.id, id)).run()
}

function insertService (app: FastifyInstance, name: string, facility = 'begegnungsstaette-spandauer-strasse', category = 'begegnung'): string {
  const id = randomUUID()
  const now = new Date().toISOString()
  app.db.insert(services).values({
    id, facilityId: seedId('facility', facility), categoryId: seedId('category', category), name, status: 'active', sources: [], createdAt: now, updatedAt: now
  }).run()
  return id
}

// Follows links.next from the first page to the last.
async function pageThrough (app: FastifyInstance, url: string): Promise<{ items: ServiceBody[], pages: number }> {
  const items: ServiceBody[] = []
  let pages = 0
  for (let next: string | null = url; next !== null; pages++) {
    const { res, body }: { res: LightMyRequestResponse, body: ServiceList } = await getJson<ServiceList>(app, next)
    if (res.statusCode !== 200) throw new Error(`${next}: ${res.statusCode} ${res.body}`)
    items.push(...body.items)
    next = body.links.next
  }
  return { items, pages }
}

t.test('GET /v1/services?updatedSince= lists services changed since then, oldest change first', async (t) => {
  const app = await buildTestApp(t)
  const first = inFuture(10)
  const second = inFuture(20)
  app.db.update(services).set({ updatedAt: second }).where(eq(services.id, MITTAGSTREFF_ID)).run()
  app.db.update(services).set({ updatedAt: first }).where(eq(services.id, SENIORENANGEBOTE_ID)).run()
  const since = await getJson<ServiceList>(app, `/v1/services?updatedSince=${first}`)
  t.equal(since.res.statusCode, 200)
  t.same(since.body.items.map((s) => [s.id, s.updatedAt]), [[SENIORENANGEBOTE_ID, first], [MITTAGSTREFF_ID, second]], 'inclusive, ascending by updatedAt')
  t.equal(since.body.total, 2)
  const between = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${inFuture(15)}`)).body
  t.same(between.items.map((s) => s.id), [MITTAGSTREFF_ID])
  const offset = new Date(Date.parse(second) + 3_600_000).toISOString().replace('Z', '+01:00')
  t.same((await getJson<ServiceList>(app, `/v1/services?updatedSince=${encodeURIComponent(offset)}`)).body.items.map((s) => s.id), [MITTAGSTREFF_ID], 'an offset is the same instant')
  t.equal((await getJson<ServiceList>(app, `/v1/services?updatedSince=${inFuture(30)}`)).body.total, 0)
  t.equal((await getJson<ServiceList>(app, '/v1/services?updatedSince=2000-01-01T00:00:00Z')).body.total, ALL_SERVICES, 'everything since before the seed')
  const filtered = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${first}&facility=meerbaum-haus`)).body
  t.same(filtered.items.map((s) => s.id), [MITTAGSTREFF_ID], 'combined with filters')

  for (const value of ['yesterday', '2026-13-01T00:00:00Z', '2026-01-01']) {
    const url = `/v1/services?updatedSince=${value}`
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(body.errors[0].field, 'query.updatedSince', url)
  }
})

t.test('GET /v1/services lists a soft-deleted service only as a tombstone with updatedSince', async (t) => {
  const app = await buildTestApp(t)
  const before = new Date().toISOString()
  const deletedAt = inFuture(1)
  softDeleteService(app, MITTAGSTREFF_ID, deletedAt)
  const live = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body
  t.equal(live.total, ALL_SERVICES - 1)
  t.notOk(live.items.some((s) => s.id === MITTAGSTREFF_ID))
  const sync = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${before}`)).body
  t.same(sync.items, [{ id: MITTAGSTREFF_ID, deleted: true, deletedAt }])
  t.equal(sync.total, 1)
  const facilitySync = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${before}&facility=meerbaum-haus&category=alltagshilfe`)).body
  t.same(facilitySync.items, [{ id: MITTAGSTREFF_ID, deleted: true, deletedAt }], 'filters apply to tombstones too')
  t.equal((await getJson<ServiceList>(app, `/v1/services?updatedSince=${before}&category=beratung`)).body.total, 0)
  t.equal((await getJson<ServiceList>(app, search('mittagstreff', `&updatedSince=${before}`))).body.total, 0, 'a search lists no tombstones')
})

t.test('GET /v1/services?updatedSince= follows changes of the facility and category a service embeds', async (t) => {
  const app = await buildTestApp(t)
  const before = new Date().toISOString()
  // The facility is renamed: its services show the new name, so they changed too.
  const renamedAt = inFuture(1)
  app.db.update(facilities).set({ name: 'Familienzentrum Moabit Ost (neu)', updatedAt: renamedAt }).where(eq(facilities.id, MOABIT_OST_ID)).run()
  const renamed = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${before}`)).body
  t.same(renamed.items.map((s) => [s.name, s.facility.name, s.updatedAt]), [['Familiencafé mit Sprachparcours', 'Familienzentrum Moabit Ost (neu)', renamedAt]])
  t.equal((await getJson(app, `/v1/services/${renamed.items[0]!.id}`)).body.updatedAt, renamedAt, 'the detail agrees')

  // The facility is deleted: its live services go with it, as tombstones at the facility's time.
  const deletedAt = inFuture(2)
  app.db.update(facilities).set({ deletedAt, updatedAt: deletedAt }).where(eq(facilities.id, KREATIVHAUS_ID)).run()
  const afterRename = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${inFuture(1.5)}&limit=500`)).body
  t.equal(afterRename.total, 20)
  t.ok(afterRename.items.every((s) => s.deleted === true && s.deletedAt === deletedAt && Object.keys(s).length === 3))
  t.ok(afterRename.items.some((s) => s.id === SENIORENANGEBOTE_ID))
  t.same(afterRename.items.map((s) => s.id), afterRename.items.map((s) => s.id).toSorted(), 'same change time, so by id')
  t.equal((await getJson<ServiceList>(app, '/v1/services?limit=500')).body.total, ALL_SERVICES - 20)

  // A service deleted before its facility keeps its own deletion time.
  const ownDeletion = inFuture(3)
  softDeleteService(app, MITTAGSTREFF_ID, ownDeletion)
  const categoryDeletion = inFuture(4)
  app.db.update(categories).set({ deletedAt: categoryDeletion, updatedAt: categoryDeletion }).where(eq(categories.slug, 'alltagshilfe')).run()
  const tail = (await getJson<ServiceList>(app, `/v1/services?updatedSince=${inFuture(2.5)}&limit=500`)).body
  t.equal(tail.total, 9, 'the alltagshilfe services, changed with their category')
  t.ok(tail.items.every((s) => s.deleted === true))
  t.same(tail.items.find((s) => s.id === MITTAGSTREFF_ID), { id: MITTAGSTREFF_ID, deleted: true, deletedAt: ownDeletion })
  t.same(countBy(tail.items, (s) => s.deletedAt!), { [ownDeletion]: 1, [deletedAt]: 4, [categoryDeletion]: 4 },
    'each keeps the first deletion that took it down: its own, KREATIVHAUS\'s, else the category\'s')
})

t.test('GET /v1/services cursor pages concatenate to the whole list for every sort', async (t) => {
  const app = await readOnlyApp(t)
  for (const sort of ['', '&sort=name', '&sort=-name', '&sort=updatedAt', '&sort=-updatedAt']) {
    const all = (await getJson<ServiceList>(app, `/v1/services?limit=500${sort}`)).body.items.map((s) => s.id)
    const { items, pages } = await pageThrough(app, `/v1/services?limit=7${sort}`)
    t.equal(pages, Math.ceil(ALL_SERVICES / 7), sort)
    t.same(items.map((s) => s.id), all, `${sort || 'default'}: same records, same order`)
  }
  const searched = (await getJson<ServiceList>(app, search('selbsthil', '&limit=500'))).body.items.map((s) => s.id)
  const searchPages = await pageThrough(app, search('selbsthil', '&limit=2'))
  t.equal(searchPages.pages, 5)
  t.same(searchPages.items.map((s) => s.id), searched, 'relevance')
  const filtered = await pageThrough(app, '/v1/services?facility=kreativhaus&limit=6')
  t.same(filtered.items.map((s) => s.id), (await getJson<ServiceList>(app, '/v1/services?facility=kreativhaus')).body.items.map((s) => s.id))
  t.equal(filtered.pages, 4)
})

t.test('GET /v1/services cursor pages stay stable while services are inserted and deleted', async (t) => {
  const app = await buildTestApp(t)
  const cases = [
    { sort: 'facility', name: 'AAA Neuer Treff' },
    { sort: 'name', name: '0 Neuer Treff' },
    { sort: '-name', name: 'Zz Neuer Treff' }
  ]
  for (const { sort, name } of cases) {
    const before = (await getJson<ServiceList>(app, `/v1/services?limit=500&sort=${sort}`)).body.items.map((s) => s.id)
    const first = (await getJson<ServiceList>(app, `/v1/services?limit=10&sort=${sort}`)).body
    t.same(first.items.map((s) => s.id), before.slice(0, 10))
    // Between the requests: one service that sorts before the cursor appears, one of the next page goes.
    const inserted = insertService(app, name)
    const gone = before[13]!
    softDeleteService(app, gone)
    const second = (await getJson<ServiceList>(app, first.links.next!)).body
    const survivors = before.slice(10).filter((id) => id !== gone)
    t.same(second.items.map((s) => s.id), survivors.slice(0, 10), `${sort}: no duplicate, no gap`)
    t.equal(second.total, before.length, 'one more, one less')
    const rest = await pageThrough(app, first.links.next!)
    t.same(rest.items.map((s) => s.id), survivors, `${sort}: the remaining pages hold exactly the survivors`)
    const now = (await getJson<ServiceList>(app, `/v1/services?limit=500&sort=${sort}`)).body.items.map((s) => s.id)
    t.ok(now.indexOf(inserted) !== -1 && now.indexOf(inserted) < now.indexOf(first.items.at(-1)!.id), `${sort}: the new service sorts before the cursor`)
  }
})

t.test('GET /v1/services?updatedSince= pages move changed records to the end instead of losing them', async (t) => {
  const app = await buildTestApp(t)
  const since = '2000-01-01T00:00:00Z'
  const before = (await getJson<ServiceList>(app, `/v1/services?limit=500&updatedSince=${since}`)).body.items.map((s) => s.id)
  const first = (await getJson<ServiceList>(app, `/v1/services?limit=10&updatedSince=${since}`)).body
  const changed = before[2]!
  const gone = before[15]!
  const changedAt = inFuture(1)
  app.db.update(services).set({ updatedAt: changedAt }).where(eq(services.id, changed)).run()
  softDeleteService(app, gone, inFuture(2))
  const rest = await pageThrough(app, first.links.next!)
  t.same(rest.items.map((s) => s.id), [...before.slice(10).filter((id) => id !== gone), changed, gone],
    'the changed record again with its new state, the deleted one as a tombstone, both at the end')
  t.same(rest.items.at(-1), { id: gone, deleted: true, deletedAt: rest.items.at(-1)!.deletedAt })
  t.equal(rest.items.at(-2)!.updatedAt, changedAt)
})

t.test('GET /v1/services sends links, a Link header and X-Total-Count', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson<ServiceList>(app, '/v1/services?category=beratung&limit=3')
  t.equal(res.headers['x-total-count'], '8')
  t.equal(body.total, 8)
  const cursor = new URL(body.links.next!, 'http://x').searchParams.get('cursor')!
  t.match(cursor, /^[A-Za-z0-9_-]+$/, 'opaque and URL-safe')
  t.same(body.links, {
    self: '/v1/services?category=beratung&limit=3',
    first: '/v1/services?category=beratung&limit=3',
    next: `/v1/services?category=beratung&limit=3&cursor=${cursor}`
  })
  t.equal(res.headers.link, `</v1/services?category=beratung&limit=3&cursor=${cursor}>; rel="next", </v1/services?category=beratung&limit=3>; rel="first"`)
  const second = await getJson<ServiceList>(app, body.links.next!)
  t.equal(second.body.links.self, body.links.next)
  t.equal(second.body.links.first, body.links.first)
  const last = await getJson<ServiceList>(app, second.body.links.next!)
  t.equal(last.body.items.length, 2)
  t.equal(last.body.links.next, null)
  t.equal(last.res.headers.link, '</v1/services?category=beratung&limit=3>; rel="first"')
  t.equal(last.res.headers['x-total-count'], '8')
  const offset = (await getJson<ServiceList>(app, '/v1/services?category=beratung&limit=3&offset=3')).body
  t.same(offset.items.map((s) => s.id), second.body.items.map((s) => s.id), 'offset still works')
  t.equal(offset.links.first, '/v1/services?category=beratung&limit=3', 'first drops the offset')
})

t.test('GET /v1/services (400) rejects garbage cursors and cursors of another sort', async (t) => {
  const app = await readOnlyApp(t)
  const byName = (await getJson<ServiceList>(app, '/v1/services?sort=name&limit=2')).body
  const cursor = new URL(byName.links.next!, 'http://x').searchParams.get('cursor')!
  t.equal((await getJson(app, `/v1/services?sort=name&limit=2&cursor=${cursor}`)).res.statusCode, 200)
  const cases: [string, RegExp][] = [
    ['/v1/services?cursor=not-a-cursor', /not valid/],
    [`/v1/services?cursor=${Buffer.from('["facility","x"]').toString('base64url')}`, /not valid/],
    [`/v1/services?sort=-name&cursor=${cursor}`, /sort=name, not sort=-name/],
    [`/v1/services?cursor=${cursor}`, /sort=name, not sort=facility/],
    [`/v1/services?q=selbsthil&cursor=${cursor}`, /sort=name, not sort=relevance/]
  ]
  for (const [url, detail] of cases) {
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON, url)
    t.equal(body.type, '/problems/invalid-cursor', url)
    t.equal(body.errors[0].field, 'query.cursor', url)
    t.match(body.detail, detail, url)
  }
})

t.test('GET /v1/services?format=ndjson streams every record, one JSON object per line', async (t) => {
  const app = await buildTestApp(t)
  const all = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body.items
  const res = await app.inject('/v1/services?format=ndjson&limit=3&offset=5')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  t.ok(res.body.endsWith('}\n'))
  const lines = res.body.trimEnd().split('\n')
  t.equal(lines.length, ALL_SERVICES, 'limit and offset do not apply')
  t.same(lines.map((line) => JSON.parse(line)), all, 'the same records in the same order')

  const before = new Date().toISOString()
  const deletedAt = inFuture(1)
  softDeleteService(app, MITTAGSTREFF_ID, deletedAt)
  const sync = await app.inject(`/v1/services?format=ndjson&updatedSince=${before}`)
  t.equal(sync.body, JSON.stringify({ id: MITTAGSTREFF_ID, deleted: true, deletedAt }) + '\n', 'the tombstone')
  const searched = await app.inject(`/v1/services?format=ndjson&q=${encodeURIComponent('ältere')}`)
  const found = searched.body.trimEnd().split('\n').map((line) => JSON.parse(line) as ServiceBody)
  t.same(found.map((s) => s.name), names((await getJson<ServiceList>(app, search('ältere'))).body))
  t.ok(found.length > 0, 'the search finds services')
  t.ok(found.every((s) => s.match !== undefined))
  const empty = await app.inject('/v1/services?format=ndjson&facility=begegnungsstaette-mehr-mitte')
  t.equal(empty.statusCode, 200)
  t.equal(empty.body, '')
})

t.test('services repository iterate() yields every record in batches, in list order', async (t) => {
  const app = await buildTestApp(t)
  softDeleteService(app, MITTAGSTREFF_ID)
  for (const query of [{}, { sort: 'name' as const }, { updatedSince: '2000-01-01T00:00:00Z' }, { q: 'selbsthil' }]) {
    const listed = app.repos.services.list({ ...query, limit: 500, offset: 0 }).items
    const batches = [...app.repos.services.iterate(query, 7)]
    t.same(batches.flat(), listed, JSON.stringify(query))
    t.ok(batches.every((b) => b.length > 0 && b.length <= 7))
    t.equal(batches.length, Math.ceil(listed.length / 7))
  }
  t.equal(app.repos.services.list({ limit: 500, offset: 0, updatedSince: '2000-01-01T00:00:00Z' }).items.filter((s) => 'deleted' in s).length, 1)
})

t.test('GET /v1/services (400) for a cursor whose keys have the wrong types', async (t) => {
  const app = await readOnlyApp(t)
  const forged = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url')
  for (const [url, key] of [
    ['/v1/services?sort=name', ['name', 1, 2]],
    ['/v1/services?sort=name', ['name', 'Baby-Treff', 7]],
    ['/v1/services?sort=name', ['name', { a: 1 }, 'x']],
    ['/v1/facilities?q=familienzentrum', ['relevance', 'abc', 'x']],
    ['/v1/facilities?q=familienzentrum', ['relevance', -1.5, null]]
  ] as const) {
    const { res, body } = await getJson(app, `${url}&cursor=${forged([...key])}`)
    t.equal(res.statusCode, 400, `${url} ${JSON.stringify(key)}`)
    t.equal(body.type, '/problems/invalid-cursor')
  }
  // What the API issues still works.
  const next = (await getJson(app, '/v1/facilities?q=familienzentrum&limit=1')).body.links.next
  t.equal((await app.inject(next)).statusCode, 200)
  const page = (await getJson(app, '/v1/services?sort=name&limit=2')).body.links.next
  t.equal((await app.inject(page)).statusCode, 200)
})

t.test('GET /v1/services?match=all: services that name every target group given', async (t) => {
  const app = await readOnlyApp(t)
  const services = (await getJson(app, '/v1/services?limit=500')).body.items as any[]
  const names = (s: any) => new Set(s.targetGroups.map((g: any) => g.slug))
  const counts = new Map<string, number>()
  for (const s of services) for (const g of names(s)) counts.set(g as string, (counts.get(g as string) ?? 0) + 1)
  // Two target groups that some service names together.
  const pair = services.map((s) => [...names(s)] as string[]).find((g) => g.length >= 2)!.slice(0, 2) as [string, string]
  const ids = async (url: string) => (await getJson(app, url)).body.items.map((s: { id: string }) => s.id).sort()
  const both = await ids(`/v1/services?targetGroup=${pair[0]}&targetGroup=${pair[1]}&match=all&limit=500`)
  t.same(both, services.filter((s) => names(s).has(pair[0]) && names(s).has(pair[1])).map((s) => s.id).sort())
  t.ok(both.length > 0)
  const either = await ids(`/v1/services?targetGroup=${pair[0]}&targetGroup=${pair[1]}&limit=500`)
  t.same(either, services.filter((s) => names(s).has(pair[0]) || names(s).has(pair[1])).map((s) => s.id).sort())
  t.ok(both.length < either.length)
})

t.test('GET /v1/services?ortsteil=&bezirksregion=: offers by their facility\'s named area, as facilities are filtered', async (t) => {
  const app = await readOnlyApp(t)
  const facilityIds = async (url: string) => new Set((await getJson(app, url)).body.items.map((f: { id: string }) => f.id))
  const services = (await getJson(app, '/v1/services?limit=500')).body.items as { id: string, facility: { id: string } }[]
  for (const [param, value] of [['ortsteil', 'Moabit'], ['ortsteil', 'gesundbrunnen'], ['bezirksregion', 'Tiergarten Süd']] as const) {
    const inArea = await facilityIds(`/v1/facilities?${param}=${encodeURIComponent(value)}&limit=500`)
    t.ok(inArea.size > 0, `${param}=${value}: facilities there`)
    const got = (await getJson(app, `/v1/services?${param}=${encodeURIComponent(value)}&limit=500`)).body.items.map((s: { id: string }) => s.id).sort()
    t.same(got, services.filter((s) => inArea.has(s.facility.id)).map((s) => s.id).sort(), `${param}=${value}: the services of those facilities`)
    t.ok(got.length > 0)
  }
  const two = (await getJson(app, '/v1/services?ortsteil=Moabit&ortsteil=Wedding&limit=500')).body.total
  const one = (await getJson(app, '/v1/services?ortsteil=Moabit&limit=500')).body.total
  t.ok(two >= one, 'several areas: any of them')
})

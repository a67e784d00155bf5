import t from 'tap'
import { eq } from 'drizzle-orm'
import { facilities, services, targetGroups } from '../src/db/schema.ts'
import { seedId } from '../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson } from './helper.ts'

const serviceId = (facility: string, key: string) => seedId('service', `${facility}/${key}`)
const KREATIVHAUS_ID = seedId('facility', 'kreativhaus')
const MOABIT_OST_ID = seedId('facility', 'familienzentrum-moabit-ost')
const MITTAGSTREFF_ID = serviceId('meerbaum-haus', 'offener-mittagstreff')
const SENIORENANGEBOTE_ID = serviceId('kreativhaus', 'seniorenangebote')
const ALL_SERVICES = 115

interface ServiceBody {
  id: string
  name: string
  category: { slug: string }
  facility: { id: string, slug: string, name: string }
  targetGroups: { slug: string, originalWording: string }[]
}
interface ServiceList { total: number, limit: number, offset: number, items: ServiceBody[] }

const names = (body: ServiceList) => body.items.map((s) => s.name)
const countBy = (items: ServiceBody[], key: (s: ServiceBody) => string) =>
  items.reduce<Record<string, number>>((acc, s) => ({ ...acc, [key(s)]: (acc[key(s)] ?? 0) + 1 }), {})

t.test('GET /v1/services (200) lists every service of the seed with the default page', async (t) => {
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  t.same(countBy(body.items, (s) => s.category.slug).begegnung, 19)
})

t.test('GET /v1/services (200) pages with limit and offset', async (t) => {
  const app = await buildTestApp(t)
  const all = (await getJson<ServiceList>(app, '/v1/services?limit=500')).body
  const { body } = await getJson<ServiceList>(app, '/v1/services?limit=3&offset=2')
  t.equal(body.total, ALL_SERVICES)
  t.equal(body.limit, 3)
  t.equal(body.offset, 2)
  t.same(body.items.map((s) => s.id), all.items.slice(2, 5).map((s) => s.id))
  const last = (await getJson<ServiceList>(app, '/v1/services?limit=10&offset=110')).body
  t.same(last.items.map((s) => s.id), all.items.slice(110).map((s) => s.id))
  t.equal(last.items.length, 5)
  const beyond = (await getJson<ServiceList>(app, '/v1/services?offset=1000')).body
  t.equal(beyond.total, ALL_SERVICES)
  t.same(beyond.items, [])
})

t.test('GET /v1/services?facility= (200) takes a slug or a UUID; repeating means OR', async (t) => {
  const app = await buildTestApp(t)
  const bySlug = (await getJson<ServiceList>(app, '/v1/services?facility=kreativhaus')).body
  t.equal(bySlug.total, 20)
  t.ok(bySlug.items.every((s) => s.facility.id === KREATIVHAUS_ID))
  t.ok(names(bySlug).includes('Café CoCo Mittagstisch'))
  const byId = (await getJson<ServiceList>(app, `/v1/services?facility=${KREATIVHAUS_ID}`)).body
  t.same(byId, bySlug)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
  const nested = (await getJson<ServiceList>(app, '/v1/facilities/meerbaum-haus/services')).body
  const filtered = (await getJson<ServiceList>(app, '/v1/services?facility=meerbaum-haus&limit=500')).body
  t.equal(nested.total, 11)
  t.same(nested.items, filtered.items)
  t.ok(nested.items.some((s) => s.id === MITTAGSTREFF_ID))
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

import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { agreements, events, facilities, organisationSites, organisations } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

const SLUG = 'voneinander-wissen-in-mitte-2020'
const EVENT_ID = seedId('event', SLUG)
const AGREEMENT_SLUG = 'kooperationsvereinbarung-2018'
const AGREEMENT_ID = seedId('agreement', AGREEMENT_SLUG)
const PM_067_2020 = 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php'
const BW_2020 = 'https://berliner-woche.de/mitte/c-bildung/jobcenter-und-nachbarschaftseinrichtungen-wollen-staerker-zusammenarbeiten_a255703'
const NOW = '2026-11-21T09:00:00.000Z'

const JOBCENTER = { id: seedId('organisation', 'jobcenter-berlin-mitte'), slug: 'jobcenter-berlin-mitte', name: 'JobCenter Berlin Mitte', kind: 'jobcenter' }
const BEZIRKSAMT = { id: seedId('organisation', 'bezirksamt-mitte'), slug: 'bezirksamt-mitte', name: 'Bezirksamt Mitte von Berlin', kind: 'district_office' }

// Names as written in PM 067/2020, in its order, with the directory record each one is linked to.
const PARTICIPANTS: [string, string | null, string | null][] = [
  ['JobCenter Mitte', 'jobcenter-berlin-mitte', null],
  ['Bezirksamt Mitte', 'bezirksamt-mitte', null],
  ['Kreativhaus', null, 'kreativhaus'],
  ['Familienzentrum Wattstraße', null, 'familienzentrum-wattstrasse'],
  ['Begegnungsstätte „Mehr Mitte“', null, 'begegnungsstaette-mehr-mitte'],
  ['Nachbarschaftszentrum „Bürger für Bürger“', null, 'nachbarschaftszentrum-buerger-fuer-buerger'],
  ['Ev. Familienzentrum Meerbaum-Haus', null, 'meerbaum-haus'],
  ['Selbsthilfe-Kontakt-und Beratungsstelle Mitte', null, 'shk-mitte'],
  ['KiezZentrum Villa Lützow', null, 'villa-luetzow'],
  ['Nachbarschaftstreff Olof-Palme-Zentrum', null, 'olof-palme-zentrum'],
  ['Nachbarschaftstreff Stadtteilverein Tiergarten', null, 'nachbarschaftstreff-stadtteilverein-tiergarten']
]
const participantKeys = (event: any) => event.participants.map((p: any) => [p.name, p.organisation?.slug ?? null, p.facility?.slug ?? null])
const slugsOf = (body: { items: { slug: string }[] }) => body.items.map((e) => e.slug)

// Extra events around the real one. The two on 25 October 2020 fall on the night the clocks go back:
// 02:30+02:00 (00:30 UTC) happens before 02:10+01:00 (01:10 UTC), although its text sorts after.
function addEvents (app: FastifyInstance) {
  const add = (slug: string, startsAt: string, agreementId: string | null, deletedAt: string | null = null) =>
    app.db.insert(events).values({
      id: seedId('event', slug),
      agreementId,
      slug,
      title: `Test ${slug}`,
      description: null,
      startsAt,
      endsAt: null,
      timeZone: 'Europe/Berlin',
      locationName: null,
      street: null,
      postcode: null,
      city: null,
      organisationSiteId: null,
      sources: [],
      createdAt: NOW,
      updatedAt: NOW,
      deletedAt
    }).run()
  add('treffen-nach-mitternacht', '2020-03-12T00:30:00+01:00', null)
  add('zeitumstellung-vorher', '2020-10-25T02:30:00+02:00', AGREEMENT_ID)
  add('zeitumstellung-nachher', '2020-10-25T02:10:00+01:00', null)
  add('sommerfest-2019', '2019-07-01T16:00:00+02:00', AGREEMENT_ID)
  add('geloeschtes-treffen', '2020-01-15T10:00:00+01:00', AGREEMENT_ID, NOW)
}

t.test('GET /v1/events (200) lists the meeting of 11 March 2020', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/events')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same([body.total, body.limit, body.offset], [1, 50, 0])
  t.same(slugsOf(body), [SLUG])
  t.same(body.items[0], (await getJson(app, `/v1/events/${SLUG}`)).body)
})

t.test('GET /v1/events/{idOrSlug} (200) gives time, place, agreement and the 11 participants in source order', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, `/v1/events/${SLUG}`)
  t.equal(res.statusCode, 200)
  t.equal(body.id, EVENT_ID)
  t.equal(body.slug, SLUG)
  t.equal(body.title, 'Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen')
  t.match(body.description, /Standorts Spittelmarkt/)
  t.equal(body.startsAt, '2020-03-11T09:00:00+01:00')
  t.equal(body.endsAt, '2020-03-11T13:00:00+01:00')
  t.equal(body.timeZone, 'Europe/Berlin')
  t.same(body.location, {
    name: 'JobCenter Mitte – Standort Spittelmarkt',
    street: 'Seydelstr. 2-5',
    postcode: '10117',
    city: 'Berlin',
    site: { id: seedId('organisation-site', 'jobcenter-spittelmarkt'), slug: 'jobcenter-spittelmarkt', name: 'Standort Spittelmarkt' },
    organisation: JOBCENTER
  })
  t.same(body.agreement, {
    id: AGREEMENT_ID,
    slug: AGREEMENT_SLUG,
    title: 'Kooperationsvereinbarung zwischen Bezirksamt Mitte, JobCenter (Berlin) Mitte und Nachbarschaftseinrichtungen im Bezirk Mitte'
  })
  t.equal(body.participants.length, 11)
  t.same(participantKeys(body), PARTICIPANTS)
  t.same(body.participants[0], { name: 'JobCenter Mitte', organisation: JOBCENTER, facility: null })
  t.same(body.participants[1], { name: 'Bezirksamt Mitte', organisation: BEZIRKSAMT, facility: null })
  t.same(body.participants[2], {
    name: 'Kreativhaus',
    organisation: null,
    facility: { id: seedId('facility', 'kreativhaus'), slug: 'kreativhaus', name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)' }
  })
  t.same(body.sources.map((s: any) => s.url), [PM_067_2020, BW_2020])
  t.same(body.sources[0].facts, ['title', 'date and time', 'place', 'participants', 'purpose'])
  t.match(body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/)
})

t.test('GET /v1/events/{idOrSlug} (200) by UUID gives the same record as by slug', async (t) => {
  const app = await readOnlyApp(t)
  const byId = await getJson(app, `/v1/events/${EVENT_ID}`)
  t.equal(byId.res.statusCode, 200)
  t.same(byId.body, (await getJson(app, `/v1/events/${SLUG}`)).body)
})

t.test('GET /v1/events/{idOrSlug} (200) keeps participants of soft-deleted records by name, without the link', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(facilities).set({ deletedAt: NOW }).where(eq(facilities.slug, 'kreativhaus')).run()
  app.db.update(organisations).set({ deletedAt: NOW }).where(eq(organisations.slug, 'bezirksamt-mitte')).run()
  const body = (await getJson(app, `/v1/events/${SLUG}`)).body
  t.equal(body.participants.length, 11, 'the source still lists them')
  t.same(body.participants[1], { name: 'Bezirksamt Mitte', organisation: null, facility: null })
  t.same(body.participants[2], { name: 'Kreativhaus', organisation: null, facility: null })
  t.same(participantKeys(body).slice(3), PARTICIPANTS.slice(3))
})

t.test('GET /v1/events/{idOrSlug} (200) drops links to a soft-deleted site and agreement', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(organisationSites).set({ deletedAt: NOW }).where(eq(organisationSites.slug, 'jobcenter-spittelmarkt')).run()
  app.db.update(agreements).set({ deletedAt: NOW }).where(eq(agreements.id, AGREEMENT_ID)).run()
  const body = (await getJson(app, `/v1/events/${SLUG}`)).body
  t.same(body.location, { name: 'JobCenter Mitte – Standort Spittelmarkt', street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', site: null, organisation: null })
  t.equal(body.agreement, null)
  const filtered = await getJson(app, `/v1/events?agreement=${AGREEMENT_SLUG}`)
  t.equal(filtered.body.total, 0, 'a deleted agreement matches no events')
})

t.test('GET /v1/events/{idOrSlug} (404) is problem+json', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  for (const id of ['no-such-event', '00000000-0000-4000-8000-000000000000', 'geloeschtes-treffen', seedId('event', 'geloeschtes-treffen')]) {
    const { res, body } = await getJson(app, `/v1/events/${id}`)
    t.equal(res.statusCode, 404, id)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(body, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `No event with id or slug '${id}' exists.`,
      instance: `/v1/events/${id}`
    })
  }
})

t.test('GET /v1/events (200) sorts by the instant of the start, not its text, and hides deleted events', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const { body } = await getJson(app, '/v1/events')
  t.equal(body.total, 5)
  t.same(slugsOf(body), ['sommerfest-2019', SLUG, 'treffen-nach-mitternacht', 'zeitumstellung-vorher', 'zeitumstellung-nachher'])
  const agreement = (await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body
  t.same(agreement.events.map((e: any) => e.slug), ['sommerfest-2019', SLUG, 'zeitumstellung-vorher'], 'the agreement lists its live events in order')
  const own = await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}/events`)
  t.same(slugsOf(own.body), ['sommerfest-2019', SLUG, 'zeitumstellung-vorher'])
  t.equal(own.body.total, 3)
})

t.test('GET /v1/events?agreement= accepts slug or id; repeating it means OR', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const bySlug = await getJson(app, `/v1/events?agreement=${AGREEMENT_SLUG}`)
  t.equal(bySlug.res.statusCode, 200)
  t.same(slugsOf(bySlug.body), ['sommerfest-2019', SLUG, 'zeitumstellung-vorher'])
  t.equal(bySlug.body.total, 3)
  const byId = await getJson(app, `/v1/events?agreement=${AGREEMENT_ID}`)
  t.same(byId.body.items, bySlug.body.items)
  t.equal(byId.body.total, 3)
  const unknown = await getJson(app, '/v1/events?agreement=kooperationsvereinbarung-2019')
  t.equal(unknown.res.statusCode, 200)
  t.equal(unknown.body.total, 0)
  t.same(unknown.body.items, [])
  const or = await getJson(app, `/v1/events?agreement=kooperationsvereinbarung-2019&agreement=${AGREEMENT_SLUG}`)
  t.same(or.body.items, bySlug.body.items)
  t.equal(or.body.total, 3)
})

t.test('GET /v1/events?from=&to= filter on the local (Europe/Berlin) date of the start, inclusive', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const day = await getJson(app, '/v1/events?from=2020-03-11&to=2020-03-11')
  t.same(slugsOf(day.body), [SLUG])
  const next = await getJson(app, '/v1/events?from=2020-03-12&to=2020-03-12')
  t.same(slugsOf(next.body), ['treffen-nach-mitternacht'], '00:30 local on the 12th is the 12th, although it is the 11th in UTC')
  const from = await getJson(app, '/v1/events?from=2020-03-12')
  t.same(slugsOf(from.body), ['treffen-nach-mitternacht', 'zeitumstellung-vorher', 'zeitumstellung-nachher'])
  const to = await getJson(app, '/v1/events?to=2020-03-11')
  t.same(slugsOf(to.body), ['sommerfest-2019', SLUG])
  const empty = await getJson(app, '/v1/events?from=2021-01-01')
  t.equal(empty.body.total, 0)
  t.same(empty.body.items, [])
})

t.test('GET /v1/events combines different parameters with AND', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const and = await getJson(app, `/v1/events?agreement=${AGREEMENT_SLUG}&from=2020-01-01`)
  t.same(slugsOf(and.body), [SLUG, 'zeitumstellung-vorher'])
  t.equal(and.body.total, 2)
  const narrow = await getJson(app, `/v1/events?agreement=${AGREEMENT_SLUG}&from=2020-03-12&to=2020-10-24`)
  t.equal(narrow.body.total, 0, 'the event of the 12th belongs to no agreement')
})

t.test('GET /v1/events paginates with limit and offset', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const all = slugsOf((await getJson(app, '/v1/events')).body)
  const first = await getJson(app, '/v1/events?limit=2')
  const second = await getJson(app, '/v1/events?limit=2&offset=2')
  const last = await getJson(app, '/v1/events?limit=2&offset=4')
  t.same([first.body.total, first.body.limit, first.body.offset], [5, 2, 0])
  t.same([second.body.total, second.body.offset], [5, 2])
  t.same([...slugsOf(first.body), ...slugsOf(second.body), ...slugsOf(last.body)], all)
  t.equal(last.body.items.length, 1)
  const filtered = await getJson(app, `/v1/events?agreement=${AGREEMENT_SLUG}&limit=1&offset=1`)
  t.same([filtered.body.total, filtered.body.limit, filtered.body.offset], [3, 1, 1])
  t.same(slugsOf(filtered.body), [SLUG])
})

t.test('GET /v1/events (400) lists each failing parameter as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/events?from=2020-13-01&to=11.03.2020&limit=501&place=Spittelmarkt')
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(body.type, '/problems/validation-error')
  t.equal(body.title, 'Bad Request')
  t.equal(body.status, 400)
  t.same(body.errors.map((e: any) => e.field).sort(), ['query.from', 'query.limit', 'query.place', 'query.to'])
  t.match(body.detail, /query\.from must match format "date"/)
  const cases: [string, string][] = [['/v1/events?limit=0', 'query.limit'], ['/v1/events?offset=-1', 'query.offset'], ['/v1/events?agreement=', 'query.agreement.0']]
  for (const [url, field] of cases) {
    const r = await getJson(app, url)
    t.equal(r.res.statusCode, 400, url)
    t.equal(r.res.headers['content-type'], PROBLEM_JSON, url)
    t.same(r.body.errors.map((e: any) => e.field), [field], url)
  }
})

// After the seed and the test events, so that only the test's own later writes count.
const SINCE = new Date(Date.now() + 3_600_000).toISOString()
const LATER = new Date(Date.now() + 7_200_000).toISOString()
const LATEST = new Date(Date.now() + 10_800_000).toISOString()
const BY_START = ['sommerfest-2019', SLUG, 'treffen-nach-mitternacht', 'zeitumstellung-vorher', 'zeitumstellung-nachher']

const cursorOf = (next: string) => new URL(next, 'http://localhost').searchParams.get('cursor')!

function softDelete (app: FastifyInstance, slug: string, at: string) {
  app.db.update(events).set({ deletedAt: at, updatedAt: at }).where(eq(events.slug, slug)).run()
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
    const link = [body.links.next === null ? null : `<${body.links.next}>; rel="next"`, `<${body.links.first}>; rel="first"`]
    t.equal(res.headers.link, link.filter(Boolean).join(', '), `${next}: Link header`)
    items.push(...body.items)
    next = body.links.next
  }
  return items
}

t.test('GET /v1/events cursor pages keep the order of instants, also across the change of clocks', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const first = await getJson(app, '/v1/events?limit=1')
  t.same(first.body.links, { self: '/v1/events?limit=1', first: '/v1/events?limit=1', next: first.body.links.next })
  t.equal(first.res.headers.link, `<${first.body.links.next}>; rel="next", </v1/events?limit=1>; rel="first"`)
  t.same(slugsOf({ items: await walk(t, app, '/v1/events?limit=1', 5) }), BY_START, 'one event per page')
  t.same(slugsOf({ items: await walk(t, app, '/v1/events?limit=2&sort=-startsAt', 5) }), [...BY_START].reverse())
  // The cursor after 02:30+02:00 holds its instant; 02:10+01:00 comes later although its text sorts first.
  const upToVorher = await getJson(app, '/v1/events?limit=4')
  t.same(slugsOf(upToVorher.body).at(-1), 'zeitumstellung-vorher')
  t.same(slugsOf((await getJson(app, upToVorher.body.links.next)).body), ['zeitumstellung-nachher'])
  const byChange = (await getJson(app, '/v1/events')).body.items.map((e: any) => [e.updatedAt, e.id]).sort().map(([, id]: string[]) => id)
  t.same((await walk(t, app, '/v1/events?limit=2&sort=updatedAt', 5)).map((e) => e.id), byChange)
  t.same(slugsOf({ items: await walk(t, app, `/v1/events?limit=1&agreement=${AGREEMENT_SLUG}&from=2020-01-01`, 2) }), [SLUG, 'zeitumstellung-vorher'], 'filters stay in the next links')
})

t.test('GET /v1/events cursors stay stable while events are added and deleted', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const first = (await getJson(app, '/v1/events?limit=2')).body
  t.same(slugsOf(first), BY_START.slice(0, 2))
  app.db.insert(events).values({
    id: seedId('event', 'frueher-termin'), agreementId: null, slug: 'frueher-termin', title: 'Test', startsAt: '2018-01-01T10:00:00+01:00', timeZone: 'Europe/Berlin', sources: [], createdAt: NOW, updatedAt: NOW
  }).run()
  softDelete(app, 'zeitumstellung-vorher', LATER)
  const rest = await walk(t, app, first.links.next, 5)
  t.same([...slugsOf(first), ...slugsOf({ items: rest })], BY_START.filter((slug) => slug !== 'zeitumstellung-vorher'), 'no duplicates, no gaps among the survivors')
})

t.test('GET /v1/events?updatedSince= lists what changed since, deleted events as tombstones', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  app.db.update(events).set({ title: 'Umbenannt', updatedAt: LATER }).where(eq(events.slug, 'treffen-nach-mitternacht')).run()
  softDelete(app, 'sommerfest-2019', LATEST)
  t.notOk(slugsOf((await getJson(app, '/v1/events')).body).includes('sommerfest-2019'))
  const { res, body } = await getJson(app, `/v1/events?updatedSince=${encodeURIComponent(SINCE)}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-total-count'], '2')
  t.same(body.items.map((e: any) => e.id), [seedId('event', 'treffen-nach-mitternacht'), seedId('event', 'sommerfest-2019')])
  t.equal(body.items[0].title, 'Umbenannt')
  t.equal(body.items[0].startsAt, '2020-03-12T00:30:00+01:00')
  t.same(body.items[1], { id: seedId('event', 'sommerfest-2019'), deleted: true, deletedAt: LATEST })
  const old = await getJson(app, '/v1/events?updatedSince=2000-01-01T00:00:00Z')
  t.equal(old.body.total, 6, 'four live events, the tombstones of the earlier and the new deletion')
  t.same(old.body.items.filter((e: any) => e.deleted).map((e: any) => e.id).sort(), [seedId('event', 'geloeschtes-treffen'), seedId('event', 'sommerfest-2019')].sort())
  const agreement = await getJson(app, `/v1/events?agreement=${AGREEMENT_SLUG}&updatedSince=${encodeURIComponent(SINCE)}`)
  t.same(agreement.body.items, [{ id: seedId('event', 'sommerfest-2019'), deleted: true, deletedAt: LATEST }], 'filters apply to tombstones too')
  const byStart = await getJson(app, `/v1/events?updatedSince=${encodeURIComponent(SINCE)}&sort=startsAt`)
  t.same(byStart.body.items.map((e: any) => e.id), [seedId('event', 'sommerfest-2019'), seedId('event', 'treffen-nach-mitternacht')])
  t.equal((await getJson(app, '/v1/events?updatedSince=2099-01-01T00:00:00Z')).body.total, 0)
  const bad = await getJson(app, '/v1/events?updatedSince=2020-03-11')
  t.equal(bad.res.statusCode, 400)
  t.equal(bad.res.headers['content-type'], PROBLEM_JSON)
  t.same(bad.body.errors.map((e: any) => e.field), ['query.updatedSince'])
})

t.test('GET /v1/events?format=ndjson streams every event, one per line', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  const res = await app.inject('/v1/events?format=ndjson&limit=1&offset=3')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.same(slugsOf({ items: lines }), BY_START, 'all records, ignoring limit and offset')
  t.same(lines, (await getJson(app, '/v1/events')).body.items)
  softDelete(app, 'zeitumstellung-nachher', LATER)
  const changes = await app.inject(`/v1/events?format=ndjson&updatedSince=${encodeURIComponent(SINCE)}`)
  t.equal(changes.body, `${JSON.stringify({ id: seedId('event', 'zeitumstellung-nachher'), deleted: true, deletedAt: LATER })}\n`)
  const batches = [...app.repos.agreements.iterateEvents({ limit: 50, offset: 0 }, 2)]
  t.same(batches.map((b) => b.length), [2, 2])
  t.same(batches.flat().map((e) => e.id), lines.slice(0, 4).map((e) => e.id), 'iterate() walks the keyset in batches')
})

t.test('GET /v1/events (400) for a cursor that is garbage or of another sort', async (t) => {
  const app = await buildTestApp(t)
  addEvents(app)
  for (const cursor of ['x', Buffer.from('["startsAt",null]').toString('base64url'), Buffer.from('{"startsAt":1}').toString('base64url')]) {
    const { res, body } = await getJson(app, `/v1/events?cursor=${cursor}`)
    t.equal(res.statusCode, 400, cursor)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(body.type, '/problems/invalid-cursor')
  }
  const cursor = cursorOf((await getJson(app, '/v1/events?limit=2')).body.links.next)
  t.same(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')).length, 3, 'sort, instant and id')
  const other = await getJson(app, `/v1/events?limit=2&sort=updatedAt&cursor=${cursor}`)
  t.equal(other.res.statusCode, 400)
  t.equal(other.res.headers['content-type'], PROBLEM_JSON)
  t.equal(other.body.detail, 'The cursor belongs to sort=startsAt, not sort=updatedAt.')
})

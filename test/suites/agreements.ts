import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { agreementParties, agreements, events, facilities } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

const SLUG = 'kooperationsvereinbarung-2018'
const AGREEMENT_ID = seedId('agreement', SLUG)
const EVENT_SLUG = 'voneinander-wissen-in-mitte-2020'
const PM_260_2018 = 'https://www.berlin.de/ba-mitte/aktuelles/pressemitteilungen/2018/pressemitteilung.713391.php'
const PM_067_2020 = 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php'
const BW_2020 = 'https://berliner-woche.de/mitte/c-bildung/jobcenter-und-nachbarschaftseinrichtungen-wollen-staerker-zusammenarbeiten_a255703'
const PM_158_2023 = 'https://wertheim24.de/zusammenarbeit-jobcenter-mitte-bezirksamt-mitte-und-die-nachbarschaftseinrichtungen-im-bezirk'
const NOW = '2026-11-21T09:00:00.000Z'

// District office, JobCenter, then facilities by confirmation and name (case-insensitive).
const PARTY_ORDER = [
  ['district_office', 'signatory', 'bezirksamt-mitte'],
  ['jobcenter', 'signatory', 'jobcenter-berlin-mitte'],
  ['facility', 'named_participant', 'begegnungsstaette-mehr-mitte'],
  ['facility', 'named_participant', 'meerbaum-haus'],
  ['facility', 'named_participant', 'familienzentrum-wattstrasse'],
  ['facility', 'named_participant', 'villa-luetzow'],
  ['facility', 'named_participant', 'kreativhaus'],
  ['facility', 'named_participant', 'olof-palme-zentrum'],
  ['facility', 'named_participant', 'nachbarschaftstreff-stadtteilverein-tiergarten'],
  ['facility', 'named_participant', 'nachbarschaftszentrum-buerger-fuer-buerger'],
  ['facility', 'named_participant', 'shk-mitte'],
  ['facility', 'probable', 'nachbarschaftsetage-fabrik-osloer-strasse'],
  ['facility', 'probable', 'sprengelhaus'],
  ['facility', 'probable', 'stadtschloss-moabit']
]
const partyKeys = (agreement: any) => agreement.parties.map((p: any) => [p.role, p.confirmation, (p.facility ?? p.organisation).slug])
const urlsOf = (sources: { url: string }[]) => sources.map((s) => s.url)

t.test('GET /v1/agreements (200) lists the 2018 agreement', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/agreements')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, 1)
  t.equal(body.limit, 50)
  t.equal(body.offset, 0)
  t.equal(body.items.length, 1)
  const [agreement] = body.items
  t.equal(agreement.id, AGREEMENT_ID)
  t.equal(agreement.slug, SLUG)
  t.same(agreement.signed.date, '2018-06-27')
  t.equal(agreement.parties.length, 14, 'list items carry the full representation')
  t.same(agreement, (await getJson(app, `/v1/agreements/${SLUG}`)).body)
})

t.test('GET /v1/agreements paginates with limit and offset', async (t) => {
  const app = await readOnlyApp(t)
  const first = await getJson(app, '/v1/agreements?limit=1&offset=0')
  t.equal(first.res.statusCode, 200)
  t.same([first.body.total, first.body.limit, first.body.offset], [1, 1, 0])
  t.same(first.body.items.map((a: any) => a.slug), [SLUG])
  const past = await getJson(app, '/v1/agreements?limit=1&offset=1')
  t.same([past.body.total, past.body.limit, past.body.offset], [1, 1, 1])
  t.same(past.body.items, [])
})

t.test('GET /v1/agreements/{idOrSlug} (200) gives the signing, aims and outcome from the sources', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, `/v1/agreements/${SLUG}`)
  t.equal(res.statusCode, 200)
  t.equal(body.id, AGREEMENT_ID)
  t.equal(body.title, 'Kooperationsvereinbarung zwischen Bezirksamt Mitte, JobCenter (Berlin) Mitte und Nachbarschaftseinrichtungen im Bezirk Mitte')
  t.match(body.titleNote, /Pressemitteilung Nr\. 260\/2018/)
  t.match(body.summary, /Arbeitskreis Stadtteilarbeit/)
  t.equal(body.announced.date, '2018-06-19')
  t.match(body.announced.note, /Ephraim Gothe/)
  t.same({ ...body.signed, note: null }, {
    date: '2018-06-27',
    time: '15:00',
    place: 'Schillerbibliothek, Müllerstr. 149, 13353 Berlin',
    note: null
  })
  t.match(body.signed.note, /PM 067\/2020 bestätigt/)
  t.equal(body.aims.length, 2)
  t.match(body.aims[1], /Synergien/)
  t.equal(body.commitments.length, 2)
  t.match(body.commitments[1], /verweisen aufeinander/)
  t.equal(body.rationale.length, 2)
  t.equal(body.outcome.date, '2023-07-03')
  t.match(body.outcome.summary, /Arbeitskreis Stadtteilarbeit/)
  t.same(urlsOf(body.outcome.sources), [PM_158_2023])
  t.equal(body.statusNotes.length, 4)
  t.equal(body.documentTextFound, false, 'the agreement text was not found')
  t.equal(body.signatoryListFound, false, 'no list of signatories was found')
  t.same(urlsOf(body.sources), [PM_260_2018, PM_067_2020, BW_2020, PM_158_2023])
  t.same(body.sources[0].facts, ['title', 'announcement', 'signing date, time and place', 'aims', 'commitments', 'rationale'])
  t.same(body.events, [{
    id: seedId('event', EVENT_SLUG),
    slug: EVENT_SLUG,
    title: 'Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen',
    startsAt: '2020-03-11T09:00:00+01:00'
  }])
  t.match(body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/)
  t.match(body.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/)
})

t.test('GET /v1/agreements/{idOrSlug} (200) by UUID gives the same record as by slug', async (t) => {
  const app = await readOnlyApp(t)
  const byId = await getJson(app, `/v1/agreements/${AGREEMENT_ID}`)
  t.equal(byId.res.statusCode, 200)
  t.same(byId.body, (await getJson(app, `/v1/agreements/${SLUG}`)).body)
})

t.test('GET /v1/agreements/{idOrSlug} (200) sets the declared 19 and 17 against the 9 named and 3 probable facilities', async (t) => {
  const app = await readOnlyApp(t)
  const { partnerCount } = (await getJson(app, `/v1/agreements/${SLUG}`)).body
  t.same(partnerCount.declared.map((d: any) => d.value), [19, 17])
  const [of2020, of2023] = partnerCount.declared
  t.same(urlsOf(of2020.sources), [PM_067_2020, BW_2020], '19 comes from PM 067/2020 and the Berliner Woche 2020')
  t.same(of2020.sources[0].facts, ['number of facilities: 19'])
  t.match(of2020.note, /PM 067\/2020 und Berliner Woche \(2020\)/)
  t.same(urlsOf(of2023.sources), [PM_158_2023], '17 comes from PM 158/2023')
  t.match(of2023.note, /PM 158\/2023/)
  t.same(partnerCount.known, {
    total: 14,
    byConfirmation: { signatory: 2, named_participant: 9, probable: 3 },
    facilities: { total: 12, signatory: 0, named_participant: 9, probable: 3 }
  })
  t.equal(partnerCount.summary, 'Laut Quellen 19 bzw. 17 Einrichtungen; namentlich bekannt: 9 als Teilnehmende genannt, 3 wahrscheinlich.')
  t.match(partnerCount.note, /widersprechen sich: 19 .* 17/)
})

t.test('GET /v1/agreements/{idOrSlug} (200) lists Bezirksamt, JobCenter and the facilities in order', async (t) => {
  const app = await readOnlyApp(t)
  const body = (await getJson(app, `/v1/agreements/${SLUG}`)).body
  t.same(partyKeys(body), PARTY_ORDER)
  const [bezirksamt, jobcenter] = body.parties
  t.same(bezirksamt.organisation, {
    id: seedId('organisation', 'bezirksamt-mitte'),
    slug: 'bezirksamt-mitte',
    name: 'Bezirksamt Mitte von Berlin',
    kind: 'district_office'
  })
  t.equal(bezirksamt.facility, null)
  t.equal(bezirksamt.name, 'Bezirksamt Mitte')
  t.equal(bezirksamt.id, seedId('agreement-party', `${SLUG}/bezirksamt-mitte`))
  t.same(urlsOf(bezirksamt.sources), [PM_260_2018, PM_067_2020])
  t.same(jobcenter.organisation, {
    id: seedId('organisation', 'jobcenter-berlin-mitte'),
    slug: 'jobcenter-berlin-mitte',
    name: 'JobCenter Berlin Mitte',
    kind: 'jobcenter'
  })
  t.equal(jobcenter.name, 'JobCenter Mitte')
  const kreativhaus = body.parties.find((p: any) => p.facility?.slug === 'kreativhaus')
  t.same(kreativhaus.facility, {
    id: seedId('facility', 'kreativhaus'),
    slug: 'kreativhaus',
    name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)'
  })
  t.equal(kreativhaus.organisation, null)
  t.equal(kreativhaus.name, 'Kreativhaus')
  t.match(kreativhaus.evidence, /067\/2020/)
  t.same(urlsOf(kreativhaus.sources), [PM_067_2020, BW_2020])
  const moabit = body.parties.find((p: any) => p.facility?.slug === 'stadtschloss-moabit')
  t.equal(moabit.confirmation, 'probable')
  t.match(moabit.evidence, /^Nur eine Schlussfolgerung/)
})

t.test('GET /v1/agreements/{idOrSlug} (200) hides parties of soft-deleted facilities and counts only what it lists', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(facilities).set({ deletedAt: NOW }).where(eq(facilities.slug, 'kreativhaus')).run()
  app.db.update(facilities).set({ deletedAt: NOW }).where(eq(facilities.slug, 'sprengelhaus')).run()
  const body = (await getJson(app, `/v1/agreements/${SLUG}`)).body
  t.same(partyKeys(body), PARTY_ORDER.filter(([, , slug]) => slug !== 'kreativhaus' && slug !== 'sprengelhaus'))
  t.same(body.partnerCount.known, {
    total: 12,
    byConfirmation: { signatory: 2, named_participant: 8, probable: 2 },
    facilities: { total: 10, signatory: 0, named_participant: 8, probable: 2 }
  })
  t.equal(body.partnerCount.summary, 'Laut Quellen 19 bzw. 17 Einrichtungen; namentlich bekannt: 8 als Teilnehmende genannt, 2 wahrscheinlich.')
  t.same(body.partnerCount.declared.map((d: any) => d.value), [19, 17], 'declared counts are what the sources say')
})

t.test('GET /v1/agreements/{idOrSlug} (200) hides soft-deleted parties', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(agreementParties).set({ deletedAt: NOW })
    .where(eq(agreementParties.id, seedId('agreement-party', `${SLUG}/jobcenter-berlin-mitte`))).run()
  const body = (await getJson(app, `/v1/agreements/${SLUG}`)).body
  t.same(partyKeys(body), PARTY_ORDER.filter(([role]) => role !== 'jobcenter'))
  t.same(body.partnerCount.known.byConfirmation, { signatory: 1, named_participant: 9, probable: 3 })
  t.equal(body.partnerCount.known.total, 13)
})

t.test('GET /v1/agreements/{idOrSlug} (404) is problem+json', async (t) => {
  const app = await readOnlyApp(t)
  for (const id of ['kooperationsvereinbarung-2019', '00000000-0000-4000-8000-000000000000', 'Not A Slug!']) {
    const url = `/v1/agreements/${encodeURIComponent(id)}`
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 404, id)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(body, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `No agreement with id or slug '${id}' exists.`,
      instance: url
    })
  }
})

t.test('GET /v1/agreements/{idOrSlug} (404) once the agreement is soft-deleted', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(agreements).set({ deletedAt: NOW }).where(eq(agreements.id, AGREEMENT_ID)).run()
  t.equal((await app.inject(`/v1/agreements/${SLUG}`)).statusCode, 404)
  t.equal((await app.inject(`/v1/agreements/${SLUG}/events`)).statusCode, 404)
  const list = await getJson(app, '/v1/agreements')
  t.equal(list.body.total, 0)
  t.same(list.body.items, [])
})

t.test('GET /v1/agreements (400) lists each failing parameter as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/agreements?limit=0&offset=-1&year=2018')
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(body.type, '/problems/validation-error')
  t.equal(body.title, 'Bad Request')
  t.equal(body.status, 400)
  t.equal(body.instance, '/v1/agreements?limit=0&offset=-1&year=2018')
  t.same(body.errors.map((e: any) => e.field).sort(), ['query.limit', 'query.offset', 'query.year'])
  t.match(body.detail, /query\.limit must be >= 1/)
  for (const url of ['/v1/agreements?limit=501', '/v1/agreements?limit=abc']) {
    const r = await getJson(app, url)
    t.equal(r.res.statusCode, 400, url)
    t.equal(r.res.headers['content-type'], PROBLEM_JSON, url)
    t.same(r.body.errors.map((e: any) => e.field), ['query.limit'], url)
  }
})

t.test('GET /v1/agreements/{idOrSlug}/events (200) lists the meeting of 11 March 2020', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, `/v1/agreements/${SLUG}/events`)
  t.equal(res.statusCode, 200)
  t.same([body.total, body.limit, body.offset], [1, 50, 0])
  const [event] = body.items
  t.equal(event.slug, EVENT_SLUG)
  t.equal(event.startsAt, '2020-03-11T09:00:00+01:00')
  t.equal(event.endsAt, '2020-03-11T13:00:00+01:00')
  t.equal(event.location.street, 'Seydelstr. 2-5')
  t.equal(event.agreement.slug, SLUG)
  t.equal(event.participants.length, 11)
  t.same(event, (await getJson(app, `/v1/events/${EVENT_SLUG}`)).body)
  const byId = await getJson(app, `/v1/agreements/${AGREEMENT_ID}/events`)
  t.same(byId.body.items, body.items)
  t.equal(byId.body.total, 1)
})

t.test('GET /v1/agreements/{idOrSlug}/events paginates with limit and offset', async (t) => {
  const app = await readOnlyApp(t)
  const past = await getJson(app, `/v1/agreements/${SLUG}/events?limit=1&offset=1`)
  t.equal(past.res.statusCode, 200)
  t.same([past.body.total, past.body.limit, past.body.offset], [1, 1, 1])
  t.same(past.body.items, [])
})

t.test('GET /v1/agreements/{idOrSlug}/events (404) for an unknown agreement', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/agreements/no-such-agreement/events')
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same(body, {
    type: '/problems/not-found',
    title: 'Not Found',
    status: 404,
    detail: 'No agreement with id or slug \'no-such-agreement\' exists.',
    instance: '/v1/agreements/no-such-agreement/events'
  })
})

t.test('GET /v1/agreements/{idOrSlug}/events (400) for unknown parameters and bad limits', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, `/v1/agreements/${SLUG}/events?from=2020-01-01&limit=501`)
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same(body.errors.map((e: any) => e.field).sort(), ['query.from', 'query.limit'])
})

// After the seed (written when the test process starts), so that only the test's own writes count.
const SINCE = new Date(Date.now() + 3_600_000).toISOString()
const LATER = new Date(Date.now() + 7_200_000).toISOString()
const LATEST = new Date(Date.now() + 10_800_000).toISOString()
const EVENT_ID = seedId('event', EVENT_SLUG)

const slugsOf = (items: { slug: string }[]) => items.map((i) => i.slug)
const cursorOf = (next: string) => new URL(next, 'http://localhost').searchParams.get('cursor')!
const byId = (slugs: string[], entity: string) => [...slugs].sort((a, b) => seedId(entity, a) < seedId(entity, b) ? -1 : 1)

// One write time for every inserted record, so that sorting by updatedAt ties and the id decides.
const INSERTED = new Date().toISOString()

function addAgreement (app: FastifyInstance, slug: string, signedOn: string | null) {
  const now = INSERTED
  app.db.insert(agreements).values({
    id: seedId('agreement', slug),
    slug,
    title: `Testvereinbarung ${slug}`,
    summary: 'Testdatensatz',
    signedOn,
    declaredPartnerCounts: [],
    aims: [],
    commitments: [],
    rationale: [],
    outcome: null,
    statusNotes: [],
    documentTextFound: false,
    signatoryListFound: false,
    sources: [],
    createdAt: now,
    updatedAt: now
  }).run()
}

function addEvent (app: FastifyInstance, slug: string, startsAt: string, agreementId: string | null) {
  const now = INSERTED
  app.db.insert(events).values({
    id: seedId('event', slug), agreementId, slug, title: `Test ${slug}`, startsAt, timeZone: 'Europe/Berlin', sources: [], createdAt: now, updatedAt: now
  }).run()
}

function softDelete (app: FastifyInstance, table: typeof agreements | typeof events, slug: string, at: string) {
  app.db.update(table).set({ deletedAt: at, updatedAt: at }).where(eq(table.slug, slug)).run()
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

// Two dated agreements around the real one and two without a signing date.
function addAgreements (app: FastifyInstance) {
  addAgreement(app, 'test-2016', '2016-01-15')
  addAgreement(app, 'test-2021', '2021-09-01')
  addAgreement(app, 'test-ohne-datum-a', null)
  addAgreement(app, 'test-ohne-datum-b', null)
}
const BY_SIGNING = ['test-2016', SLUG, 'test-2021', ...byId(['test-ohne-datum-a', 'test-ohne-datum-b'], 'agreement')]

t.test('GET /v1/agreements cursor pages follow the signing date, undated agreements last', async (t) => {
  const app = await buildTestApp(t)
  addAgreements(app)
  t.same(slugsOf((await getJson(app, '/v1/agreements')).body.items), BY_SIGNING)
  t.same(slugsOf(await walk(t, app, '/v1/agreements?limit=1', 5)), BY_SIGNING, 'pages cross from dated to undated agreements')
  t.same(slugsOf(await walk(t, app, '/v1/agreements?limit=2&sort=-signedOn', 5)), [...BY_SIGNING].reverse())
  const byChange = (await getJson(app, '/v1/agreements')).body.items
    .map((a: any) => [a.updatedAt, a.id]).sort().map(([, id]: string[]) => id)
  t.same((await walk(t, app, '/v1/agreements?limit=2&sort=updatedAt', 5)).map((a) => a.id), byChange, 'by updatedAt, then id (the inserted ones tie)')
  const first = await getJson(app, '/v1/agreements?limit=2')
  t.same(first.body.links, { self: '/v1/agreements?limit=2', first: '/v1/agreements?limit=2', next: first.body.links.next })
  t.equal(first.res.headers.link, `<${first.body.links.next}>; rel="next", </v1/agreements?limit=2>; rel="first"`)
  t.equal(first.res.headers['x-total-count'], '5')
})

t.test('GET /v1/agreements cursors stay stable while agreements are added and deleted', async (t) => {
  const app = await buildTestApp(t)
  addAgreements(app)
  const first = (await getJson(app, '/v1/agreements?limit=2')).body
  t.same(slugsOf(first.items), ['test-2016', SLUG])
  addAgreement(app, 'test-2010', '2010-01-01')
  softDelete(app, agreements, BY_SIGNING[3]!, LATER)
  const rest = await walk(t, app, first.links.next, 5)
  t.same([...slugsOf(first.items), ...slugsOf(rest)], BY_SIGNING.filter((slug) => slug !== BY_SIGNING[3]), 'no duplicates, no gaps among the survivors')
})

t.test('GET /v1/agreements?updatedSince= lists what changed since, deleted agreements as tombstones', async (t) => {
  const app = await buildTestApp(t)
  addAgreements(app)
  app.db.update(agreements).set({ summary: 'Geändert', updatedAt: LATER }).where(eq(agreements.id, AGREEMENT_ID)).run()
  softDelete(app, agreements, 'test-2021', LATEST)
  t.notOk(slugsOf((await getJson(app, '/v1/agreements')).body.items).includes('test-2021'))
  const { res, body } = await getJson(app, `/v1/agreements?updatedSince=${encodeURIComponent(SINCE)}`)
  t.equal(res.statusCode, 200)
  t.equal(body.total, 2)
  t.equal(res.headers['x-total-count'], '2')
  t.equal(body.items[0].id, AGREEMENT_ID)
  t.equal(body.items[0].summary, 'Geändert')
  t.equal(body.items[0].parties.length, 14, 'a changed agreement comes in full')
  t.same(body.items[1], { id: seedId('agreement', 'test-2021'), deleted: true, deletedAt: LATEST })
  t.equal((await getJson(app, `/v1/agreements?updatedSince=${encodeURIComponent(LATEST)}`)).body.total, 1)
  t.equal((await getJson(app, '/v1/agreements?updatedSince=2099-01-01T00:00:00Z')).body.total, 0)
  const signed = await getJson(app, `/v1/agreements?updatedSince=${encodeURIComponent(SINCE)}&sort=signedOn`)
  t.same(signed.body.items.map((a: any) => a.id), [AGREEMENT_ID, seedId('agreement', 'test-2021')], 'a tombstone keeps its place in the sort')
  const bad = await getJson(app, '/v1/agreements?updatedSince=27.06.2018')
  t.equal(bad.res.statusCode, 400)
  t.equal(bad.res.headers['content-type'], PROBLEM_JSON)
})

t.test('GET /v1/agreements?format=ndjson streams every agreement, one per line', async (t) => {
  const app = await buildTestApp(t)
  addAgreements(app)
  softDelete(app, agreements, 'test-2016', LATER)
  const res = await app.inject('/v1/agreements?format=ndjson&limit=1')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.same(slugsOf(lines), BY_SIGNING.slice(1))
  t.same(lines, (await getJson(app, '/v1/agreements')).body.items)
  const changes = await app.inject(`/v1/agreements?format=ndjson&updatedSince=${encodeURIComponent(SINCE)}`)
  t.equal(changes.body, `${JSON.stringify({ id: seedId('agreement', 'test-2016'), deleted: true, deletedAt: LATER })}\n`)
  const batches = [...app.repos.agreements.iterate({ limit: 50, offset: 0 }, 2)]
  t.same(batches.map((b) => b.length), [2, 2])
  t.same(batches.flat().map((a) => a.id), lines.map((a) => a.id), 'iterate() walks the keyset in batches')
})

t.test('GET /v1/agreements (400) for a cursor that is garbage or of another sort', async (t) => {
  const app = await buildTestApp(t)
  addAgreements(app)
  const garbage = await getJson(app, '/v1/agreements?cursor=garbage')
  t.equal(garbage.res.statusCode, 400)
  t.equal(garbage.res.headers['content-type'], PROBLEM_JSON)
  t.equal(garbage.body.type, '/problems/invalid-cursor')
  const cursor = cursorOf((await getJson(app, '/v1/agreements?limit=1')).body.links.next)
  const other = await getJson(app, `/v1/agreements?sort=-signedOn&cursor=${cursor}`)
  t.equal(other.res.statusCode, 400)
  t.equal(other.res.headers['content-type'], PROBLEM_JSON)
  t.equal(other.body.detail, 'The cursor belongs to sort=signedOn, not sort=-signedOn.')
  const otherKey = await getJson(app, `/v1/agreements?sort=updatedAt&cursor=${cursor}`)
  t.equal(otherKey.res.statusCode, 400, 'a cursor of a sort with another key does not fit either')
  t.equal(otherKey.body.type, '/problems/invalid-cursor')
  const shortKey = Buffer.from('["signedOn",0,"2018-06-27"]').toString('base64url')
  t.equal((await getJson(app, `/v1/agreements?cursor=${shortKey}`)).res.statusCode, 400, 'a key of the wrong length')
})

// Events under the agreement: the seeded meeting plus these; another agreement's event is not among them.
function addAgreementEvents (app: FastifyInstance) {
  addAgreement(app, 'test-2021', '2021-09-01')
  addEvent(app, 'test-sommerfest-2019', '2019-07-01T16:00:00+02:00', AGREEMENT_ID)
  addEvent(app, 'test-herbst-2020', '2020-10-25T02:30:00+02:00', AGREEMENT_ID)
  addEvent(app, 'test-nach-umstellung-2020', '2020-10-25T02:10:00+01:00', AGREEMENT_ID)
  addEvent(app, 'test-fremd', '2020-05-05T10:00:00+02:00', seedId('agreement', 'test-2021'))
}
const AGREEMENT_EVENTS = ['test-sommerfest-2019', EVENT_SLUG, 'test-herbst-2020', 'test-nach-umstellung-2020']

t.test('GET /v1/agreements/{idOrSlug}/events cursor pages keep the order of instants', async (t) => {
  const app = await buildTestApp(t)
  addAgreementEvents(app)
  const url = `/v1/agreements/${SLUG}/events`
  t.same(slugsOf(await walk(t, app, `${url}?limit=1`, 4)), AGREEMENT_EVENTS, '02:30+02:00 is before 02:10+01:00')
  t.same(slugsOf(await walk(t, app, `${url}?limit=3&sort=-startsAt`, 4)), [...AGREEMENT_EVENTS].reverse())
  const first = (await getJson(app, `${url}?limit=2`)).body
  t.same(first.links, { self: `${url}?limit=2`, first: `${url}?limit=2`, next: first.links.next })
  t.notOk(first.links.next.includes('agreement='), 'the agreement is in the path, not in the query')
  addEvent(app, 'test-frueh-2018', '2018-07-01T10:00:00+02:00', AGREEMENT_ID)
  softDelete(app, events, 'test-herbst-2020', LATER)
  const rest = await walk(t, app, first.links.next, 4)
  t.same([...slugsOf(first.items), ...slugsOf(rest)], AGREEMENT_EVENTS.filter((slug) => slug !== 'test-herbst-2020'), 'no duplicates, no gaps among the survivors')
})

t.test('GET /v1/agreements/{idOrSlug}/events?updatedSince= and format=ndjson', async (t) => {
  const app = await buildTestApp(t)
  addAgreementEvents(app)
  app.db.update(events).set({ title: 'Umbenannt', updatedAt: LATER }).where(eq(events.id, EVENT_ID)).run()
  softDelete(app, events, 'test-sommerfest-2019', LATEST)
  softDelete(app, events, 'test-fremd', LATEST)
  const url = `/v1/agreements/${SLUG}/events`
  const { res, body } = await getJson(app, `${url}?updatedSince=${encodeURIComponent(SINCE)}`)
  t.equal(res.headers['x-total-count'], '2', 'the other agreement\'s event is not counted')
  t.same(body.items.map((e: any) => e.id), [EVENT_ID, seedId('event', 'test-sommerfest-2019')])
  t.equal(body.items[0].title, 'Umbenannt')
  t.same(body.items[1], { id: seedId('event', 'test-sommerfest-2019'), deleted: true, deletedAt: LATEST })
  t.same(slugsOf((await getJson(app, url)).body.items), AGREEMENT_EVENTS.slice(1))

  const ndjson = await app.inject(`${url}?format=ndjson&limit=1`)
  t.equal(ndjson.statusCode, 200)
  t.equal(ndjson.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  const lines = ndjson.body.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.same(slugsOf(lines), AGREEMENT_EVENTS.slice(1))
  t.same(lines, (await getJson(app, url)).body.items)
  const changes = await app.inject(`${url}?format=ndjson&updatedSince=${encodeURIComponent(LATEST)}`)
  t.equal(changes.body, `${JSON.stringify({ id: seedId('event', 'test-sommerfest-2019'), deleted: true, deletedAt: LATEST })}\n`)
  const missing = await app.inject('/v1/agreements/no-such-agreement/events?format=ndjson')
  t.equal(missing.statusCode, 404)
  t.equal(missing.headers['content-type'], PROBLEM_JSON)
})

t.test('GET /v1/agreements/{idOrSlug}/events (400) for a cursor that is garbage or of another sort', async (t) => {
  const app = await buildTestApp(t)
  addAgreementEvents(app)
  const url = `/v1/agreements/${SLUG}/events`
  const garbage = await getJson(app, `${url}?cursor=WzEsMiwz`)
  t.equal(garbage.res.statusCode, 400)
  t.equal(garbage.res.headers['content-type'], PROBLEM_JSON)
  t.equal(garbage.body.type, '/problems/invalid-cursor')
  const cursor = cursorOf((await getJson(app, `${url}?limit=1&sort=-startsAt`)).body.links.next)
  const other = await getJson(app, `${url}?limit=1&cursor=${cursor}`)
  t.equal(other.res.statusCode, 400)
  t.equal(other.body.detail, 'The cursor belongs to sort=-startsAt, not sort=startsAt.')
})

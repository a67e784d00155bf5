import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { seedId } from '../../src/lib/uuid.ts'
import { EventInputSchema } from '../../src/schemas/agreements.ts'
import { eventWritableOf } from '../../src/repositories/agreements-repository.ts'
import { entityTag } from '../../src/routes/write-support.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson, softDeleteFacility } from '../helper.ts'

const AGREEMENT_SLUG = 'kooperationsvereinbarung-2018'
const AGREEMENT_ID = seedId('agreement', AGREEMENT_SLUG)
const EVENT_SLUG = 'voneinander-wissen-in-mitte-2020'
const EVENT_ID = seedId('event', EVENT_SLUG)
const EVENT_URL = `/v1/events/${EVENT_SLUG}`
const KREATIVHAUS = seedId('facility', 'kreativhaus')
const JOBCENTER_REF = { id: seedId('organisation', 'jobcenter-berlin-mitte'), slug: 'jobcenter-berlin-mitte', name: 'JobCenter Berlin Mitte', kind: 'jobcenter' }
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' }
const UNKNOWN_KEY = `mpd_AAAAAAAAAA_${'a'.repeat(43)}`

// A clearly synthetic event; the references are real records of the seed.
const newEvent = (slug = 'testtreffen-2026') => ({
  agreement: AGREEMENT_SLUG,
  slug,
  title: 'Testtreffen',
  description: 'Ein Testdatensatz.',
  startsAt: '2026-03-11T10:00:00+01:00',
  endsAt: '2026-03-11T12:30:00+01:00',
  timeZone: 'Europe/Berlin',
  location: { name: 'JobCenter Mitte – Standort Leopoldplatz', street: null, postcode: null, city: 'Berlin', site: 'jobcenter-leopoldplatz' },
  participants: [
    { name: 'JobCenter Mitte', organisation: 'jobcenter-berlin-mitte', facility: null },
    { name: 'Kreativhaus', organisation: null, facility: KREATIVHAUS },
    { name: 'Ein Gast ohne Eintrag', organisation: null, facility: null }
  ],
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['date'] }]
})

const etagOf = async (app: FastifyInstance, url: string) => String((await app.inject(url)).headers.etag)
const feedSince = async (app: FastifyInstance, since: number) =>
  (await getJson(app, `/v1/changes?since=${since}`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])
// Each failing field once, the innermost only (a nullable member also reports that it is not null).
function fieldsOf (res: { json: () => any }): string[] {
  const fields = [...new Set<string>(res.json().errors.map((e: any) => e.field))]
  return fields.filter((field) => !fields.some((other) => other.startsWith(`${field}.`))).sort()
}

t.test('the seeded event validates as input, and PATCHing it unchanged writes nothing', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const read = await app.inject(EVENT_URL)
  const event = read.json()
  t.equal(read.headers.etag, entityTag(event), 'GET sends the ETag that writes compare')
  const writable = eventWritableOf(event)
  t.ok(Value.Check(EventInputSchema, writable), [...Value.Errors(EventInputSchema, writable)].map((e) => `${e.instancePath} ${e.message}`).join('; '))
  t.equal(writable.participants.length, 11)
  t.equal(writable.location.site, 'jobcenter-spittelmarkt')
  const seq = app.dataVersion().seq
  const same = await app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...bearer(key), 'if-match': String(read.headers.etag) }, payload: writable })
  t.equal(same.statusCode, 200)
  t.equal(same.headers.etag, read.headers.etag)
  t.same(await feedSince(app, seq), [])
})

t.test('POST /v1/events (201) creates an event with participants in order; the agreement lists it', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Koordination')
  const agreementBefore = (await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body
  const seq = app.dataVersion().seq
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(key), payload: newEvent() })
  t.equal(res.statusCode, 201)
  const event = res.json()
  t.equal(res.headers.location, `/v1/events/${event.id}`)
  t.equal(event.slug, 'testtreffen-2026')
  t.equal(event.startsAt, '2026-03-11T10:00:00+01:00', 'the offset is kept as written')
  t.equal(event.timeZone, 'Europe/Berlin')
  t.same(event.agreement, { id: AGREEMENT_ID, slug: AGREEMENT_SLUG, title: agreementBefore.title })
  t.same(event.location, {
    name: 'JobCenter Mitte – Standort Leopoldplatz',
    street: null,
    postcode: null,
    city: 'Berlin',
    site: { id: seedId('organisation-site', 'jobcenter-leopoldplatz'), slug: 'jobcenter-leopoldplatz', name: event.location.site.name },
    organisation: JOBCENTER_REF
  })
  t.same(event.participants.map((p: any) => [p.name, p.organisation?.slug ?? null, p.facility?.slug ?? null]), [
    ['JobCenter Mitte', 'jobcenter-berlin-mitte', null],
    ['Kreativhaus', null, 'kreativhaus'],
    ['Ein Gast ohne Eintrag', null, null]
  ], 'in order; a facility given by UUID is linked')
  const read = await app.inject(res.headers.location!)
  t.same(read.json(), event)
  t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
  t.same((await getJson(app, '/v1/events?from=2026-03-11&to=2026-03-11')).body.items.map((e: any) => e.id), [event.id])
  const agreement = (await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body
  t.same(agreement.events.map((e: any) => e.slug), [EVENT_SLUG, 'testtreffen-2026'])
  t.ok(agreement.updatedAt > agreementBefore.updatedAt, 'the agreement changed with its events')
  t.same(await feedSince(app, seq), [['event', event.id, 'create'], ['agreement', AGREEMENT_ID, 'update']])
  const history = (await getJson(app, `/v1/events/${event.id}/history`)).body
  t.equal(history.id, event.id)
  t.equal(history.items.length, 1)
  t.equal(history.items[0].action, 'create')
  t.same(history.items[0].actor, { keyId, name: 'Koordination' })
  t.same(history.items[0].changes.participants.new[1], { name: 'Kreativhaus', organisation: null, facility: 'kreativhaus' })
  t.same(history.items[0].changes.startsAt, { old: null, new: '2026-03-11T10:00:00+01:00' })
})

t.test('POST /v1/events accepts summer time, an open end and no agreement', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const seq = app.dataVersion().seq
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: bearer(key),
    payload: { ...newEvent('sommertreffen-2026'), agreement: null, startsAt: '2026-07-01T18:00:00+02:00', endsAt: null, participants: [], location: { name: null, street: null, postcode: null, city: null, site: null } }
  })
  t.equal(res.statusCode, 201)
  t.equal(res.json().agreement, null)
  t.equal(res.json().location.organisation, null)
  t.same(res.json().participants, [])
  t.same(await feedSince(app, seq), [['event', res.json().id, 'create']], 'no agreement to update')
})

t.test('POST /v1/events (400) for what the schema rejects', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const cases: [Record<string, unknown>, string[]][] = [
    [{ timeZone: 'Europe/Paris' }, ['body.timeZone']],
    [{ startsAt: '2026-03-11T09:00:00Z' }, ['body.startsAt']],
    [{ startsAt: '2026-03-11 10:00' }, ['body.startsAt']],
    [{ title: '', colour: 'blau' }, ['body.colour', 'body.title']],
    [{ location: { ...newEvent().location, postcode: '1011' } }, ['body.location.postcode']],
    [{ participants: [{ name: 'Ohne Verweise' }] }, ['body.participants.0.facility', 'body.participants.0.organisation']]
  ]
  for (const [change, fields] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(key), payload: { ...newEvent(), ...change } })
    t.equal(res.statusCode, 400, JSON.stringify(change))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(fieldsOf(res), fields, JSON.stringify(change))
  }
  t.equal((await getJson(app, '/v1/events')).body.total, 1, 'nothing was written')
})

t.test('POST /v1/events (422) checks times, references and the slug', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const cases: [Record<string, unknown>, { field: string, message: string }[]][] = [
    [{ startsAt: '2026-03-11T10:00:00+02:00', endsAt: '2026-03-11T12:00:00+01:00' }, [
      { field: 'body.startsAt', message: 'is not a local time of Europe/Berlin: at that instant the offset is +01:00, not +02:00' }
    ]],
    [{ startsAt: '2026-07-01T10:00:00+01:00', endsAt: null }, [
      { field: 'body.startsAt', message: 'is not a local time of Europe/Berlin: at that instant the offset is +02:00, not +01:00' }
    ]],
    // The clocks went from 02:00 to 03:00 on 29 March 2026: 02:30 did not happen in Berlin.
    [{ startsAt: '2026-03-29T02:30:00+01:00', endsAt: null }, [
      { field: 'body.startsAt', message: 'is not a local time of Europe/Berlin: at that instant the offset is +02:00, not +01:00' }
    ]],
    [{ startsAt: '2026-03-29T02:30:00+02:00', endsAt: null }, [
      { field: 'body.startsAt', message: 'is not a local time of Europe/Berlin: at that instant the offset is +01:00, not +02:00' }
    ]],
    [{ endsAt: '2026-03-11T09:59:00+01:00' }, [{ field: 'body.endsAt', message: 'must not be before startsAt' }]],
    [{ agreement: 'keine-vereinbarung' }, [{ field: 'body.agreement', message: 'no agreement \'keine-vereinbarung\'' }]],
    [{ slug: EVENT_SLUG }, [{ field: 'body.slug', message: `is already used by event ${EVENT_ID}` }]],
    [{ location: { ...newEvent().location, site: 'kein-standort' } }, [{ field: 'body.location.site', message: 'no organisation site \'kein-standort\'' }]],
    [{ participants: [{ name: 'Doppelt', organisation: 'jobcenter-berlin-mitte', facility: 'kreativhaus' }, { name: 'Unbekannt', organisation: 'keine-organisation', facility: 'keine-einrichtung' }] }, [
      { field: 'body.participants.0', message: 'names both an organisation and a facility; a participant is one of them' },
      { field: 'body.participants.1', message: 'names both an organisation and a facility; a participant is one of them' },
      { field: 'body.participants.1.organisation', message: 'no organisation \'keine-organisation\'' },
      { field: 'body.participants.1.facility', message: 'no facility \'keine-einrichtung\'' }
    ]]
  ]
  for (const [change, errors] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(key), payload: { ...newEvent(), ...change } })
    t.equal(res.statusCode, 422, JSON.stringify(change))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(res.json().errors, errors, JSON.stringify(change))
  }
  const autumn = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(key), payload: { ...newEvent('herbst-2026'), startsAt: '2026-10-25T02:30:00+01:00', endsAt: '2026-10-25T02:15:00+02:00' } })
  t.equal(autumn.statusCode, 422, 'on the night the clocks go back, 02:15 in summer time is before 02:30 in winter time')
  t.same(autumn.json().errors, [{ field: 'body.endsAt', message: 'must not be before startsAt' }])
  t.equal((await getJson(app, '/v1/events')).body.total, 1, 'nothing was written')
})

t.test('event writes need a key (401) with admin or directory:write (403)', async (t) => {
  const app = await buildTestApp(t)
  const etag = await etagOf(app, EVENT_URL)
  const writes = (headers: Record<string, string>) => [
    app.inject({ method: 'POST', url: '/v1/events', headers, payload: newEvent() }),
    app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...headers, 'if-match': etag }, payload: { title: 'Versuch' } }),
    app.inject({ method: 'DELETE', url: EVENT_URL, headers: { ...headers, 'if-match': etag } })
  ]
  for (const res of await Promise.all(writes({}))) {
    t.equal(res.statusCode, 401)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().type, '/problems/api-key-required')
  }
  for (const res of await Promise.all(writes(bearer(UNKNOWN_KEY)))) t.equal(res.json().type, '/problems/invalid-api-key')
  // Kreativhaus took part in the event, yet its key does not write events.
  for (const scopes of [['contacts:read-internal'], [`facility:${KREATIVHAUS}:write`]]) {
    const { key } = createKey(app, scopes, 'Eingeschränkt')
    for (const res of await Promise.all(writes(bearer(key)))) {
      t.equal(res.statusCode, 403, scopes.join())
      t.equal(res.headers['content-type'], PROBLEM_JSON)
      t.match(res.json().detail, /'Eingeschränkt' may not (create|change|delete) events \(needs admin or directory:write\)/)
    }
  }
  t.equal(await etagOf(app, EVENT_URL), etag, 'nothing was written')
  t.equal((await getJson(app, '/v1/events')).body.total, 1)
})

t.test('PATCH /v1/events/{idOrSlug} needs If-Match (428, 412), merges the location and replaces the participants', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['admin'], 'Koordination')
  const read = await app.inject(EVENT_URL)
  const before = read.json()
  const agreementBefore = (await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body
  const patch = {
    location: { name: 'JobCenter Mitte, Seydelstraße' },
    participants: [before.participants[2], { name: 'JobCenter Mitte', organisation: 'jobcenter-berlin-mitte', facility: null }].map((p: any) => ({ name: p.name, organisation: p.organisation?.slug ?? p.organisation, facility: p.facility?.slug ?? p.facility }))
  }
  t.equal((await app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...bearer(key), ...MERGE_PATCH }, payload: patch })).statusCode, 428)
  t.equal((await app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...bearer(key), 'if-match': '"alt"' }, payload: patch })).statusCode, 412)
  t.equal(await etagOf(app, EVENT_URL), read.headers.etag, 'nothing was written')
  const seq = app.dataVersion().seq
  const res = await app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...bearer(key), ...MERGE_PATCH, 'if-match': String(read.headers.etag) }, payload: patch })
  t.equal(res.statusCode, 200)
  const event = res.json()
  t.same(event.location, { ...before.location, name: 'JobCenter Mitte, Seydelstraße' }, 'the site stays')
  t.same(event.participants, [before.participants[2], before.participants[0]])
  t.equal(event.title, before.title)
  t.ok(event.updatedAt > before.updatedAt)
  const again = await app.inject(EVENT_URL)
  t.same(again.json(), event)
  t.equal(again.headers.etag, res.headers.etag)
  t.same(await feedSince(app, seq), [['event', EVENT_ID, 'update']], 'the agreement lists neither location nor participants')
  t.equal((await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body.updatedAt, agreementBefore.updatedAt)
  const history = (await getJson(app, `${EVENT_URL}/history`)).body.items
  t.equal(history.length, 1)
  t.same(history[0].actor, { keyId, name: 'Koordination' })
  t.same(Object.keys(history[0].changes).sort(), ['location', 'participants'])
  t.equal(history[0].changes.participants.old.length, 11)
  t.same(history[0].changes.participants.new, [{ name: 'Kreativhaus', organisation: null, facility: 'kreativhaus' }, { name: 'JobCenter Mitte', organisation: 'jobcenter-berlin-mitte', facility: null }])

  const seq2 = app.dataVersion().seq
  const renamed = await app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...bearer(key), 'if-match': String(res.headers.etag) }, payload: { title: 'Voneinander wissen in Mitte', endsAt: null } })
  t.equal(renamed.statusCode, 200)
  t.equal(renamed.json().endsAt, null)
  t.same(await feedSince(app, seq2), [['event', EVENT_ID, 'update'], ['agreement', AGREEMENT_ID, 'update']], 'the agreement lists the title')
  t.equal((await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body.events[0].title, 'Voneinander wissen in Mitte')

  const seq3 = app.dataVersion().seq
  const detached = await app.inject({ method: 'PATCH', url: `/v1/events/${EVENT_ID}`, headers: { ...bearer(key), 'if-match': String(renamed.headers.etag) }, payload: { agreement: null, slug: 'voneinander-wissen-2020' } })
  t.equal(detached.statusCode, 200)
  t.equal(detached.json().agreement, null)
  t.same((await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body.events, [])
  t.same(await feedSince(app, seq3), [['event', EVENT_ID, 'update'], ['agreement', AGREEMENT_ID, 'update']])
  t.equal((await app.inject(EVENT_URL)).statusCode, 404, 'the old slug is gone')
  t.equal((await app.inject(`${EVENT_URL}/history`)).statusCode, 404, 'the history answers to the current slug')
  t.equal((await getJson(app, '/v1/events/voneinander-wissen-2020/history')).body.items.length, 3)
  t.equal((await getJson(app, `/v1/events/${EVENT_ID}/history`)).body.items.length, 3)
})

t.test('PATCH /v1/events/{idOrSlug} (422) for an invalid merged event, (400) for a malformed patch, (404) unknown events', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const create = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(key), payload: newEvent() })
  const etag = String(create.headers.etag)
  const send = (payload: unknown) => app.inject({ method: 'PATCH', url: '/v1/events/testtreffen-2026', headers: { ...bearer(key), 'if-match': etag }, payload: payload as object })
  const late = await send({ startsAt: '2026-03-11T13:00:00+01:00' })
  t.equal(late.statusCode, 422, 'the kept end is before the new start')
  t.same(late.json().errors, [{ field: 'body.endsAt', message: 'must not be before startsAt' }])
  const taken = await send({ slug: EVENT_SLUG })
  t.equal(taken.statusCode, 422)
  t.same(taken.json().errors, [{ field: 'body.slug', message: `is already used by event ${EVENT_ID}` }])
  const cleared = await send({ title: null, participants: null, location: { site: 'kein-standort' } })
  t.equal(cleared.statusCode, 422)
  t.same(fieldsOf(cleared), ['body.participants', 'body.title'], 'the schema first, the references after')
  const malformed = await send({ location: { floor: 2 }, timeZone: 'UTC' })
  t.equal(malformed.statusCode, 400)
  t.same(fieldsOf(malformed), ['body.location.floor', 'body.timeZone'])
  t.equal(await etagOf(app, '/v1/events/testtreffen-2026'), etag, 'nothing was written')
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/events/kein-treffen', headers: { ...bearer(key), 'if-match': etag }, payload: { title: 'x' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/events/kein-treffen', headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  t.equal((await app.inject('/v1/events/kein-treffen/history')).statusCode, 404)
})

t.test('DELETE /v1/events/{idOrSlug} (204) is a soft delete with tombstone, feed entry and history', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const since = new Date().toISOString()
  t.equal((await app.inject({ method: 'DELETE', url: EVENT_URL, headers: bearer(key) })).statusCode, 428)
  t.equal((await app.inject({ method: 'DELETE', url: EVENT_URL, headers: { ...bearer(key), 'if-match': '"alt"' } })).statusCode, 412)
  const etag = await etagOf(app, EVENT_URL)
  const agreementBefore = (await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body
  const seq = app.dataVersion().seq
  const res = await app.inject({ method: 'DELETE', url: EVENT_URL, headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject(EVENT_URL)).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: EVENT_URL, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  t.equal((await getJson(app, '/v1/events')).body.total, 0)
  const changes = (await getJson(app, `/v1/events?updatedSince=${encodeURIComponent(since)}`)).body.items
  t.same(changes.map((e: any) => [e.id, e.deleted]), [[EVENT_ID, true]])
  const agreement = (await getJson(app, `/v1/agreements/${AGREEMENT_SLUG}`)).body
  t.same(agreement.events, [])
  t.ok(agreement.updatedAt > agreementBefore.updatedAt)
  t.same(await feedSince(app, seq), [['event', EVENT_ID, 'delete'], ['agreement', AGREEMENT_ID, 'update']])
  const history = (await getJson(app, `${EVENT_URL}/history`)).body
  t.equal(history.id, EVENT_ID)
  t.equal(history.items.at(-1).action, 'delete')
  t.same(history.items.at(-1).changes.slug, { old: EVENT_SLUG, new: null })
  const again = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(key), payload: newEvent(EVENT_SLUG) })
  t.equal(again.statusCode, 422, 'the slug of a deleted event stays taken')
})

t.test('POST /v1/events with Idempotency-Key returns the first result on retry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const headers = { ...bearer(key), 'idempotency-key': 'testtreffen-2026-1' }
  const first = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: newEvent() })
  const retry = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: newEvent() })
  t.equal(first.statusCode, 201)
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.json().id, first.json().id)
  t.equal(retry.headers.location, first.headers.location)
  t.equal((await getJson(app, '/v1/events')).body.total, 2, 'no duplicate')
  const other = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: newEvent('anderes-treffen') })
  t.equal(other.statusCode, 422)
  t.equal(other.json().type, '/problems/idempotency-key-reused')
})

t.test('PATCH /v1/events/{idOrSlug} keeps the stored links of participants it does not change', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  softDeleteFacility(app, KREATIVHAUS)
  const read = await app.inject(EVENT_URL)
  t.same(read.json().participants[2], { name: 'Kreativhaus', organisation: null, facility: null }, 'the link to a deleted facility is hidden')
  const res = await app.inject({ method: 'PATCH', url: EVENT_URL, headers: { ...bearer(key), 'if-match': String(read.headers.etag) }, payload: { description: 'Geändert im Test.' } })
  t.equal(res.statusCode, 200)
  app.db.$client.prepare('update facilities set deleted_at = null where id = ?').run(KREATIVHAUS)
  t.equal((await getJson(app, EVENT_URL)).body.participants[2].facility.slug, 'kreativhaus', 'restored with the facility')
})

t.test('a PATCHed event is a newer revision in iCalendar (SEQUENCE grows; RFC 5545 §3.8.7.4)', async (t) => {
  const app = await buildTestApp(t)
  const key = bearer(createKey(app, ['admin']).key)
  const sequences = async () => [
    ...(await app.inject('/v1/events?format=ics')).body.matchAll(/^SEQUENCE:(\d+)\r$/gm),
    ...(await app.inject('/v1/events/voneinander-wissen-in-mitte-2020?format=ics')).body.matchAll(/^SEQUENCE:(\d+)\r$/gm),
    ...(await app.inject('/v1/agreements/kooperationsvereinbarung-2018/events?format=ics')).body.matchAll(/^SEQUENCE:(\d+)\r$/gm)
  ].map((m) => Number(m[1]))
  const before = await sequences()
  t.equal(before.length, 3, 'one event in each of the three calendars')
  t.ok(before.every((n) => n === before[0]))
  for (const title of ['Voneinander wissen (1)', 'Voneinander wissen (2)']) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/events/voneinander-wissen-in-mitte-2020', headers: { ...key, 'if-match': '*', 'content-type': 'application/merge-patch+json' }, payload: { title } })
    t.equal(res.statusCode, 200)
  }
  t.same(await sequences(), before.map((n) => n + 2), 'two revisions later')
})

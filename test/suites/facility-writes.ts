import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson } from '../helper.ts'

const KREATIVHAUS = seedId('facility', 'kreativhaus')
const newestSeq = (app: FastifyInstance) => app.db.$client.prepare('SELECT max(seq) FROM changes').pluck().get() as number

const newFacility = (slug = 'test-treff') => ({
  slug,
  name: 'Testtreff Beispielstraße',
  alternateNames: [],
  types: ['nachbarschaftstreff'],
  operator: 'stadtteilverein-tiergarten',
  operatorNote: null,
  address: { street: 'Beispielstraße 1', postcode: '10785', city: 'Berlin', ortsteil: 'Tiergarten', bezirksregion: null, note: null },
  geo: { lat: 52.5, lon: 13.36 },
  phone: '030 000000',
  fax: null,
  email: null,
  website: null,
  openingHours: { osm: 'Mo-Fr 10:00-16:00; PH off', note: null },
  description: 'Ein Testdatensatz.',
  partnership: { status: 'unknown', evidence: 'Testdatensatz ohne Quelle.' },
  status: 'active',
  notes: [],
  targetGroups: [{ targetGroup: 'senioren', originalWording: 'Ältere Menschen' }],
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }]
})

t.test('POST /v1/facilities (201) creates a facility with Location and ETag, in feed and history', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const seeded = newestSeq(app)
  const res = await app.inject({ method: 'POST', url: '/v1/facilities', headers: bearer(key), payload: newFacility() })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(res.headers.location, `/v1/facilities/${body.id}`)
  t.match(res.headers.etag, /^"/)
  t.equal(body.slug, 'test-treff')
  t.equal(body.operator.slug, 'stadtteilverein-tiergarten')
  t.same(body.geo, { lat: 52.5, lon: 13.36 })
  t.same(body.targetGroups.map((g: any) => [g.slug, g.originalWording]), [['senioren', 'Ältere Menschen']])
  const read = await app.inject(`/v1/facilities/${body.id}`)
  t.same(read.json(), body)
  t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
  t.equal((await getJson(app, '/v1/facilities?q=Testtreff')).body.items[0].id, body.id, 'searchable at once')
  const feed = (await getJson(app, `/v1/changes?since=${seeded}&entityType=facility`)).body
  t.same(feed.items.map((c: any) => [c.entityId, c.action]), [[body.id, 'create']])
  const actor = app.db.$client.prepare('select actor from changes where entity_id = ?').pluck().all(body.id)
  t.same(actor, [keyId], 'the change-feed entry records the acting key (not shown publicly)')
  t.notOk('actor' in feed.items[0])
  t.equal(app.db.$client.prepare('select count(*) from write_context').pluck().get(), 0, 'the actor does not outlive the transaction')
  const history = (await getJson(app, `/v1/facilities/${body.id}/history`)).body
  t.equal(history.items.length, 1)
  t.same(history.items[0].actor, { keyId, name: 'Bezirksamt Test' })
  t.equal(history.items[0].action, 'create')
  t.same(history.items[0].changes.name, { old: null, new: 'Testtreff Beispielstraße' })
})

t.test('POST /v1/facilities (400, 422) rejects invalid records with each field', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const missing = await app.inject({ method: 'POST', url: '/v1/facilities', headers: bearer(key), payload: { ...newFacility(), name: undefined, types: [] } })
  t.equal(missing.statusCode, 400)
  t.equal(missing.headers['content-type'], PROBLEM_JSON)
  t.same(missing.json().errors.map((e: any) => e.field).sort(), ['body.name', 'body.types'])
  const semantic = await app.inject({
    method: 'POST',
    url: '/v1/facilities',
    headers: bearer(key),
    payload: { ...newFacility('kreativhaus'), operator: 'no-such-operator', targetGroups: [{ targetGroup: 'aliens', originalWording: 'x' }], openingHours: { osm: 'whenever', note: null } }
  })
  t.equal(semantic.statusCode, 422)
  t.equal(semantic.headers['content-type'], PROBLEM_JSON)
  t.same(semantic.json().errors.map((e: any) => e.field), ['body.slug', 'body.operator', 'body.targetGroups.0.targetGroup', 'body.openingHours.osm'])
  t.equal((await getJson(app, '/v1/facilities')).body.total, 14, 'nothing was written')
})

t.test('POST /v1/facilities with Idempotency-Key returns the first result on retry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const headers = { ...bearer(key), 'idempotency-key': 'create-test-treff-1' }
  const first = await app.inject({ method: 'POST', url: '/v1/facilities', headers, payload: newFacility() })
  const retry = await app.inject({ method: 'POST', url: '/v1/facilities', headers, payload: newFacility() })
  t.equal(first.statusCode, 201)
  t.equal(retry.statusCode, 201)
  t.equal(retry.json().id, first.json().id)
  t.equal(retry.headers.location, first.headers.location)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal((await getJson(app, '/v1/facilities?q=Testtreff')).body.total, 1, 'no duplicate')
  const other = await app.inject({ method: 'POST', url: '/v1/facilities', headers, payload: newFacility('test-other') })
  t.equal(other.statusCode, 422)
  t.equal(other.json().type, '/problems/idempotency-key-reused')
})

t.test('PATCH /v1/facilities/{idOrSlug} needs If-Match (428), rejects stale ETags (412), applies merge patches', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const read = await app.inject('/v1/facilities/kreativhaus')
  const etag = String(read.headers.etag)
  const patch = { phone: null, address: { ortsteil: 'Mitte', note: 'Geändert im Test.' }, notes: ['Eine Notiz'] }
  const noMatch = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json' }, payload: patch })
  t.equal(noMatch.statusCode, 428)
  t.equal(noMatch.headers['content-type'], PROBLEM_JSON)
  const stale = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': '"stale"' }, payload: patch })
  t.equal(stale.statusCode, 412)
  t.equal((await app.inject('/v1/facilities/kreativhaus')).headers.etag, etag, 'nothing was written')
  // If-None-Match on a write (RFC 9110 §13.2.2): `*` or the current ETag fails it.
  for (const noneMatch of ['*', etag, `W/${etag}`, `"other", ${etag}`]) {
    const refused = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': etag, 'if-none-match': noneMatch, 'content-type': 'application/merge-patch+json' }, payload: patch })
    t.equal(refused.statusCode, 412, `If-None-Match: ${noneMatch}`)
    t.equal(refused.json().type, '/problems/precondition-failed')
  }
  t.equal((await app.inject('/v1/facilities/kreativhaus')).headers.etag, etag, 'nothing was written')
  const ok = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': etag, 'content-type': 'application/merge-patch+json' }, payload: patch })
  t.equal(ok.statusCode, 200)
  const updated = ok.json()
  t.equal(updated.phone, null, 'null clears a member')
  t.same(updated.address, { street: 'Fischerinsel 3', postcode: '10179', city: 'Berlin', ortsteil: 'Mitte', bezirksregion: null, note: 'Geändert im Test.' }, 'nested objects merge')
  t.same(updated.notes, ['Eine Notiz'], 'arrays replace')
  t.equal(updated.serviceCount, 20)
  t.not(ok.headers.etag, etag)
  t.ok(updated.updatedAt > read.json().updatedAt)
  const history = (await getJson(app, '/v1/facilities/kreativhaus/history')).body.items
  t.equal(history.length, 1)
  t.same(history[0].changes.phone, { old: '030 / 238 09 13', new: null })
  t.same(Object.keys(history[0].changes).sort(), ['address', 'notes', 'phone'])
  const invalid = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': String(ok.headers.etag) }, payload: { name: null } })
  t.equal(invalid.statusCode, 422, 'the merged record must be valid')
  t.same(invalid.json().errors.map((e: any) => e.field), ['body.name'])
  const unknownField = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': String(ok.headers.etag) }, payload: { colour: 'blue' } })
  t.equal(unknownField.statusCode, 400)
})

t.test('two writers with the same ETag: one wins, the other gets 412', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const etag = String((await app.inject('/v1/facilities/shk-mitte')).headers.etag)
  const send = (email: string) => app.inject({ method: 'PATCH', url: '/v1/facilities/shk-mitte', headers: { ...bearer(key), 'if-match': etag }, payload: { email } })
  const [a, b] = await Promise.all([send('a@example.org'), send('b@example.org')])
  t.same([a.statusCode, b.statusCode].sort(), [200, 412])
  const winner = a.statusCode === 200 ? 'a@example.org' : 'b@example.org'
  t.equal((await getJson(app, '/v1/facilities/shk-mitte')).body.email, winner)
  t.equal((await getJson(app, '/v1/facilities/shk-mitte/history')).body.items.length, 1)
})

t.test('DELETE /v1/facilities/{idOrSlug} is a soft delete with tombstone and feed entry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = new Date().toISOString()
  const seeded = newestSeq(app)
  // A facility that no contact, agreement party or event names.
  const url = '/v1/facilities/familienzentrum-moabit-ost'
  const id = seedId('facility', 'familienzentrum-moabit-ost')
  const services = (await getJson(app, `${url}/services`)).body.items.map((s: { id: string }) => s.id)
  t.ok(services.length > 0)
  t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(key) })).statusCode, 428)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': '"x"' } })).statusCode, 412)
  const etag = String((await app.inject(url)).headers.etag)
  const res = await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject(url)).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  const changes = (await getJson(app, `/v1/facilities?updatedSince=${since}`)).body.items
  t.same(changes.map((i: any) => [i.id, i.deleted]), [[id, true]])
  const serviceTombstones = (await getJson(app, `/v1/services?updatedSince=${since}`)).body.items
  t.same(serviceTombstones.map((i: any) => [i.id, i.deleted]).sort(), services.map((s: string) => [s, true]).sort(), 'its services go with it')
  const feed = (await getJson(app, `/v1/changes?since=${seeded}`)).body.items
  t.same(feed.filter((c: any) => c.entityType === 'facility').map((c: any) => [c.entityId, c.action]), [[id, 'delete']])
  t.same(feed.filter((c: any) => c.entityType === 'service').map((c: any) => [c.entityId, c.action]).sort(), services.map((s: string) => [s, 'delete']).sort(), 'a delete of each service in the feed')
  t.equal(feed.length, 1 + services.length)
  const history = (await getJson(app, `${url}/history`)).body.items
  t.equal(history.at(-1).action, 'delete')
  for (const service of services) {
    const last = (await getJson(app, `/v1/services/${service}/history`)).body.items.at(-1)
    t.equal(last.action, 'delete', 'and in each service\'s history')
    t.equal(last.changes.name.new, null)
    t.type(last.changes.name.old, 'string', 'with what it was')
  }
})

t.test('DELETE /v1/facilities/{idOrSlug} (409) while contacts, agreement parties or events name it; nothing changes', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const seeded = newestSeq(app)
  const read = async () => ({ facility: (await getJson(app, '/v1/facilities/kreativhaus')).body, agreement: (await getJson(app, '/v1/agreements')).body, events: (await getJson(app, '/v1/events')).body, contacts: (await getJson(app, '/v1/contacts')).body })
  const before = await read()
  const etag = String((await app.inject('/v1/facilities/kreativhaus')).headers.etag)
  const res = await app.inject({ method: 'DELETE', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 409)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(res.json().type, '/problems/still-in-use')
  t.match(res.json().detail, /^The facility 'kreativhaus' is still named by the contact [0-9a-f-]{36}, the agreement party 'Kreativhaus' \([0-9a-f-]{36}\) and the event voneinander-wissen-in-mitte-2020;/)
  t.same(await read(), before, 'nothing changed')
  t.equal(newestSeq(app), seeded, 'no change in the feed')
  // Once the party, the event's participant and the contact are gone, it can go.
  const admin = bearer(createKey(app, ['directory:write', 'admin']).key)
  const party = before.agreement.items[0].parties.find((p: { facility: { slug: string } | null }) => p.facility?.slug === 'kreativhaus')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/agreement-parties/${party.id}`, headers: { ...admin, 'if-match': '*' } })).statusCode, 204)
  const again = await app.inject({ method: 'DELETE', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'if-match': '*' } })
  t.equal(again.statusCode, 409)
  t.match(again.json().detail, /still named by the contact [0-9a-f-]{36} and the event voneinander-wissen-in-mitte-2020;/)
})

t.test('POST /v1/facilities/{idOrSlug}/verification records a verification without touching updatedAt', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, [`facility:${KREATIVHAUS}:write`], 'Kreativhaus Team')
  const before = (await getJson(app, '/v1/facilities/kreativhaus')).body
  const res = await app.inject({ method: 'POST', url: '/v1/facilities/kreativhaus/verification', headers: bearer(key), payload: {} })
  t.equal(res.statusCode, 200)
  const after = res.json()
  t.equal(after.verifiedBy, 'Kreativhaus Team')
  t.ok(Date.parse(after.verifiedAt) > 0)
  t.equal(after.updatedAt, before.updatedAt)
  const quality = (await getJson(app, '/v1/data-quality')).body
  t.equal(quality.facilities.find((f: any) => f.facility.slug === 'kreativhaus').verificationDue, false)
  const named = await app.inject({ method: 'POST', url: '/v1/facilities/kreativhaus/verification', headers: bearer(key), payload: { verifiedBy: 'Leitung Kreativhaus' } })
  t.equal(named.json().verifiedBy, 'Leitung Kreativhaus')
})

t.test('every seeded facility can be written back as it is (its writable form validates)', async (t) => {
  const { Value } = await import('typebox/value')
  const { FacilityInputSchema } = await import('../../src/schemas/facilities.ts')
  const { writableOf } = await import('../../src/repositories/facilities-repository.ts')
  const app = await buildTestApp(t)
  const { body } = await getJson(app, '/v1/facilities?limit=500')
  for (const facility of body.items) t.ok(Value.Check(FacilityInputSchema, writableOf(facility)), facility.slug)
})

t.test('malformed, oversized and non-JSON bodies are problem+json and write nothing', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const malformed = await app.inject({ method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: '{"slug": "x",' })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.headers['content-type'], PROBLEM_JSON)
  const huge = await app.inject({ method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: JSON.stringify({ ...newFacility(), description: 'x'.repeat(2 * 1024 * 1024) }) })
  t.equal(huge.statusCode, 413)
  t.equal(huge.headers['content-type'], PROBLEM_JSON)
  const text = await app.inject({ method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(text.statusCode, 415)
  t.equal(text.headers['content-type'], PROBLEM_JSON)
  t.equal((await getJson(app, '/v1/facilities')).body.total, 14)
})

t.test('a body value of the wrong JSON type is a 400, never converted (query strings are)', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const before = (await getJson<Record<string, unknown>>(app, '/v1/facilities/kreativhaus')).body
  const patch = (payload: unknown) => app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': '*' }, payload: payload as object })
  for (const [payload, field] of [
    [{ name: 5 }, 'body.name'],
    [{ name: true }, 'body.name'],
    [{ types: 'familienzentrum' }, 'body.types'],
    [{ geo: { lat: '52.5', lon: 13.4 } }, 'body.geo.lat']
  ] as const) {
    const r = await patch(payload)
    t.equal(r.statusCode, 400, JSON.stringify(payload))
    t.equal(r.headers['content-type'], PROBLEM_JSON)
    t.ok(r.json().errors.some((e: { field: string }) => e.field === field), `${field} is named`)
  }
  const created = await app.inject({ method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: { ...newFacility(), name: 12345 } })
  t.equal(created.statusCode, 400)
  t.same((await getJson(app, '/v1/facilities/kreativhaus')).body, before, 'nothing was written')
  t.equal((await getJson(app, '/v1/facilities')).body.total, 14)
  // Query strings are text: a number or a single value is read as the schema says.
  const page = await getJson<{ limit: number, items: unknown[] }>(app, '/v1/facilities?limit=3&type=familienzentrum')
  t.equal(page.res.statusCode, 200)
  t.equal(page.body.limit, 3)
})

t.test('a body with very many errors gets a short answer: the first 20 fields and how many more', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const patch = (payload: string) => app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': '*' }, payload })
  // Near the 1 MiB limit: the first failure only, not one error per item.
  const huge = await patch(`{"types":[${Array(300_000).fill('1').join(',')}]}`)
  t.equal(huge.statusCode, 400)
  t.equal(huge.headers['content-type'], PROBLEM_JSON)
  t.ok(huge.body.length < 2000, `${huge.body.length} bytes`)
  t.same(huge.json().errors, [{ field: 'body.types', message: 'must NOT have more than 10 items' }])
  // An ordinary body: every failing field, up to 20, and the count of the others.
  const many = await patch(JSON.stringify(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`unknown${i}`, 1]))))
  t.equal(many.statusCode, 400)
  t.equal(many.json().errors.length, 20)
  t.match(many.json().detail, /; and 10 more\.$/)
  // Query strings: repeated invalid values are capped the same way.
  const query = await app.inject(`/v1/facilities?${Array(1700).fill('type=%21').join('&')}`)
  t.equal(query.statusCode, 400)
  t.ok(query.json().errors.length <= 20)
})

t.test('renaming a target group or an operator shows up in the facilities sync (updatedSince)', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = new Date().toISOString()
  const groupEtag = String((await app.inject('/v1/target-groups/studierende')).headers.etag)
  const renamed = await app.inject({ method: 'PATCH', url: '/v1/target-groups/studierende', headers: { ...bearer(key), 'if-match': groupEtag }, payload: { labelDe: 'Studentinnen und Studenten' } })
  t.equal(renamed.statusCode, 200)
  const changed = (await getJson(app, `/v1/facilities?updatedSince=${since}`)).body.items
  t.same(changed.map((f: any) => f.slug), ['meerbaum-haus'], 'the one facility serving students')
  t.equal(changed[0].targetGroups.find((g: any) => g.slug === 'studierende').labelDe, 'Studentinnen und Studenten')
  t.equal((await getJson(app, '/v1/facilities?q=Studentinnen')).body.items[0].slug, 'meerbaum-haus', 'and searchable by the new label')
  const orgEtag = String((await app.inject('/v1/organisations/stadtrand')).headers.etag)
  const since2 = new Date().toISOString()
  await app.inject({ method: 'PATCH', url: '/v1/organisations/stadtrand', headers: { ...bearer(key), 'if-match': orgEtag }, payload: { name: 'StadtRand gGmbH (Test)' } })
  const operated = (await getJson(app, `/v1/facilities?updatedSince=${since2}`)).body.items
  t.same(operated.map((f: any) => [f.slug, f.operator.name]), [['shk-mitte', 'StadtRand gGmbH (Test)']])
})

t.test('bodies with control characters or lone surrogates are 400 (nothing written); real characters pass', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const seeded = newestSeq(app)
  const post = (text: string) => app.inject({ method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: text })
  const body = (name: string, description: string) => JSON.stringify({ ...newFacility(), name, description })
  for (const [what, text, field, message] of [
    ['NUL in a name', JSON.stringify({ ...newFacility(), name: 'Treff\u0000' }), 'body.name', 'contains the control character U+0000'],
    ['BEL in a nested text', JSON.stringify({ ...newFacility(), address: { ...newFacility().address, street: 'Weg\u0007 1' } }), 'body.address.street', 'contains the control character U+0007'],
    ['a lone high surrogate', JSON.stringify({ ...newFacility(), description: 'x\ud800y' }), 'body.description', 'contains a lone UTF-16 surrogate (not a character)'],
    ['a lone low surrogate in an array', JSON.stringify({ ...newFacility(), alternateNames: ['ok', '\udc00'] }), 'body.alternateNames.1', 'contains a lone UTF-16 surrogate (not a character)'],
    ['a control character in a member name', '{"na\\u0001me": "x"}', 'body', 'has a member name that contains the control character U+0001'],
    ['a backspace as a short escape', '{"description": "a\\bb"}', 'body.description', 'contains the control character U+0008'],
    ['a form feed as a short escape', '{"description": "a\\fb"}', 'body.description', 'contains the control character U+000C'],
    ['a raw DEL', '{"description": "a\u007fb"}', 'body.description', 'contains the control character U+007F'],
    ['a raw C1 control', '{"description": "a\u0085b"}', 'body.description', 'contains the control character U+0085']
  ] as const) {
    const res = await post(text)
    t.equal(res.statusCode, 400, what)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(res.json().errors, [{ field, message }], what)
  }
  const patch = await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': '*' }, payload: '{"notes": ["\\ud83d"]}' })
  t.equal(patch.statusCode, 400, 'merge patches too')
  t.same(patch.json().errors, [{ field: 'body.notes.0', message: 'contains a lone UTF-16 surrogate (not a character)' }])
  t.equal(newestSeq(app), seeded, 'nothing was written')
  // A surrogate pair (an emoji, here escaped as two \u escapes), tabs and line breaks are text.
  const fine = await post(body('Treff \ud83c\udf33', 'Zeile 1\n\tZeile 2\r\n').replace('🌳', '\\ud83c\\udf33'))
  t.equal(fine.statusCode, 201, fine.body.slice(0, 200))
  const read = (await getJson(app, `/v1/facilities/${fine.json().id}`)).body
  t.equal(read.name, 'Treff 🌳')
  t.equal(read.description, 'Zeile 1\n\tZeile 2\r\n')
})

t.test('PATCH of a facility\'s name or slug gives each of its services a feed entry; other fields do not', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const services = (await getJson(app, '/v1/facilities/shk-mitte/services?limit=500')).body.items.map((s: { id: string }) => s.id).sort()
  t.ok(services.length > 0)
  const feedAfter = async (seq: number) => (await getJson(app, `/v1/changes?since=${seq}&limit=1000`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])
  const patch = async (body: object) => {
    const res = await app.inject({ method: 'PATCH', url: `/v1/facilities/${seedId('facility', 'shk-mitte')}`, headers: { ...bearer(key), 'if-match': '*', 'content-type': 'application/merge-patch+json' }, payload: body })
    t.equal(res.statusCode, 200)
  }
  let seq = newestSeq(app)
  await patch({ fax: '030 123' })
  t.same(await feedAfter(seq), [['facility', seedId('facility', 'shk-mitte'), 'update']], 'a fax: the facility only')
  for (const body of [{ name: 'SHK Mitte (umbenannt)' }, { slug: 'shk-mitte-neu' }]) {
    seq = newestSeq(app)
    await patch(body)
    const feed = await feedAfter(seq)
    t.same(feed[0], ['facility', seedId('facility', 'shk-mitte'), 'update'])
    t.same(feed.slice(1).map((c: string[]) => c[1]).sort(), services, `${Object.keys(body)[0]}: every service follows`)
    t.ok(feed.slice(1).every((c: string[]) => c[0] === 'service' && c[2] === 'update'))
  }
  const shown = (await getJson(app, `/v1/services/${services[0]}`)).body.facility
  t.same([shown.name, shown.slug], ['SHK Mitte (umbenannt)', 'shk-mitte-neu'])
})

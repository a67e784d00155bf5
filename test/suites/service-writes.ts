import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { seedId } from '../../src/lib/uuid.ts'
import { writableOf } from '../../src/repositories/services-repository.ts'
import { ServiceInputSchema } from '../../src/schemas/services.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson, testServiceInput } from '../helper.ts'

const KREATIVHAUS = seedId('facility', 'kreativhaus')
const SHK = seedId('facility', 'shk-mitte')
const SENIORENANGEBOTE = seedId('service', 'kreativhaus/seniorenangebote')
const ALL_SERVICES = 114

const newService = testServiceInput

const lastSeq = (app: FastifyInstance) => app.db.$client.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck().get() as number
const feedSince = async (app: FastifyInstance, since: number) =>
  (await getJson(app, `/v1/changes?since=${since}&limit=1000`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])
const etagOf = async (app: FastifyInstance, url: string) => String((await app.inject(url)).headers.etag)
const historyOf = async (app: FastifyInstance, id: string) => (await getJson(app, `/v1/services/${id}/history`)).body.items
const countServices = async (app: FastifyInstance) => (await getJson(app, '/v1/services?limit=1')).body.total

t.test('POST /v1/services (201) creates a service with Location and ETag, searchable, in feed and history', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const since = lastSeq(app)
  const facilityBefore = (await getJson(app, '/v1/facilities/kreativhaus')).body
  const res = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService() })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(res.headers.location, `/v1/services/${body.id}`)
  t.match(res.headers.etag, /^"/)
  t.same(body.facility, { id: KREATIVHAUS, slug: 'kreativhaus', name: facilityBefore.name })
  t.same(body.category, { id: seedId('category', 'begegnung'), slug: 'begegnung', labelDe: 'Begegnung', labelEn: 'Meeting and socialising' })
  t.same(body.targetGroups.map((g: any) => [g.slug, g.originalWording]), [['familien', 'Familien'], ['senioren', 'Ältere Menschen']])
  t.equal(body.scheduleNote, 'montags 10–12 Uhr')
  t.equal(body.asOf, '2025/2026')
  t.equal(body.createdAt, body.updatedAt)

  const read = await app.inject(`/v1/services/${body.id}`)
  t.same(read.json(), body, 'what was stored is what was answered')
  t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
  t.equal(await countServices(app), ALL_SERVICES + 1)
  const hits = (await getJson(app, '/v1/services?q=Zaubergarten')).body
  t.same(hits.items.map((s: any) => s.id), [body.id], 'searchable at once')
  const facilityHits = (await getJson(app, '/v1/facilities?q=Zaubergarten')).body
  t.same(facilityHits.items.map((f: any) => f.slug), ['kreativhaus'], 'its facility is found by the new service')
  const facilityAfter = (await getJson(app, '/v1/facilities/kreativhaus')).body
  t.equal(facilityAfter.serviceCount, facilityBefore.serviceCount + 1)
  t.equal(facilityAfter.updatedAt, facilityBefore.updatedAt, 'the facility record itself is not touched')

  t.same(await feedSince(app, since), [['service', body.id, 'create']])
  const history = await historyOf(app, body.id)
  t.equal(history.length, 1)
  t.equal(history[0].action, 'create')
  t.same(history[0].actor, { keyId, name: 'Bezirksamt Test' })
  t.same(history[0].changes.name, { old: null, new: 'Testangebot Zaubergarten' })
  t.same(history[0].changes.facility, { old: null, new: 'kreativhaus' })
  t.same(history[0].changes.targetGroups.new, [{ targetGroup: 'familien', originalWording: 'Familien' }, { targetGroup: 'senioren', originalWording: 'Ältere Menschen' }])
})

t.test('POST /v1/services: a facility key writes its own facility\'s services only', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, [`facility:${KREATIVHAUS}:write`], 'Kreativhaus Team')
  const own = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService(KREATIVHAUS) })
  t.equal(own.statusCode, 201, 'the facility may be named by id')
  t.equal(own.json().facility.slug, 'kreativhaus')
  t.same((await historyOf(app, own.json().id))[0].actor, { keyId, name: 'Kreativhaus Team' })
  const other = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService('shk-mitte') })
  t.equal(other.statusCode, 403)
  t.equal(other.headers['content-type'], PROBLEM_JSON)
  t.equal(other.json().type, '/problems/insufficient-scope')
  t.match(other.json().detail, /shk-mitte/)
  const otherWithErrors = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: { ...newService('shk-mitte'), category: 'no-such-category' } })
  t.equal(otherWithErrors.statusCode, 403, 'the scope is checked before the other rules')
  const unknownFacility = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService('no-such-facility') })
  t.equal(unknownFacility.statusCode, 422)
  t.same(unknownFacility.json().errors.map((e: any) => e.field), ['body.facility'])
  t.equal(await countServices(app), ALL_SERVICES + 1)
})

t.test('POST /v1/services (401, 403) without a key, with an unknown key or a read-only key', async (t) => {
  const app = await buildTestApp(t)
  const since = lastSeq(app)
  const none = await app.inject({ method: 'POST', url: '/v1/services', payload: newService() })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['content-type'], PROBLEM_JSON)
  t.equal(none.json().type, '/problems/api-key-required')
  const unknown = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(`mpd_AAAAAAAAAA_${'a'.repeat(43)}`), payload: newService() })
  t.equal(unknown.statusCode, 401)
  t.equal(unknown.json().type, '/problems/invalid-api-key')
  const malformed = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer('not-a-key'), payload: newService() })
  t.equal(malformed.statusCode, 401)
  for (const scopes of [['contacts:read-internal'], ['admin']]) {
    const { key } = createKey(app, scopes)
    const res = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService('no-such-facility') })
    t.equal(res.statusCode, 403, `${scopes.join(' ')}: 403 even for a body with errors`)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
  }
  t.equal(await countServices(app), ALL_SERVICES)
  t.same(await feedSince(app, since), [], 'nothing was written')
})

t.test('POST /v1/services (400) rejects bodies that break the schema, each field listed', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const res = await app.inject({
    method: 'POST',
    url: '/v1/services',
    headers: bearer(key),
    payload: { ...newService(), name: '', status: 'sometimes', asOf: '2025-2026', colour: 'blue', sources: [{ url: 'ftp://example.org/x', title: 'x', facts: [] }] }
  })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  const fields = res.json().errors.map((e: any) => e.field)
  for (const field of ['body.name', 'body.status', 'body.asOf', 'body.colour', 'body.sources.0.url']) t.ok(fields.includes(field), field)
  const missing = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: { ...newService(), category: undefined } })
  t.equal(missing.statusCode, 400)
  t.same(missing.json().errors.map((e: any) => e.field), ['body.category'])
  t.equal(await countServices(app), ALL_SERVICES)
})

t.test('POST /v1/services (422) rejects unknown references, repeated target groups and backward spans', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = lastSeq(app)
  const res = await app.inject({
    method: 'POST',
    url: '/v1/services',
    headers: bearer(key),
    payload: {
      ...newService('no-such-facility'),
      category: 'no-such-category',
      asOf: '2026/2025',
      targetGroups: [{ targetGroup: 'aliens', originalWording: 'x' }, { targetGroup: 'senioren', originalWording: 'a' }, { targetGroup: 'senioren', originalWording: 'b' }]
    }
  })
  t.equal(res.statusCode, 422)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(res.json().type, '/problems/invalid-record')
  t.same(res.json().errors.map((e: any) => e.field), ['body.facility', 'body.category', 'body.asOf', 'body.targetGroups.0.targetGroup', 'body.targetGroups'])
  for (const [payload, field] of [
    [{ ...newService(), facility: 'kreativhaus-deleted' }, 'body.facility'],
    [{ ...newService(), category: 'no-such-category' }, 'body.category'],
    [{ ...newService(), asOf: '2026/2026' }, 'body.asOf'],
    [{ ...newService(), targetGroups: [{ targetGroup: 'aliens', originalWording: 'x' }] }, 'body.targetGroups.0.targetGroup'],
    [{ ...newService(), targetGroups: [{ targetGroup: 'senioren', originalWording: 'a' }, { targetGroup: 'senioren', originalWording: 'b' }] }, 'body.targetGroups']
  ] as const) {
    const one = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload })
    t.equal(one.statusCode, 422, field)
    t.same(one.json().errors.map((e: any) => e.field), [field])
  }
  // A deleted facility cannot get new services.
  const etag = await etagOf(app, '/v1/facilities/familienzentrum-moabit-ost')
  t.same((await feedSince(app, since)).filter(([type]: string[]) => type === 'service'), [], 'no service was written')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/facilities/familienzentrum-moabit-ost', headers: { ...bearer(key), 'if-match': etag } })).statusCode, 204)
  const afterDelete = app.dataVersion().seq
  const deleted = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService('familienzentrum-moabit-ost') })
  t.equal(deleted.statusCode, 422)
  t.same(deleted.json().errors.map((e: any) => e.field), ['body.facility'])
  t.same(await feedSince(app, afterDelete), [], 'nothing was written')
})

t.test('POST /v1/services with Idempotency-Key returns the first result on retry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const headers = { ...bearer(key), 'idempotency-key': 'create-zaubergarten-1' }
  const first = await app.inject({ method: 'POST', url: '/v1/services', headers, payload: newService() })
  const retry = await app.inject({ method: 'POST', url: '/v1/services', headers, payload: newService() })
  t.equal(first.statusCode, 201)
  t.equal(retry.statusCode, 201)
  t.equal(retry.json().id, first.json().id)
  t.equal(retry.headers.location, first.headers.location)
  t.equal(retry.headers.etag, first.headers.etag)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal((await getJson(app, '/v1/services?q=Zaubergarten')).body.total, 1, 'no duplicate')
  const other = await app.inject({ method: 'POST', url: '/v1/services', headers, payload: { ...newService(), name: 'Anderes Angebot' } })
  t.equal(other.statusCode, 422)
  t.equal(other.json().type, '/problems/idempotency-key-reused')
  const otherKey = createKey(app, ['directory:write']).key
  const sameKeyOtherActor = await app.inject({ method: 'POST', url: '/v1/services', headers: { ...bearer(otherKey), 'idempotency-key': 'create-zaubergarten-1' }, payload: newService() })
  t.equal(sameKeyOtherActor.statusCode, 201)
  t.not(sameKeyOtherActor.json().id, first.json().id, 'idempotency keys belong to one API key')
})

t.test('sources are stored in schema order: the same sources in another member order are no change', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const shuffled = [{ facts: ['name'], title: 'Test', url: 'https://example.org/test' }]
  const res = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: { ...newService(), sources: shuffled } })
  t.equal(res.statusCode, 201)
  const url = `/v1/services/${res.json().id}`
  t.equal(await etagOf(app, url), res.headers.etag)
  const since = lastSeq(app)
  const again = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': String(res.headers.etag) }, payload: { sources: shuffled } })
  t.equal(again.statusCode, 200)
  t.equal(again.headers.etag, res.headers.etag)
  t.same(await feedSince(app, since), [], 'nothing was written')
  t.equal((await historyOf(app, res.json().id)).length, 1, 'only the create')
  const seeded = `/v1/services/${SENIORENANGEBOTE}`
  const sources = (await getJson(app, seeded)).body.sources.map(({ url, title, facts }: any) => ({ facts, title, url }))
  const seededAgain = await app.inject({ method: 'PATCH', url: seeded, headers: { ...bearer(key), 'if-match': await etagOf(app, seeded) }, payload: { sources } })
  t.equal(seededAgain.statusCode, 200)
  t.same(await historyOf(app, SENIORENANGEBOTE), [], 'the seed stores sources in the same order')
})

t.test('PATCH /v1/services/{id} needs If-Match (428), rejects stale ETags (412), applies merge patches', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const read = await app.inject(url)
  const etag = String(read.headers.etag)
  const since = lastSeq(app)
  const patch = { description: null, scheduleNote: 'dienstags', targetGroups: [{ targetGroup: 'senioren', originalWording: 'Ältere' }, { targetGroup: 'nachbarschaft', originalWording: 'Nachbarschaft' }] }
  const noMatch = await app.inject({ method: 'PATCH', url, headers: bearer(key), payload: patch })
  t.equal(noMatch.statusCode, 428)
  t.equal(noMatch.headers['content-type'], PROBLEM_JSON)
  const stale = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': '"stale"' }, payload: patch })
  t.equal(stale.statusCode, 412)
  t.equal(stale.headers['content-type'], PROBLEM_JSON)
  t.equal(await etagOf(app, url), etag, 'nothing was written')

  const ok = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': etag, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(patch) })
  t.equal(ok.statusCode, 200)
  const updated = ok.json()
  t.equal(updated.description, null, 'null clears a member')
  t.equal(updated.scheduleNote, 'dienstags')
  t.equal(updated.name, 'Seniorenangebote', 'members not in the patch stay')
  t.same(updated.targetGroups.map((g: any) => [g.slug, g.originalWording]), [['nachbarschaft', 'Nachbarschaft'], ['senioren', 'Ältere']], 'arrays replace')
  t.ok(updated.updatedAt > read.json().updatedAt)
  t.not(ok.headers.etag, etag)
  const reread = await app.inject(url)
  t.same(reread.json(), updated)
  t.equal(reread.headers.etag, ok.headers.etag)
  t.same(await feedSince(app, since), [['service', SENIORENANGEBOTE, 'update']])
  t.same((await getJson(app, '/v1/services?q=Gedächtnistraining')).body.items, [], 'the old description left the search')

  const history = await historyOf(app, SENIORENANGEBOTE)
  t.equal(history.length, 1)
  t.equal(history[0].action, 'update')
  t.same(history[0].actor, { keyId, name: 'Bezirksamt Test' })
  t.same(Object.keys(history[0].changes).sort(), ['description', 'scheduleNote', 'targetGroups'])
  t.same(history[0].changes.description, { old: 'Für Ältere gibt es Gymnastik, Lachyoga, Englischkurse, Chöre und Gedächtnistraining.', new: null })
  t.same(history[0].changes.scheduleNote, { old: null, new: 'dienstags' })

  const current = String(ok.headers.etag)
  const invalid = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { name: null, status: null } })
  t.equal(invalid.statusCode, 422, 'the merged record must be valid')
  t.same(invalid.json().errors.map((e: any) => e.field).sort(), ['body.name', 'body.status'])
  const unknownCategory = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { category: 'no-such-category' } })
  t.equal(unknownCategory.statusCode, 422)
  t.same(unknownCategory.json().errors.map((e: any) => e.field), ['body.category'])
  const unknownField = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { colour: 'blue' } })
  t.equal(unknownField.statusCode, 400)
  t.same(unknownField.json().errors.map((e: any) => e.field), ['body.colour'])
  const empty = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: {} })
  t.equal(empty.statusCode, 400, 'an empty patch is no request to change anything')
  t.equal(await etagOf(app, url), current, 'the failed writes wrote nothing')
  t.equal((await historyOf(app, SENIORENANGEBOTE)).length, 1)
})

t.test('PATCH /v1/services/{id} that changes nothing writes nothing', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const read = await app.inject(url)
  const since = lastSeq(app)
  const same = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': String(read.headers.etag) }, payload: { facility: KREATIVHAUS, name: 'Seniorenangebote' } })
  t.equal(same.statusCode, 200)
  t.same(same.json(), read.json(), 'naming the same facility by id is no change')
  t.equal(same.headers.etag, read.headers.etag)
  t.same(await feedSince(app, since), [])
  t.same(await historyOf(app, SENIORENANGEBOTE), [])
})

t.test('PATCH /v1/services/{id} keeps links to deleted target groups, which no client could see', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const setDeleted = (at: string | null) => app.db.$client.prepare("UPDATE target_groups SET deleted_at = ? WHERE slug = 'senioren'").run(at)
  setDeleted(new Date().toISOString())
  t.same((await getJson(app, url)).body.targetGroups, [])
  const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': await etagOf(app, url) }, payload: { targetGroups: [{ targetGroup: 'nachbarschaft', originalWording: 'Nachbarn' }] } })
  t.equal(res.statusCode, 200)
  t.same(res.json().targetGroups.map((g: any) => g.slug), ['nachbarschaft'])
  setDeleted(null)
  t.same((await getJson(app, url)).body.targetGroups.map((g: any) => [g.slug, g.originalWording]), [['nachbarschaft', 'Nachbarn'], ['senioren', 'Seniorenangebote']])
})

t.test('PATCH /v1/services/{id} moving a service needs the scope of both facilities', async (t) => {
  const app = await buildTestApp(t)
  const kreativhausOnly = createKey(app, [`facility:${KREATIVHAUS}:write`]).key
  const shkOnly = createKey(app, [`facility:${SHK}:write`]).key
  const both = createKey(app, [`facility:${KREATIVHAUS}:write`, `facility:${SHK}:write`]).key
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const etag = await etagOf(app, url)
  const move = { facility: 'shk-mitte', name: 'Seniorenangebote Zaubergarten' }
  const denied = await app.inject({ method: 'PATCH', url, headers: { ...bearer(kreativhausOnly), 'if-match': etag }, payload: move })
  t.equal(denied.statusCode, 403, 'the scope of the old facility is not enough')
  t.match(denied.json().detail, /shk-mitte/)
  const deniedOld = await app.inject({ method: 'PATCH', url, headers: { ...bearer(shkOnly), 'if-match': etag }, payload: move })
  t.equal(deniedOld.statusCode, 403, 'nor that of the new one')
  t.match(deniedOld.json().detail, /kreativhaus/)
  t.equal(await etagOf(app, url), etag, 'nothing was written')

  const kreativhausBefore = (await getJson(app, '/v1/facilities/kreativhaus')).body.serviceCount
  const ok = await app.inject({ method: 'PATCH', url, headers: { ...bearer(both), 'if-match': etag }, payload: move })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().facility.slug, 'shk-mitte')
  t.equal((await getJson(app, '/v1/facilities/kreativhaus')).body.serviceCount, kreativhausBefore - 1)
  t.same((await getJson(app, '/v1/facilities?q=Zaubergarten')).body.items.map((f: any) => f.slug), ['shk-mitte'], 'both facilities were reindexed')
  const hit = (await getJson(app, '/v1/services?q=Zaubergarten')).body.items
  t.same(hit.map((s: any) => [s.id, s.facility.slug]), [[SENIORENANGEBOTE, 'shk-mitte']])
  t.same((await getJson(app, '/v1/services?q=Seniorenangebote%20Kreativhaus')).body.items, [], 'the service search has the new facility name')
  t.same((await historyOf(app, SENIORENANGEBOTE))[0].changes.facility, { old: 'kreativhaus', new: 'shk-mitte' })
})

t.test('PATCH /v1/services/{id} (401, 403, 404) for missing keys, foreign or read-only keys, unknown ids', async (t) => {
  const app = await buildTestApp(t)
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const etag = await etagOf(app, url)
  const payload = { feeNote: 'kostenlos' }
  t.equal((await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag }, payload })).statusCode, 401)
  t.equal((await app.inject({ method: 'PATCH', url, headers: { ...bearer(`mpd_AAAAAAAAAA_${'a'.repeat(43)}`), 'if-match': etag }, payload })).statusCode, 401)
  for (const scopes of [[`facility:${SHK}:write`], ['contacts:read-internal'], ['admin']]) {
    const { key } = createKey(app, scopes)
    const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': etag }, payload })
    t.equal(res.statusCode, 403, scopes.join(' '))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    const noMatch = await app.inject({ method: 'PATCH', url, headers: bearer(key), payload })
    t.equal(noMatch.statusCode, 403, `${scopes.join(' ')}: the scope is checked before If-Match`)
  }
  t.equal(await etagOf(app, url), etag, 'nothing was written')
  const { key } = createKey(app, ['directory:write'])
  for (const id of ['00000000-0000-4000-8000-000000000000', 'seniorenangebote']) {
    const res = await app.inject({ method: 'PATCH', url: `/v1/services/${id}`, headers: { ...bearer(key), 'if-match': etag }, payload })
    t.equal(res.statusCode, 404, id)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
  }
})

t.test('two writers with the same ETag: one wins, the other gets 412', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const etag = await etagOf(app, url)
  const send = (feeNote: string) => app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': etag }, payload: { feeNote } })
  const [a, b] = await Promise.all([send('2 Euro'), send('3 Euro')])
  t.same([a.statusCode, b.statusCode].sort(), [200, 412])
  t.equal((await getJson(app, url)).body.feeNote, a.statusCode === 200 ? '2 Euro' : '3 Euro')
  t.equal((await historyOf(app, SENIORENANGEBOTE)).length, 1)
})

t.test('DELETE /v1/services/{id} is a soft delete with tombstone, feed entry, history and reindex', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, [`facility:${KREATIVHAUS}:write`], 'Kreativhaus Team')
  const url = `/v1/services/${SENIORENANGEBOTE}`
  const since = lastSeq(app)
  const sinceTime = new Date().toISOString()
  t.equal((await app.inject({ method: 'DELETE', url })).statusCode, 401)
  t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(key) })).statusCode, 428)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': '"x"' } })).statusCode, 412)
  const foreign = createKey(app, [`facility:${SHK}:write`]).key
  const etag = await etagOf(app, url)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(foreign), 'if-match': etag } })).statusCode, 403)
  const readOnly = createKey(app, ['contacts:read-internal']).key
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(readOnly), 'if-match': etag } })).statusCode, 403)
  t.equal((await getJson(app, url)).res.statusCode, 200, 'still there')

  const before = (await getJson(app, '/v1/facilities/kreativhaus')).body
  const res = await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject(url)).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  t.equal(await countServices(app), ALL_SERVICES - 1)
  const changes = (await getJson(app, `/v1/services?updatedSince=${sinceTime}`)).body.items
  t.same(changes, [{ id: SENIORENANGEBOTE, deleted: true, deletedAt: changes[0].deletedAt }])
  t.same(await feedSince(app, since), [['service', SENIORENANGEBOTE, 'delete']])
  t.same((await getJson(app, '/v1/services?q=Gedächtnistraining')).body.items, [], 'gone from the service search')
  t.same((await getJson(app, '/v1/facilities?q=Gedächtnistraining')).body.items, [], 'gone from the facility search')
  t.equal((await getJson(app, '/v1/facilities/kreativhaus')).body.serviceCount, before.serviceCount - 1)
  const history = await historyOf(app, SENIORENANGEBOTE)
  t.equal(history.length, 1)
  t.equal(history[0].action, 'delete')
  t.same(history[0].actor.name, 'Kreativhaus Team')
  t.same(history[0].changes.name, { old: 'Seniorenangebote', new: null })
})

t.test('GET /v1/services/{id}/history (200, 404) lists every write, oldest first', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  t.same((await getJson(app, `/v1/services/${SENIORENANGEBOTE}/history`)).body, { id: SENIORENANGEBOTE, items: [] }, 'seeded facts have no entries')
  const created = (await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: newService() }))
  const url = `/v1/services/${created.json().id}`
  const patched = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': String(created.headers.etag) }, payload: { status: 'historic' } })
  await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': String(patched.headers.etag) } })
  const { res, body } = await getJson(app, `${url}/history`)
  t.equal(res.statusCode, 200)
  t.same(body.items.map((h: any) => h.action), ['create', 'update', 'delete'], 'a deleted service keeps its history')
  t.same(body.items[1].changes, { status: { old: 'active', new: 'historic' } })
  t.ok(body.items[0].seq < body.items[1].seq && body.items[1].seq < body.items[2].seq)
  for (const id of ['00000000-0000-4000-8000-000000000000', 'seniorenangebote']) {
    const missing = await getJson(app, `/v1/services/${id}/history`)
    t.equal(missing.res.statusCode, 404)
    t.equal(missing.res.headers['content-type'], PROBLEM_JSON)
  }
})

t.test('every seeded service has a valid writable form, so PATCH works on the real data', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const all = (await getJson(app, '/v1/services?limit=500')).body.items
  t.equal(all.length, ALL_SERVICES)
  const since = lastSeq(app)
  for (const service of all) {
    const writable = writableOf(service)
    t.ok(Value.Check(ServiceInputSchema, writable), `${service.facility.slug}: ${service.name}: ${[...Value.Errors(ServiceInputSchema, writable)].map((e) => `${e.instancePath} ${e.message}`).join('; ')}`)
    const url = `/v1/services/${service.id}`
    const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': await etagOf(app, url) }, payload: { status: service.status } })
    t.equal(res.statusCode, 200, `${service.name}: PATCH of the unchanged record`)
  }
  t.same(await feedSince(app, since), [], 'unchanged records are not written')
})

t.test('the ServiceInput example is real: it validates and its references exist', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const example = (ServiceInputSchema as unknown as { examples: unknown[] }).examples[0] as Record<string, unknown>
  t.ok(Value.Check(ServiceInputSchema, example))
  const res = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: example })
  t.equal(res.statusCode, 201)
  const seeded = (await getJson(app, `/v1/services/${SENIORENANGEBOTE}`)).body
  t.same({ ...writableOf(seeded), sources: [] }, { ...example, sources: [] }, 'the example is the seeded Seniorenangebote')
})

import { readFileSync } from 'node:fs'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { seedId } from '../../src/lib/uuid.ts'
import { writableOf } from '../../src/repositories/contacts-repository.ts'
import { ContactInputSchema } from '../../src/schemas/contacts.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson } from '../helper.ts'

interface SeedContact { key: string, name: string, visibility: string, organisation: string | null, facility: string | null, phone: string | null }
const seedContacts = JSON.parse(readFileSync(new URL('../../seed/data/contacts.json', import.meta.url), 'utf8')) as SeedContact[]
const internalContacts = seedContacts.filter((c) => c.visibility === 'internal')

const KREATIVHAUS = seedId('facility', 'kreativhaus')
const SHK = seedId('facility', 'shk-mitte')
const ARLT = seedId('contact', 'manuela-arlt')
// Internal, at the Kreativhaus (operator Kreativhaus e.V.).
const GAERTNER = seedId('contact', 'angela-gaertner')
// Internal, at FiPP, no facility.
const SIEG = seedId('contact', 'doreen-sieg')
// Internal, at the SHK Mitte.
const SOWADE = seedId('contact', 'birgit-sowade')
const PUBLIC_TOTAL = 4
const ALL_TOTAL = 12

const newContact = (overrides: Record<string, unknown> = {}) => ({
  name: 'Testperson Zauberwald',
  role: 'Koordinatorin (Testdatensatz)',
  organisation: 'kreativhaus-ev',
  facility: 'kreativhaus',
  phone: '030 000000',
  email: 'test@example.org',
  visibility: 'public',
  asOf: '2025/2026',
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }],
  ...overrides
})

const lastSeq = (app: FastifyInstance) => app.db.$client.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck().get() as number
const feedSince = async (app: FastifyInstance, since: number) =>
  (await getJson(app, `/v1/changes?since=${since}&limit=1000`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])
const readKey = (app: FastifyInstance) => createKey(app, ['contacts:read-internal'], 'Bezirksamt intern').key
const etagOf = async (app: FastifyInstance, url: string, key?: string) =>
  String((await app.inject({ url, headers: key === undefined ? {} : bearer(key) })).headers.etag)
const historyOf = async (app: FastifyInstance, id: string) =>
  (await getJson(app, `/v1/contacts/${id}/history`, { headers: bearer(readKey(app)) })).body.items
const publicTotal = async (app: FastifyInstance) => (await getJson(app, '/v1/contacts')).body.total

t.test('POST /v1/contacts (201) creates a public contact with Location and ETag, in feed and history', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const since = lastSeq(app)
  const res = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact() })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(res.headers.location, `/v1/contacts/${body.id}`)
  t.match(res.headers.etag, /^"/)
  t.equal(body.name, 'Testperson Zauberwald')
  t.same(body.organisation, { id: seedId('organisation', 'kreativhaus-ev'), slug: 'kreativhaus-ev', name: body.organisation.name, kind: 'operator' })
  t.same(body.facility, { id: KREATIVHAUS, slug: 'kreativhaus', name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)' })
  t.equal(body.email, 'test@example.org')
  t.equal(body.visibility, 'public')
  t.equal(body.asOf, '2025/2026')
  const read = await app.inject(`/v1/contacts/${body.id}`)
  t.same(read.json(), body, 'what was stored is what was answered, to anyone')
  t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
  t.equal(await publicTotal(app), PUBLIC_TOTAL + 1)
  t.same((await getJson(app, '/v1/contacts?facility=kreativhaus')).body.items.map((c: any) => c.id), [body.id])
  t.same(await feedSince(app, since), [['contact', body.id, 'create']])
  const history = await historyOf(app, body.id)
  t.equal(history.length, 1)
  t.equal(history[0].action, 'create')
  t.same(history[0].actor, { keyId, name: 'Bezirksamt Test' })
  t.same(history[0].changes.phone, { old: null, new: '030 000000' })
  t.same(history[0].changes.facility, { old: null, new: 'kreativhaus' })
})

t.test('POST /v1/contacts (201) of an internal contact: only the writer and read-internal keys see it', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = lastSeq(app)
  const res = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ visibility: 'internal', phone: '030 999999' }) })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(body.visibility, 'internal', 'the writer gets the record it wrote')
  t.equal(body.phone, '030 999999')
  const url = `/v1/contacts/${body.id}`
  for (const headers of [{}, bearer(key), bearer(createKey(app, [`facility:${SHK}:write`]).key), bearer(createKey(app, ['admin']).key)]) {
    const anonymous = await app.inject({ url, headers })
    t.equal(anonymous.statusCode, 404, 'not for anyone without contacts:read-internal')
    t.notOk(anonymous.body.includes('Zauberwald'))
    const list = await app.inject({ url: '/v1/contacts?facility=kreativhaus', headers })
    t.equal(list.json().total, 0)
    t.notOk(list.body.includes('030 999999'))
  }
  const privileged = await app.inject({ url, headers: bearer(readKey(app)) })
  t.equal(privileged.statusCode, 200)
  t.same(privileged.json(), body)
  t.equal(privileged.headers.etag, res.headers.etag)
  t.same(await feedSince(app, since), [], 'the public feed does not list a contact that was never public (not even its id)')
  t.equal(await publicTotal(app), PUBLIC_TOTAL)
})

t.test('POST /v1/contacts: a facility key writes its own facility\'s contacts only', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, [`facility:${KREATIVHAUS}:write`], 'Kreativhaus Team')
  const own = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: KREATIVHAUS, organisation: null }) })
  t.equal(own.statusCode, 201, 'the facility may be named by id')
  t.equal(own.json().facility.slug, 'kreativhaus')
  t.same((await historyOf(app, own.json().id))[0].actor, { keyId, name: 'Kreativhaus Team' })
  const other = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: 'shk-mitte' }) })
  t.equal(other.statusCode, 403)
  t.equal(other.headers['content-type'], PROBLEM_JSON)
  t.equal(other.json().type, '/problems/insufficient-scope')
  t.match(other.json().detail, /shk-mitte/)
  const none = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: null }) })
  t.equal(none.statusCode, 403, 'a contact of no facility needs directory:write')
  t.match(none.json().detail, /directory:write/)
  const otherWithErrors = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: 'shk-mitte', organisation: 'no-such-organisation' }) })
  t.equal(otherWithErrors.statusCode, 403, 'the scope is checked before the other rules')
  const unknownFacility = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: 'no-such-facility' }) })
  t.equal(unknownFacility.statusCode, 422)
  t.same(unknownFacility.json().errors.map((e: any) => e.field), ['body.facility'])
  t.equal((await getJson(app, '/v1/contacts?limit=500', { headers: bearer(readKey(app)) })).body.total, ALL_TOTAL + 1)
})

t.test('POST /v1/contacts (401, 403) without a key, with an unknown key or a read-only key', async (t) => {
  const app = await buildTestApp(t)
  const since = lastSeq(app)
  const none = await app.inject({ method: 'POST', url: '/v1/contacts', payload: newContact() })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['content-type'], PROBLEM_JSON)
  t.equal(none.json().type, '/problems/api-key-required')
  // RFC 9110 §11.6.1: a 401 names its challenge (RFC 6750: the key is a bearer token).
  t.equal(none.headers['www-authenticate'], 'Bearer realm="Mitte Partner Directory"')
  const unknown = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(`mpd_AAAAAAAAAA_${'a'.repeat(43)}`), payload: newContact() })
  t.equal(unknown.statusCode, 401)
  t.equal(unknown.json().type, '/problems/invalid-api-key')
  t.equal(unknown.headers['www-authenticate'], 'Bearer realm="Mitte Partner Directory", error="invalid_token"')
  for (const scopes of [['contacts:read-internal'], ['admin']]) {
    const { key } = createKey(app, scopes)
    const res = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: 'no-such-facility' }) })
    t.equal(res.statusCode, 403, `${scopes.join(' ')}: 403 even for a body with errors`)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
  }
  t.same(await feedSince(app, since), [], 'nothing was written')
})

t.test('POST /v1/contacts (400) rejects bodies that break the schema, each field listed', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const res = await app.inject({
    method: 'POST',
    url: '/v1/contacts',
    headers: bearer(key),
    payload: newContact({ name: '', email: 'not an address', visibility: 'secret', asOf: 'früher', colour: 'blue' })
  })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  const fields = res.json().errors.map((e: any) => e.field)
  for (const field of ['body.name', 'body.email', 'body.visibility', 'body.asOf', 'body.colour']) t.ok(fields.includes(field), field)
  const missing = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ role: undefined }) })
  t.equal(missing.statusCode, 400)
  t.same(missing.json().errors.map((e: any) => e.field), ['body.role'])
  t.equal(await publicTotal(app), PUBLIC_TOTAL)
})

t.test('POST /v1/contacts (422) rejects unknown references, contacts of nobody and backward spans', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = lastSeq(app)
  const all = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload: newContact({ facility: 'no-such-facility', organisation: 'no-such-organisation', asOf: '2026/2020' }) })
  t.equal(all.statusCode, 422)
  t.equal(all.headers['content-type'], PROBLEM_JSON)
  t.equal(all.json().type, '/problems/invalid-record')
  t.same(all.json().errors.map((e: any) => e.field), ['body.facility', 'body.organisation', 'body.asOf'])
  for (const [payload, field] of [
    [newContact({ facility: 'no-such-facility' }), 'body.facility'],
    [newContact({ organisation: 'no-such-organisation' }), 'body.organisation'],
    [newContact({ organisation: null, facility: null }), 'body.organisation'],
    [newContact({ asOf: '2020/2020' }), 'body.asOf']
  ] as const) {
    const one = await app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(key), payload })
    t.equal(one.statusCode, 422, JSON.stringify(payload))
    t.same(one.json().errors.map((e: any) => e.field), [field])
  }
  t.same(await feedSince(app, since), [], 'nothing was written')
})

t.test('POST /v1/contacts with Idempotency-Key returns the first result on retry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const headers = { ...bearer(key), 'idempotency-key': 'create-zauberwald-1' }
  const first = await app.inject({ method: 'POST', url: '/v1/contacts', headers, payload: newContact() })
  const retry = await app.inject({ method: 'POST', url: '/v1/contacts', headers, payload: newContact() })
  t.equal(first.statusCode, 201)
  t.equal(retry.statusCode, 201)
  t.equal(retry.json().id, first.json().id)
  t.equal(retry.headers.location, first.headers.location)
  t.equal(retry.headers.etag, first.headers.etag)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(await publicTotal(app), PUBLIC_TOTAL + 1, 'no duplicate')
  const other = await app.inject({ method: 'POST', url: '/v1/contacts', headers, payload: newContact({ name: 'Jemand anderes' }) })
  t.equal(other.statusCode, 422)
  t.equal(other.json().type, '/problems/idempotency-key-reused')
})

t.test('PATCH /v1/contacts/{id} needs If-Match (428), rejects stale ETags (412), applies merge patches', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const url = `/v1/contacts/${ARLT}`
  const read = await app.inject(url)
  const etag = String(read.headers.etag)
  const since = lastSeq(app)
  const patch = { phone: null, email: 'arlt@example.org', role: 'Ansprechpartnerin (geändert im Test)' }
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
  t.equal(updated.phone, null, 'null clears a member')
  t.equal(updated.email, 'arlt@example.org')
  t.equal(updated.name, 'Manuela Arlt', 'members not in the patch stay')
  t.equal(updated.organisation.slug, 'jobcenter-berlin-mitte')
  t.ok(updated.updatedAt > read.json().updatedAt)
  t.not(ok.headers.etag, etag)
  const reread = await app.inject(url)
  t.same(reread.json(), updated)
  t.equal(reread.headers.etag, ok.headers.etag)
  t.same(await feedSince(app, since), [['contact', ARLT, 'update']])

  const history = await historyOf(app, ARLT)
  t.equal(history.length, 1)
  t.same(history[0].actor, { keyId, name: 'Bezirksamt Test' })
  t.same(Object.keys(history[0].changes).sort(), ['email', 'phone', 'role'])
  t.same(history[0].changes.phone, { old: '(030) 5555-456086', new: null })

  const current = String(ok.headers.etag)
  const invalid = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { name: null, visibility: null } })
  t.equal(invalid.statusCode, 422, 'the merged record must be valid')
  t.same(invalid.json().errors.map((e: any) => e.field).sort(), ['body.name', 'body.visibility'])
  const orphan = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { organisation: null } })
  t.equal(orphan.statusCode, 422)
  t.same(orphan.json().errors.map((e: any) => e.field), ['body.organisation'])
  const unknownField = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { colour: 'blue' } })
  t.equal(unknownField.statusCode, 400)
  t.same(unknownField.json().errors.map((e: any) => e.field), ['body.colour'])
  t.equal(await etagOf(app, url), current, 'the failed writes wrote nothing')

  const same = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': current }, payload: { organisation: seedId('organisation', 'jobcenter-berlin-mitte'), name: 'Manuela Arlt' } })
  t.equal(same.statusCode, 200)
  t.equal(same.headers.etag, current, 'naming the same organisation by id is no change')
  t.equal((await historyOf(app, ARLT)).length, 1)
})

t.test('PATCH /v1/contacts/{id} making a contact internal takes it from every public read', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = new Date().toISOString()
  const url = `/v1/contacts/${ARLT}`
  const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': await etagOf(app, url) }, payload: { visibility: 'internal' } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().visibility, 'internal')
  t.equal((await app.inject(url)).statusCode, 404)
  t.equal((await app.inject({ url, headers: bearer(key) })).statusCode, 404, 'directory:write alone does not read internal contacts')
  t.same((await getJson(app, `/v1/contacts?updatedSince=${since}`)).body.items, [{ id: ARLT, deleted: true, deletedAt: res.json().updatedAt }])
  t.same((await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')).body.contacts.map((c: any) => c.name), ['Lutz Mania'])
  const privileged = await app.inject({ url, headers: bearer(readKey(app)) })
  t.equal(privileged.statusCode, 200)
  t.equal(privileged.headers.etag, res.headers.etag)
})

t.test('PATCH /v1/contacts/{id} moving a contact needs the scope of both facilities', async (t) => {
  const app = await buildTestApp(t)
  const kreativhausOnly = createKey(app, [`facility:${KREATIVHAUS}:write`]).key
  const shkOnly = createKey(app, [`facility:${SHK}:write`]).key
  const both = createKey(app, [`facility:${KREATIVHAUS}:write`, `facility:${SHK}:write`]).key
  const url = `/v1/contacts/${GAERTNER}`
  const etag = await etagOf(app, url, readKey(app))
  // (Facility keys write this internal contact blind: with If-Match: *.)
  const denied = await app.inject({ method: 'PATCH', url, headers: { ...bearer(kreativhausOnly), 'if-match': '*' }, payload: { facility: 'shk-mitte' } })
  t.equal(denied.statusCode, 403, 'the scope of the old facility is not enough')
  t.match(denied.json().detail, /shk-mitte/)
  const toNowhere = await app.inject({ method: 'PATCH', url, headers: { ...bearer(kreativhausOnly), 'if-match': '*' }, payload: { facility: null } })
  t.equal(toNowhere.statusCode, 403, 'nor may it take the contact from every facility')
  t.equal(await etagOf(app, url, readKey(app)), etag, 'nothing was written')
  const ok = await app.inject({ method: 'PATCH', url, headers: { ...bearer(both), 'if-match': '*' }, payload: { facility: 'shk-mitte' } })
  t.equal(ok.statusCode, 204, 'an internal contact: written, its fields not sent')
  const moved = (await app.inject({ url, headers: bearer(readKey(app)) })).json()
  t.equal(moved.facility.slug, 'shk-mitte')
  t.equal(moved.visibility, 'internal')
  t.same((await historyOf(app, GAERTNER))[0].changes, { facility: { old: 'kreativhaus', new: 'shk-mitte' } })
  const back = await app.inject({ method: 'PATCH', url, headers: { ...bearer(shkOnly), 'if-match': '*' }, payload: { facility: 'kreativhaus' } })
  t.equal(back.statusCode, 403, 'nor that of the new one')
})

t.test('PATCH and DELETE of an internal contact: 404 for keys that may neither read nor write it', async (t) => {
  const app = await buildTestApp(t)
  const url = `/v1/contacts/${GAERTNER}`
  const etag = await etagOf(app, url, readKey(app))
  const missing = `/v1/contacts/${seedId('contact', 'no-such-person')}`
  const foreign = createKey(app, [`facility:${SHK}:write`]).key
  for (const method of ['PATCH', 'DELETE'] as const) {
    const payload = method === 'PATCH' ? { phone: '030 1' } : undefined
    const hidden = await app.inject({ method, url, headers: { ...bearer(foreign), 'if-match': etag }, ...(payload ? { payload } : {}) })
    const absent = await app.inject({ method, url: missing, headers: { ...bearer(foreign), 'if-match': etag }, ...(payload ? { payload } : {}) })
    t.equal(hidden.statusCode, 404, `${method}: like a missing contact`)
    t.same({ ...hidden.json(), detail: null, instance: null }, { ...absent.json(), detail: null, instance: null })
    const readOnly = await app.inject({ method, url, headers: { ...bearer(readKey(app)), 'if-match': etag }, ...(payload ? { payload } : {}) })
    t.equal(readOnly.statusCode, 403, `${method}: a key that may read it learns nothing new from 403`)
    const publicForeign = await app.inject({ method, url: `/v1/contacts/${ARLT}`, headers: { ...bearer(foreign), 'if-match': etag }, ...(payload ? { payload } : {}) })
    t.equal(publicForeign.statusCode, 403, `${method}: a public contact the key may not write is 403`)
  }
  t.equal(await etagOf(app, url, readKey(app)), etag, 'nothing was written')
  // Its own facility's key may write it without reading it, with If-Match: *. The answer has
  // neither the fields nor an ETag (GET answers that key 404; an ETag would let it check guesses).
  const own = createKey(app, [`facility:${KREATIVHAUS}:write`]).key
  t.equal((await app.inject({ url, headers: bearer(own) })).statusCode, 404, 'the key cannot read it')
  const patched = await app.inject({ method: 'PATCH', url, headers: { ...bearer(own), 'if-match': '*' }, payload: { phone: '030 123' } })
  t.equal(patched.statusCode, 204)
  t.equal(patched.body, '', 'no fields of the internal contact')
  t.equal(patched.headers.etag, undefined, 'no ETag either')
  t.equal((await app.inject({ url, headers: bearer(readKey(app)) })).json().phone, '030 123', 'written')
  const unchanged = await app.inject({ method: 'PATCH', url, headers: { ...bearer(own), 'if-match': '*' }, payload: { visibility: 'internal' } })
  t.equal(unchanged.statusCode, 204, 'also when nothing changes')
  t.equal(unchanged.body, '')
  // Nor may it test guesses: an ETag in If-Match (even in a list with the right one) or in
  // If-None-Match is refused whether it is the current one or not.
  const current = await etagOf(app, url, readKey(app))
  for (const [ifMatch, ifNoneMatch] of [[current, undefined], [`"guess", ${current}`, undefined], ['*', '"guess"'], ['*', current]] as const) {
    const probe = await app.inject({ method: 'PATCH', url, headers: { ...bearer(own), 'if-match': ifMatch, ...(ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch }) }, payload: { visibility: 'internal' } })
    t.equal(probe.statusCode, 412, `If-Match ${ifMatch}${ifNoneMatch === undefined ? '' : `, If-None-Match ${ifNoneMatch}`}: 412 whatever the ETag`)
    t.match(probe.json().detail, /send If-Match: \* and no If-None-Match/)
  }
  const deleteProbe = await app.inject({ method: 'DELETE', url, headers: { ...bearer(own), 'if-match': current } })
  t.equal(deleteProbe.statusCode, 412, 'DELETE too')
  t.equal(await etagOf(app, url, readKey(app)), current, 'nothing was written')
  // Nor may it publish the contact (and with it what other keys wrote into it).
  const published = await app.inject({ method: 'PATCH', url, headers: { ...bearer(own), 'if-match': '*' }, payload: { visibility: 'public' } })
  t.equal(published.statusCode, 403, 'making it public needs contacts:read-internal or directory:write')
  t.match(published.json().detail, /make an internal contact public/)
  t.equal((await app.inject({ url, headers: bearer(own) })).statusCode, 404, 'still hidden from that key')
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(own), 'if-match': etag } })).statusCode, 412)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(own), 'if-match': '*' } })).statusCode, 204, 'a stale ETag is 412, * deletes')
  const sieg = `/v1/contacts/${SIEG}`
  t.equal((await app.inject({ method: 'DELETE', url: sieg, headers: { ...bearer(own), 'if-match': '*' } })).statusCode, 404, 'an internal contact of no facility is hidden from facility keys')
  const directory = createKey(app, ['directory:write']).key
  t.equal((await app.inject({ method: 'DELETE', url: sieg, headers: { ...bearer(directory), 'if-match': '*' } })).statusCode, 204, 'directory:write may write every contact')
})

t.test('PATCH /v1/contacts/{id} (401, 403, 404) for missing keys, foreign or read-only keys, unknown ids', async (t) => {
  const app = await buildTestApp(t)
  const url = `/v1/contacts/${ARLT}`
  const etag = await etagOf(app, url)
  const payload = { phone: '030 1' }
  t.equal((await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag }, payload })).statusCode, 401)
  t.equal((await app.inject({ method: 'PATCH', url, headers: { ...bearer(`mpd_AAAAAAAAAA_${'a'.repeat(43)}`), 'if-match': etag }, payload })).statusCode, 401)
  for (const scopes of [[`facility:${KREATIVHAUS}:write`], ['contacts:read-internal'], ['admin']]) {
    const { key } = createKey(app, scopes)
    const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': etag }, payload })
    t.equal(res.statusCode, 403, scopes.join(' '))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
  }
  t.equal(await etagOf(app, url), etag, 'nothing was written')
  const { key } = createKey(app, ['directory:write'])
  for (const id of ['00000000-0000-4000-8000-000000000000', 'manuela-arlt']) {
    const res = await app.inject({ method: 'PATCH', url: `/v1/contacts/${id}`, headers: { ...bearer(key), 'if-match': etag }, payload })
    t.equal(res.statusCode, 404, id)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
  }
})

t.test('DELETE /v1/contacts/{id} is a soft delete with tombstone, feed entry and history', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const url = `/v1/contacts/${ARLT}`
  const since = lastSeq(app)
  const sinceTime = new Date().toISOString()
  t.equal((await app.inject({ method: 'DELETE', url })).statusCode, 401)
  t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(key) })).statusCode, 428)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': '"x"' } })).statusCode, 412)
  const etag = await etagOf(app, url)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(readKey(app)), 'if-match': etag } })).statusCode, 403)
  const res = await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject(url)).statusCode, 404)
  t.equal((await app.inject({ url, headers: bearer(readKey(app)) })).statusCode, 404, 'deleted for every reader')
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  t.equal(await publicTotal(app), PUBLIC_TOTAL - 1)
  const changes = (await getJson(app, `/v1/contacts?updatedSince=${sinceTime}`)).body.items
  t.same(changes, [{ id: ARLT, deleted: true, deletedAt: changes[0].deletedAt }])
  t.same(await feedSince(app, since), [['contact', ARLT, 'delete']])
  const history = await historyOf(app, ARLT)
  t.same(history.map((h: any) => h.action), ['delete'])
  t.same(history[0].actor.name, 'Bezirksamt Test')
  t.same(history[0].changes.name, { old: 'Manuela Arlt', new: null })
})

t.test('GET /v1/contacts/{id}/history needs contacts:read-internal or directory:write', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const url = `/v1/contacts/${GAERTNER}`
  const patched = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': '*' }, payload: { phone: '030 7654321' } })
  t.equal(patched.statusCode, 200)
  const none = await app.inject(`${url}/history`)
  t.equal(none.statusCode, 401)
  t.equal(none.headers['content-type'], PROBLEM_JSON)
  t.notOk(none.body.includes('7654321'))
  for (const scopes of [[`facility:${KREATIVHAUS}:write`], ['admin']]) {
    const res = await app.inject({ url: `${url}/history`, headers: bearer(createKey(app, scopes).key) })
    t.equal(res.statusCode, 403, scopes.join(' '))
    t.notOk(res.body.includes('7654321'))
  }
  for (const reader of [readKey(app), key]) {
    const { res, body } = await getJson(app, `${url}/history`, { headers: bearer(reader) })
    t.equal(res.statusCode, 200)
    t.equal(body.id, GAERTNER)
    t.same(body.items.map((h: any) => h.changes), [{ phone: { old: null, new: '030 7654321' } }])
  }
  const missing = await app.inject({ url: '/v1/contacts/00000000-0000-4000-8000-000000000000/history', headers: bearer(key) })
  t.equal(missing.statusCode, 404)
  await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': '*' } })
  t.same((await historyOf(app, GAERTNER)).map((h: any) => h.action), ['update', 'delete'], 'a deleted contact keeps its history')
})

t.test('a contacts:read-internal key sees internal contacts in every contact read', async (t) => {
  const app = await buildTestApp(t)
  const headers = bearer(readKey(app))
  const all = (await getJson(app, '/v1/contacts?limit=500', { headers })).body
  t.equal(all.total, ALL_TOTAL)
  t.same(all.items.map((c: any) => c.name), [...seedContacts.map((c) => c.name)].sort((a, b) => a.localeCompare(b, 'de')))
  t.same(all.items.filter((c: any) => c.visibility === 'internal').map((c: any) => c.id).sort(), internalContacts.map((c) => seedId('contact', c.key)).sort())
  const kreativhaus = (await getJson(app, '/v1/contacts?facility=kreativhaus', { headers })).body
  t.same(kreativhaus.items.map((c: any) => c.id), [GAERTNER])
  const fipp = (await getJson(app, '/v1/contacts?organisation=fipp', { headers })).body
  t.equal(fipp.total, 2)
  const gaertner = await app.inject({ url: `/v1/contacts/${GAERTNER}`, headers })
  t.equal(gaertner.statusCode, 200)
  t.equal(gaertner.json().visibility, 'internal')
  t.equal(gaertner.headers['cache-control'], 'private, no-cache', 'shared caches do not keep it')
  t.same(all.items.find((c: any) => c.id === GAERTNER), gaertner.json(), 'the list and the detail agree')

  // Name order with internal names, and cursors, work as for public contacts.
  const paged: any[] = []
  let next: string | null = '/v1/contacts?limit=5'
  while (next !== null) {
    const page: any = (await getJson(app, next, { headers })).body
    t.equal(page.total, ALL_TOTAL)
    paged.push(...page.items)
    next = page.links.next
  }
  t.same(paged.map((c) => c.id), all.items.map((c: any) => c.id))
  const ndjson = await app.inject({ url: '/v1/contacts?format=ndjson', headers })
  t.same(ndjson.body.trimEnd().split('\n').map((line) => JSON.parse(line).id), all.items.map((c: any) => c.id))

  // With updatedSince, a copy of a privileged reader holds internal contacts too.
  const since = new Date().toISOString()
  const { key } = createKey(app, ['directory:write'])
  await app.inject({ method: 'PATCH', url: `/v1/contacts/${SOWADE}`, headers: { ...bearer(key), 'if-match': '*' }, payload: { phone: '030 5' } })
  await app.inject({ method: 'DELETE', url: `/v1/contacts/${SIEG}`, headers: { ...bearer(key), 'if-match': '*' } })
  const changed = (await getJson(app, `/v1/contacts?updatedSince=${since}`, { headers })).body.items
  t.same(changed.map((c: any) => [c.id, c.phone ?? null, c.deleted ?? false]), [[SOWADE, '030 5', false], [SIEG, null, true]])
  const everything = (await getJson(app, '/v1/contacts?updatedSince=2000-01-01T00:00:00Z&limit=500', { headers })).body
  t.equal(everything.total, ALL_TOTAL, 'never-public internal contacts are listed for a reader who may see them')
  const anonymous = (await getJson(app, `/v1/contacts?updatedSince=${since}`)).body.items
  // Both were internal from the start: no public copy holds them, so anonymous readers learn nothing,
  // not even their ids.
  t.same(anonymous, [], 'anonymous readers get nothing of contacts that were never public')
})

t.test('keys without contacts:read-internal never see internal contacts', async (t) => {
  const app = await buildTestApp(t)
  const keys = [['directory:write'], [`facility:${KREATIVHAUS}:write`], ['admin']].map((scopes) => createKey(app, scopes).key)
  for (const key of keys) {
    const headers = bearer(key)
    const list = await app.inject({ url: '/v1/contacts?limit=500', headers })
    t.equal(list.json().total, PUBLIC_TOTAL)
    for (const contact of internalContacts) {
      t.notOk(list.body.includes(contact.name), contact.name)
      t.equal((await app.inject({ url: `/v1/contacts/${seedId('contact', contact.key)}`, headers })).statusCode, 404)
    }
    t.equal((await app.inject({ url: '/v1/contacts?updatedSince=2000-01-01T00:00:00Z&limit=500', headers })).json().total, PUBLIC_TOTAL)
  }
})

t.test('contacts repository: listForFacilities and ofOrganisation include internal contacts only when asked', async (t) => {
  const app = await buildTestApp(t)
  const ids = ['kreativhaus', 'olof-palme-zentrum', 'shk-mitte'].map((slug) => seedId('facility', slug))
  t.same([...app.repos.contacts.listForFacilities(ids).keys()], [])
  t.same([...app.repos.contacts.listForFacilities(ids, { includeInternal: false }).keys()], [])
  const all = app.repos.contacts.listForFacilities(ids, { includeInternal: true })
  t.same(all.get(KREATIVHAUS)!.map((c) => c.id), [GAERTNER])
  t.same(all.get(seedId('facility', 'olof-palme-zentrum'))!.map((c) => c.name), ['Emine Kara-Özdemir', 'Jochen Uhländer'])
  t.same(all.get(SHK)!.map((c) => c.id), [SOWADE])
  const fipp = seedId('organisation', 'fipp')
  t.same(app.repos.contacts.ofOrganisation(fipp), [])
  t.same(app.repos.contacts.ofOrganisation(fipp, { includeInternal: true }).map((c) => c.id).sort(), [SIEG, seedId('contact', 'alexandra-daexl')].sort())
  t.same(app.repos.contacts.find(GAERTNER), undefined)
  t.equal(app.repos.contacts.find(GAERTNER, { includeInternal: true })!.visibility, 'internal')
})

// These read paths are served by routes/facilities.ts and routes/organisations.ts, which pass the
// reader's access to the contacts repository.

t.test('a contacts:read-internal key sees internal contacts embedded in facilities and organisations', async (t) => {
  const app = await buildTestApp(t)
  const headers = bearer(readKey(app))
  const nested = (await getJson(app, '/v1/facilities/kreativhaus/contacts', { headers })).body
  t.same(nested.items.map((c: any) => c.id), [GAERTNER])
  const embedded = (await getJson(app, '/v1/facilities?include=contacts&limit=500', { headers })).body
  t.same(embedded.items.find((f: any) => f.slug === 'kreativhaus').contacts.map((c: any) => c.id), [GAERTNER])
  const fipp = (await getJson(app, '/v1/organisations/fipp', { headers })).body
  t.same(fipp.contacts.map((c: any) => c.id).sort(), [SIEG, seedId('contact', 'alexandra-daexl')].sort())
})

t.test('without contacts:read-internal, facilities and organisations embed public contacts only', async (t) => {
  const app = await buildTestApp(t)
  for (const key of [undefined, createKey(app, ['directory:write']).key, createKey(app, [`facility:${KREATIVHAUS}:write`]).key]) {
    const headers = key === undefined ? {} : bearer(key)
    t.same((await getJson(app, '/v1/facilities/kreativhaus/contacts', { headers })).body.items, [])
    const embedded = (await getJson(app, '/v1/facilities?include=contacts&limit=500', { headers })).body
    t.same(embedded.items.flatMap((f: any) => f.contacts), [])
    t.same((await getJson(app, '/v1/organisations/fipp', { headers })).body.contacts, [])
  }
})

t.test('every seeded contact has a valid writable form, so PATCH works on the real data', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const reader = readKey(app)
  const all = (await getJson(app, '/v1/contacts?limit=500', { headers: bearer(reader) })).body.items
  t.equal(all.length, ALL_TOTAL)
  const since = lastSeq(app)
  for (const contact of all) {
    const writable = writableOf(contact)
    t.ok(Value.Check(ContactInputSchema, writable), `${contact.name}: ${[...Value.Errors(ContactInputSchema, writable)].map((e) => `${e.instancePath} ${e.message}`).join('; ')}`)
    const url = `/v1/contacts/${contact.id}`
    const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': await etagOf(app, url, reader) }, payload: { visibility: contact.visibility } })
    t.equal(res.statusCode, 200, `${contact.name}: PATCH of the unchanged record`)
  }
  t.same(await feedSince(app, since), [], 'unchanged records are not written')
})

t.test('the ContactInput example is real: it validates and is a seeded public contact', async (t) => {
  const app = await buildTestApp(t)
  const example = (ContactInputSchema as unknown as { examples: unknown[] }).examples[0]
  t.ok(Value.Check(ContactInputSchema, example))
  const seeded = (await getJson(app, `/v1/contacts/${ARLT}`)).body
  t.same(writableOf(seeded), example)
})

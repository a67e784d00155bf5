import t, { type Test } from 'tap'
import { Value } from 'typebox/value'
import type { FastifyInstance } from 'fastify'
import { seedId } from '../../src/lib/uuid.ts'
import { OrganisationInputSchema } from '../../src/schemas/organisations.ts'
import { writableOf } from '../../src/repositories/organisations-repository.ts'
import { entityTag } from '../../src/routes/write-support.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson } from '../helper.ts'

const KREATIVHAUS = seedId('facility', 'kreativhaus')
const UNKNOWN_KEY = `mpd_AAAAAAAAAA_${'A'.repeat(43)}`
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' }

const newOrganisation = (slug = 'test-traeger') => ({
  slug,
  kind: 'operator',
  name: 'Testträger Beispielkiez e.V.',
  alternateNames: ['Testträger'],
  description: 'Ein Testdatensatz.',
  legalForm: 'e.V.',
  website: 'www.example.org',
  email: 'info@example.org',
  phone: '030 000000',
  address: { street: 'Beispielstraße 1', postcode: '10551', city: 'Berlin', ortsteil: 'Moabit' },
  notes: ['Eine Notiz'],
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }]
})

// Deletes the contacts of an organisation through the API (internal ones included), so that
// nothing names it any more but its facilities.
async function deleteContactsOf (t: Test, app: FastifyInstance, slug: string): Promise<void> {
  const key = bearer(createKey(app, ['directory:write', 'contacts:read-internal']).key)
  const contacts = (await getJson(app, `/v1/contacts?organisation=${slug}&limit=500`, { headers: key })).body.items as { id: string }[]
  t.ok(contacts.length > 0, `${slug} has contacts`)
  for (const c of contacts) {
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/contacts/${c.id}`, headers: { ...key, 'if-match': '*' } })).statusCode, 204)
  }
}

const etagOf = async (app: FastifyInstance, idOrSlug: string) => String((await app.inject(`/v1/organisations/${idOrSlug}`)).headers.etag)

const feedSince = async (app: FastifyInstance, since: number) =>
  (await getJson(app, `/v1/changes?since=${since}&limit=1000`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])

t.test('POST /v1/organisations (201) creates an organisation with Location and ETag, in feed and history', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Bezirksamt Test')
  const since = app.dataVersion().seq
  const res = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: newOrganisation() })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(res.headers.location, `/v1/organisations/${body.id}`)
  t.match(res.headers.etag, /^"/)
  const { id, createdAt, updatedAt, ...rest } = body
  t.same(rest, {
    ...newOrganisation(),
    facilityCount: 0,
    units: [],
    sites: [],
    contacts: [],
    facilities: []
  }, 'every written field is stored as sent')
  t.equal(createdAt, updatedAt)
  const read = await app.inject(`/v1/organisations/${body.id}`)
  t.same(read.json(), body)
  t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
  t.same((await getJson(app, '/v1/organisations/test-traeger')).body.id, body.id, 'found by its slug')
  t.equal((await getJson(app, '/v1/organisations')).body.total, 11)
  t.same(await feedSince(app, since), [['organisation', body.id, 'create']])
  const history = (await getJson(app, `/v1/organisations/${body.id}/history`)).body
  t.equal(history.id, body.id)
  t.equal(history.items.length, 1)
  t.same(history.items[0].actor, { keyId, name: 'Bezirksamt Test' })
  t.equal(history.items[0].action, 'create')
  t.same(history.items[0].changes.name, { old: null, new: 'Testträger Beispielkiez e.V.' })
  t.same(history.items[0].changes.address, { old: null, new: newOrganisation().address })
})

t.test('POST /v1/organisations (400) lists each field the schema rejects and writes nothing', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const res = await app.inject({
    method: 'POST',
    url: '/v1/organisations',
    headers: bearer(key),
    payload: { ...newOrganisation(), name: undefined, kind: 'verein', email: 'keine-adresse', address: { ...newOrganisation().address, postcode: '1055' }, colour: 'blue' }
  })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same([...new Set(res.json().errors.map((e: any) => e.field))].sort(), ['body.address.postcode', 'body.colour', 'body.email', 'body.kind', 'body.name'])
  const units = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: { ...newOrganisation(), units: [] } })
  t.equal(units.statusCode, 400, 'units are read-only, not part of the body')
  t.same(units.json().errors.map((e: any) => e.field), ['body.units'])
  t.equal((await getJson(app, '/v1/organisations')).body.total, 10)
})

t.test('POST /v1/organisations (422) refuses a slug in use, also by a deleted organisation', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = app.dataVersion().seq
  const taken = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: newOrganisation('fipp') })
  t.equal(taken.statusCode, 422)
  t.equal(taken.headers['content-type'], PROBLEM_JSON)
  t.same(taken.json().errors, [{ field: 'body.slug', message: `is already used by organisation ${seedId('organisation', 'fipp')}` }])
  t.same(await feedSince(app, since), [], 'nothing was written')
  await deleteContactsOf(t, app, 'kreativhaus-ev')
  const etag = await etagOf(app, 'kreativhaus-ev')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/organisations/kreativhaus-ev', headers: { ...bearer(key), 'if-match': etag } })).statusCode, 204)
  const deleted = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: newOrganisation('kreativhaus-ev') })
  t.equal(deleted.statusCode, 422, 'a deleted organisation keeps its slug')
  t.same(deleted.json().errors.map((e: any) => e.field), ['body.slug'])
})

t.test('POST /v1/organisations needs a valid key with directory:write (401, 403)', async (t) => {
  const app = await buildTestApp(t)
  const none = await app.inject({ method: 'POST', url: '/v1/organisations', payload: newOrganisation() })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['content-type'], PROBLEM_JSON)
  t.equal(none.json().type, '/problems/api-key-required')
  const unknown = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(UNKNOWN_KEY), payload: newOrganisation() })
  t.equal(unknown.statusCode, 401)
  t.equal(unknown.json().type, '/problems/invalid-api-key')
  for (const scopes of [['contacts:read-internal'], [`facility:${KREATIVHAUS}:write`], ['admin']]) {
    const { key } = createKey(app, scopes)
    const res = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: newOrganisation() })
    t.equal(res.statusCode, 403, scopes.join(' '))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().type, '/problems/insufficient-scope')
  }
  t.equal((await getJson(app, '/v1/organisations')).body.total, 10, 'nothing was written')
})

t.test('POST /v1/organisations with Idempotency-Key returns the first result on retry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const headers = { ...bearer(key), 'idempotency-key': 'create-test-traeger-1' }
  const first = await app.inject({ method: 'POST', url: '/v1/organisations', headers, payload: newOrganisation() })
  const retry = await app.inject({ method: 'POST', url: '/v1/organisations', headers, payload: newOrganisation() })
  t.equal(first.statusCode, 201)
  t.equal(retry.statusCode, 201)
  t.same(retry.json(), first.json())
  t.equal(retry.headers.location, first.headers.location)
  t.equal(retry.headers.etag, first.headers.etag)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal((await getJson(app, '/v1/organisations')).body.total, 11, 'no duplicate')
  const other = await app.inject({ method: 'POST', url: '/v1/organisations', headers, payload: newOrganisation('test-other') })
  t.equal(other.statusCode, 422)
  t.equal(other.json().type, '/problems/idempotency-key-reused')
})

t.test('PATCH /v1/organisations/{idOrSlug} needs If-Match (428), rejects stale ETags (412), applies merge patches', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Redaktion')
  const read = await app.inject('/v1/organisations/jobcenter-berlin-mitte')
  const etag = String(read.headers.etag)
  const before = read.json()
  const patch = { phone: '030 5555 45-0', website: null, address: { ortsteil: 'Mitte' }, notes: ['Eine Notiz'] }
  const noMatch = await app.inject({ method: 'PATCH', url: '/v1/organisations/jobcenter-berlin-mitte', headers: { ...bearer(key), ...MERGE_PATCH }, payload: patch })
  t.equal(noMatch.statusCode, 428)
  t.equal(noMatch.headers['content-type'], PROBLEM_JSON)
  const stale = await app.inject({ method: 'PATCH', url: '/v1/organisations/jobcenter-berlin-mitte', headers: { ...bearer(key), 'if-match': '"stale"' }, payload: patch })
  t.equal(stale.statusCode, 412)
  t.equal(stale.headers['content-type'], PROBLEM_JSON)
  t.equal(await etagOf(app, 'jobcenter-berlin-mitte'), etag, 'nothing was written')
  const since = app.dataVersion().seq
  const ok = await app.inject({ method: 'PATCH', url: '/v1/organisations/jobcenter-berlin-mitte', headers: { ...bearer(key), 'if-match': etag, ...MERGE_PATCH }, payload: patch })
  t.equal(ok.statusCode, 200)
  const updated = ok.json()
  t.equal(updated.phone, '030 5555 45-0')
  t.equal(updated.website, null, 'null clears a member')
  t.same(updated.address, { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: 'Mitte' }, 'nested objects merge')
  t.same(updated.notes, ['Eine Notiz'], 'arrays replace')
  t.same(updated.alternateNames, before.alternateNames, 'members not in the patch stay')
  t.same(updated.sites, before.sites, 'sites are untouched')
  t.same(updated.contacts, before.contacts)
  t.ok(updated.updatedAt > before.updatedAt)
  const reread = await app.inject('/v1/organisations/jobcenter-berlin-mitte')
  t.same(reread.json(), updated, 'stored as answered')
  t.equal(reread.headers.etag, ok.headers.etag, 'the ETag of the change is the ETag of a GET')
  t.not(ok.headers.etag, etag)
  t.same(await feedSince(app, since), [['organisation', before.id, 'update']])
  const history = (await getJson(app, '/v1/organisations/jobcenter-berlin-mitte/history')).body.items
  t.equal(history.length, 1)
  t.same(history[0].actor, { keyId, name: 'Redaktion' })
  t.equal(history[0].action, 'update')
  t.same(Object.keys(history[0].changes).sort(), ['address', 'notes', 'phone', 'website'])
  t.same(history[0].changes.website, { old: 'https://www.berlin.de/jobcenter-mitte/', new: null })
  t.same(history[0].changes.address, { old: before.address, new: updated.address })
  const again = await app.inject({ method: 'PATCH', url: '/v1/organisations/jobcenter-berlin-mitte', headers: { ...bearer(key), 'if-match': String(ok.headers.etag) }, payload: { phone: '030 5555 45-0' } })
  t.equal(again.statusCode, 200)
  t.equal(again.json().updatedAt, updated.updatedAt, 'a patch that changes nothing writes nothing')
  t.equal((await getJson(app, '/v1/organisations/jobcenter-berlin-mitte/history')).body.items.length, 1)
})

t.test('PATCH /v1/organisations/{idOrSlug} renames an operator: its facilities show the new name and slug at once', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const etag = await etagOf(app, 'pfefferwerk')
  const res = await app.inject({
    method: 'PATCH',
    url: '/v1/organisations/pfefferwerk',
    headers: { ...bearer(key), 'if-match': etag },
    payload: { slug: 'pfefferwerk-stadtkultur', name: 'Pfefferwerk Stadtkultur gGmbH (umbenannt)' }
  })
  t.equal(res.statusCode, 200)
  t.same(res.json().facilities.map((f: any) => f.slug), ['familienzentrum-wattstrasse', 'olof-palme-zentrum'])
  t.equal((await app.inject('/v1/organisations/pfefferwerk')).statusCode, 404, 'the old slug is gone')
  t.equal((await app.inject('/v1/organisations/pfefferwerk-stadtkultur')).statusCode, 200)
  const wattstrasse = (await getJson(app, '/v1/facilities/familienzentrum-wattstrasse')).body
  t.same(wattstrasse.operator, { id: seedId('organisation', 'pfefferwerk'), slug: 'pfefferwerk-stadtkultur', name: 'Pfefferwerk Stadtkultur gGmbH (umbenannt)', kind: 'operator' })
  t.equal((await getJson(app, '/v1/facilities?operator=pfefferwerk-stadtkultur')).body.total, 2, 'the operator filter takes the new slug')
  t.equal((await getJson(app, '/v1/facilities?operator=pfefferwerk')).body.total, 0)
  const history = (await getJson(app, `/v1/organisations/${seedId('organisation', 'pfefferwerk')}/history`)).body.items
  t.same(history[0].changes.slug, { old: 'pfefferwerk', new: 'pfefferwerk-stadtkultur' })
})

t.test('PATCH /v1/organisations/{idOrSlug} (422, 400, 404) for invalid changes', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const etag = await etagOf(app, 'stadtrand')
  const send = (payload: Record<string, unknown>, idOrSlug = 'stadtrand') => app.inject({ method: 'PATCH', url: `/v1/organisations/${idOrSlug}`, headers: { ...bearer(key), 'if-match': etag }, payload })
  const since = app.dataVersion().seq
  const taken = await send({ slug: 'fipp' })
  t.equal(taken.statusCode, 422)
  t.equal(taken.headers['content-type'], PROBLEM_JSON)
  t.same(taken.json().errors, [{ field: 'body.slug', message: `is already used by organisation ${seedId('organisation', 'fipp')}` }])
  const cleared = await send({ name: null, kind: null })
  t.equal(cleared.statusCode, 422, 'the merged record must be valid')
  t.same(cleared.json().errors.map((e: any) => e.field).sort(), ['body.kind', 'body.name'])
  const badEmail = await send({ email: 'keine-adresse' })
  t.equal(badEmail.statusCode, 400, 'the patch itself is checked against the schema')
  const unknownField = await send({ colour: 'blue' })
  t.equal(unknownField.statusCode, 400)
  t.same(unknownField.json().errors.map((e: any) => e.field), ['body.colour'])
  const sites = await send({ sites: [] })
  t.equal(sites.statusCode, 400, 'sites are read-only')
  t.equal((await send({})).statusCode, 400, 'an empty patch is no change')
  t.equal((await send({ phone: '030 1' }, 'no-such-organisation')).statusCode, 404)
  t.same(await feedSince(app, since), [], 'nothing was written')
  t.equal(await etagOf(app, 'stadtrand'), etag)
})

t.test('PATCH and DELETE /v1/organisations/{idOrSlug} need a valid key with directory:write (401, 403)', async (t) => {
  const app = await buildTestApp(t)
  const etag = await etagOf(app, 'fipp')
  const since = app.dataVersion().seq
  for (const method of ['PATCH', 'DELETE'] as const) {
    const payload = method === 'PATCH' ? { phone: '030 1' } : undefined
    const none = await app.inject({ method, url: '/v1/organisations/fipp', headers: { 'if-match': etag }, ...(payload ? { payload } : {}) })
    t.equal(none.statusCode, 401, `${method} without a key`)
    t.equal(none.headers['content-type'], PROBLEM_JSON)
    const unknown = await app.inject({ method, url: '/v1/organisations/fipp', headers: { ...bearer(UNKNOWN_KEY), 'if-match': etag }, ...(payload ? { payload } : {}) })
    t.equal(unknown.statusCode, 401, `${method} with an unknown key`)
    // A facility's key may not change its operator either: the operator is shared by others.
    for (const scopes of [['contacts:read-internal'], [`facility:${KREATIVHAUS}:write`]]) {
      const { key } = createKey(app, scopes)
      const res = await app.inject({ method, url: '/v1/organisations/fipp', headers: { ...bearer(key), 'if-match': etag }, ...(payload ? { payload } : {}) })
      t.equal(res.statusCode, 403, `${method} with ${scopes.join(' ')}`)
      t.equal(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().type, '/problems/insufficient-scope')
    }
  }
  t.same(await feedSince(app, since), [], 'nothing was written')
})

t.test('DELETE /v1/organisations/{idOrSlug} is a soft delete with tombstone, feed entry and history', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['directory:write'], 'Redaktion')
  const id = seedId('organisation', 'kreativhaus-ev')
  const before = (await getJson(app, '/v1/organisations/kreativhaus-ev')).body
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/organisations/kreativhaus-ev', headers: bearer(key) })).statusCode, 428)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/organisations/kreativhaus-ev', headers: { ...bearer(key), 'if-match': '"x"' } })).statusCode, 412)
  t.equal((await app.inject('/v1/organisations/kreativhaus-ev')).statusCode, 200, 'still there')
  await deleteContactsOf(t, app, 'kreativhaus-ev')
  const since = app.dataVersion().seq
  const sinceTime = new Date().toISOString()
  const etag = await etagOf(app, 'kreativhaus-ev')
  const res = await app.inject({ method: 'DELETE', url: '/v1/organisations/kreativhaus-ev', headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject('/v1/organisations/kreativhaus-ev')).statusCode, 404)
  t.equal((await getJson(app, '/v1/organisations')).body.total, 9)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/organisations/kreativhaus-ev', headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  const tombstones = (await getJson(app, `/v1/organisations?updatedSince=${sinceTime}`)).body.items
  t.same(tombstones.map((i: any) => [i.id, i.deleted]), [[id, true]])
  t.same(await feedSince(app, since), [['organisation', id, 'delete']])
  const history = (await getJson(app, '/v1/organisations/kreativhaus-ev/history')).body
  t.equal(history.id, id, 'the history of a deleted organisation stays readable by its slug')
  t.equal(history.items.length, 1)
  t.equal(history.items[0].action, 'delete')
  t.same(history.items[0].actor, { keyId, name: 'Redaktion' })
  t.same(history.items[0].changes.name, { old: before.name, new: null })
})

t.test('DELETE /v1/organisations/{idOrSlug} (409) while facilities name it as operator, or contacts, parties, events name it', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = app.dataVersion().seq
  const etag = await etagOf(app, 'fipp')
  const res = await app.inject({ method: 'DELETE', url: '/v1/organisations/fipp', headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 409)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same(res.json(), {
    type: '/problems/still-in-use',
    title: 'Conflict',
    status: 409,
    detail: "The organisation 'fipp' still operates 2 facilities (villa-luetzow, kreativhaus). Give them another operator (or none) first.",
    instance: '/v1/organisations/fipp'
  })
  t.same(await feedSince(app, since), [], 'nothing was written')
  t.equal((await getJson(app, '/v1/facilities/kreativhaus')).body.operator.slug, 'fipp')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/organisations/stadtrand', headers: { ...bearer(key), 'if-match': '"stale"' } })).statusCode, 412, 'a stale ETag is reported before the conflict')
  // The JobCenter operates no facility, but the agreement, its event and contacts name it.
  const jobcenter = await app.inject({ method: 'DELETE', url: '/v1/organisations/jobcenter-berlin-mitte', headers: { ...bearer(key), 'if-match': '*' } })
  t.equal(jobcenter.statusCode, 409)
  t.match(jobcenter.json().detail, /^The organisation 'jobcenter-berlin-mitte' is still named by the contacts [0-9a-f-]{36}, [0-9a-f-]{36}, the agreement party 'JobCenter Mitte' \([0-9a-f-]{36}\) and the event voneinander-wissen-in-mitte-2020;/)
  t.same(await feedSince(app, since), [], 'nothing was written')

  // Once its only facility has another operator, it can go.
  const shk = await app.inject('/v1/facilities/shk-mitte')
  const moved = await app.inject({ method: 'PATCH', url: '/v1/facilities/shk-mitte', headers: { ...bearer(key), 'if-match': String(shk.headers.etag) }, payload: { operator: null } })
  t.equal(moved.statusCode, 200)
  // Its contact still names it.
  const named = await app.inject({ method: 'DELETE', url: '/v1/organisations/stadtrand', headers: { ...bearer(key), 'if-match': await etagOf(app, 'stadtrand') } })
  t.equal(named.statusCode, 409)
  const stadtrandContact = app.db.$client.prepare("select c.id from contacts c join organisations o on o.id = c.organisation_id where o.slug = 'stadtrand'").pluck().get() as string
  t.equal(named.json().detail, `The organisation 'stadtrand' is still named by the contact ${stadtrandContact}; deleting it would change them unseen. Delete them or point them elsewhere first.`)
  // The contact is internal; the key that may delete the organisation may write it (and so delete it).
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/contacts/${stadtrandContact}`, headers: { ...bearer(key), 'if-match': '*' } })).statusCode, 204, 'directory:write resolves it without contacts:read-internal')
  const deleted = await app.inject({ method: 'DELETE', url: '/v1/organisations/stadtrand', headers: { ...bearer(key), 'if-match': await etagOf(app, 'stadtrand') } })
  t.equal(deleted.statusCode, 204)
  const reassign = await app.inject({ method: 'PATCH', url: '/v1/facilities/shk-mitte', headers: { ...bearer(key), 'if-match': String(moved.headers.etag) }, payload: { operator: 'stadtrand' } })
  t.equal(reassign.statusCode, 422, 'a deleted organisation cannot become an operator again')
})

t.test('GET /v1/organisations/{idOrSlug}/history (200) is empty for seeded records, (404) for unknown ones', async (t) => {
  const app = await buildTestApp(t)
  const seeded = await getJson(app, '/v1/organisations/bezirksamt-mitte/history')
  t.equal(seeded.res.statusCode, 200)
  t.same(seeded.body, { id: seedId('organisation', 'bezirksamt-mitte'), items: [] })
  const unknown = await getJson(app, '/v1/organisations/no-such-organisation/history')
  t.equal(unknown.res.statusCode, 404)
  t.equal(unknown.res.headers['content-type'], PROBLEM_JSON)
})

t.test('GET /v1/organisations/{idOrSlug} sends the ETag that writes compare', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject('/v1/organisations/bezirksamt-mitte')
  t.equal(res.headers.etag, entityTag(app.repos.organisations.find('bezirksamt-mitte')))
})

t.test('every seeded organisation is valid OrganisationInput, so it can be written back', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const organisations = (await getJson(app, '/v1/organisations')).body.items
  t.equal(organisations.length, 10)
  for (const listed of organisations) {
    const read = await app.inject(`/v1/organisations/${listed.slug}`)
    const writable = writableOf(read.json())
    t.ok(Value.Check(OrganisationInputSchema, writable), `${listed.slug}: ${[...Value.Errors(OrganisationInputSchema, writable)].map((e) => `${e.instancePath} ${e.message}`).join('; ')}`)
    const patched = await app.inject({ method: 'PATCH', url: `/v1/organisations/${listed.slug}`, headers: { ...bearer(key), 'if-match': String(read.headers.etag) }, payload: { notes: [...listed.notes, 'Geprüft im Test.'] } })
    t.equal(patched.statusCode, 200, `PATCH ${listed.slug}`)
    const copy = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: { ...writable, slug: `${listed.slug}-kopie` } })
    t.equal(copy.statusCode, 201, `POST a copy of ${listed.slug}: ${copy.body}`)
  }
})

t.test('the documented OrganisationInput example can be posted as it is', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const [example] = (OrganisationInputSchema as unknown as { examples: Record<string, unknown>[] }).examples
  const res = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(key), payload: example })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().name, example!.name)
})

t.test('a key that reads internal contacts may write with the ETag of the public answer (both name the record)', async (t) => {
  const app = await buildTestApp(t)
  const key = bearer(createKey(app, ['directory:write', 'contacts:read-internal']).key)
  const anonymous = await app.inject('/v1/organisations/kreativhaus-ev')
  const withKey = await app.inject({ url: '/v1/organisations/kreativhaus-ev', headers: key })
  t.ok(withKey.json().contacts.length > anonymous.json().contacts.length, 'the key sees an internal contact')
  t.not(withKey.headers.etag, anonymous.headers.etag, 'so its answer has another ETag')
  const patch = (etag: string, name: string) => app.inject({ method: 'PATCH', url: '/v1/organisations/kreativhaus-ev', headers: { ...key, 'if-match': etag, 'content-type': 'application/merge-patch+json' }, payload: { name } })
  const first = await patch(String(anonymous.headers.etag), 'Kreativhaus e. V. (1)')
  t.equal(first.statusCode, 200, 'the public ETag is current')
  t.equal((await patch(String(anonymous.headers.etag), 'Kreativhaus e. V. (2)')).statusCode, 412, 'and stale after the write')
  const fresh = await app.inject('/v1/organisations/kreativhaus-ev')
  t.equal((await patch(String(fresh.headers.etag), 'Kreativhaus e. V. (2)')).statusCode, 200)
  const stale = String(withKey.headers.etag)
  t.equal((await patch(stale, 'Kreativhaus e. V. (3)')).statusCode, 412, 'an old ETag of the key\'s answer is stale too')
})

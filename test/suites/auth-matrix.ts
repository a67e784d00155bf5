import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { seedId } from '../../src/lib/uuid.ts'
import { OPENAPI_FILE } from '../../openapi/document.ts'
import { readFileSync } from 'node:fs'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson } from '../helper.ts'

// Every write route of the OpenAPI document × every kind of key: no key, unknown key, revoked
// key, read-only key, another facility's key, the right key. Routes come from the document, so
// a new write route without a case here fails the test.

const KREATIVHAUS = seedId('facility', 'kreativhaus')
const SHK = seedId('facility', 'shk-mitte')
const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))

interface Target {
  url: string
  // GET url whose ETag a PATCH/DELETE must send
  read?: string
  body?: unknown
  // the key that must succeed: one facility's own key, or a directory-wide scope
  right: 'facility' | 'directory:write' | 'admin'
  // the facility whose own key is right (default: the Kreativhaus)
  facility?: string
  // what must happen before the write can succeed
  prepare?: (app: FastifyInstance) => Promise<void>
  success: number
}

// A facility that no contact, agreement party or event names, so it can be deleted.
const MOABIT_OST = seedId('facility', 'familienzentrum-moabit-ost')

// Nothing but its own records may name an organisation that is deleted: its contacts go first.
async function deleteContactsOf (app: FastifyInstance, slug: string): Promise<void> {
  const key = bearer(createKey(app, ['directory:write', 'contacts:read-internal']).key)
  for (const c of (await getJson(app, `/v1/contacts?organisation=${slug}&limit=500`, { headers: key })).body.items) {
    const res = await app.inject({ method: 'DELETE', url: `/v1/contacts/${c.id}`, headers: { ...key, 'if-match': '*' } })
    if (res.statusCode !== 204) throw new Error(`deleting contact ${c.id}: ${res.statusCode}`)
  }
}

const example = (schemaName: string) => structuredClone(doc.components.schemas[schemaName].examples[0])

// Records the routes act on: Kreativhaus and its own records where a facility key applies.
async function targets (app: FastifyInstance): Promise<Record<string, Target>> {
  const service = (await getJson(app, '/v1/facilities/kreativhaus/services')).body.items[0].id
  const agreement = (await getJson(app, '/v1/agreements/kooperationsvereinbarung-2018')).body
  const party = agreement.parties.find((p: any) => p.facility?.slug === 'stadtschloss-moabit').id
  const { key } = createKey(app, ['directory:write'])
  const contact = await app.inject({
    method: 'POST',
    url: '/v1/contacts',
    headers: bearer(key),
    payload: { ...example('ContactInput'), name: 'Matrix Testkontakt', organisation: null, facility: 'kreativhaus', visibility: 'public' }
  })
  const category = await app.inject({ method: 'POST', url: '/v1/categories', headers: bearer(key), payload: example('CategoryInput') })
  const contactId = contact.json().id
  const categorySlug = category.json().slug
  const facilityRead = '/v1/facilities/kreativhaus'
  return {
    'POST /v1/facilities': { url: '/v1/facilities', body: example('FacilityInput'), right: 'directory:write', success: 201 },
    'PATCH /v1/facilities/{idOrSlug}': { url: facilityRead, read: facilityRead, body: { notes: ['Matrixtest'] }, right: 'facility', success: 200 },
    'DELETE /v1/facilities/{idOrSlug}': { url: `/v1/facilities/${MOABIT_OST}`, read: `/v1/facilities/${MOABIT_OST}`, right: 'facility', facility: MOABIT_OST, success: 204 },
    'POST /v1/facilities/{idOrSlug}/verification': { url: `${facilityRead}/verification`, body: {}, right: 'facility', success: 200 },
    'POST /v1/services': { url: '/v1/services', body: { ...example('ServiceInput'), facility: 'kreativhaus' }, right: 'facility', success: 201 },
    'PATCH /v1/services/{id}': { url: `/v1/services/${service}`, read: `/v1/services/${service}`, body: { feeNote: 'kostenlos (Matrixtest)' }, right: 'facility', success: 200 },
    'DELETE /v1/services/{id}': { url: `/v1/services/${service}`, read: `/v1/services/${service}`, right: 'facility', success: 204 },
    'POST /v1/contacts': { url: '/v1/contacts', body: { ...example('ContactInput'), name: 'Noch ein Testkontakt', organisation: null, facility: 'kreativhaus', visibility: 'public' }, right: 'facility', success: 201 },
    'PATCH /v1/contacts/{id}': { url: `/v1/contacts/${contactId}`, read: `/v1/contacts/${contactId}`, body: { role: 'Testrolle' }, right: 'facility', success: 200 },
    'DELETE /v1/contacts/{id}': { url: `/v1/contacts/${contactId}`, read: `/v1/contacts/${contactId}`, right: 'facility', success: 204 },
    'POST /v1/organisations': { url: '/v1/organisations', body: example('OrganisationInput'), right: 'directory:write', success: 201 },
    'PATCH /v1/organisations/{idOrSlug}': { url: '/v1/organisations/kreativhaus-ev', read: '/v1/organisations/kreativhaus-ev', body: { notes: ['Matrixtest'] }, right: 'directory:write', success: 200 },
    'DELETE /v1/organisations/{idOrSlug}': { url: '/v1/organisations/kreativhaus-ev', read: '/v1/organisations/kreativhaus-ev', right: 'directory:write', prepare: (app) => deleteContactsOf(app, 'kreativhaus-ev'), success: 204 },
    'POST /v1/target-groups': { url: '/v1/target-groups', body: example('TargetGroupInput'), right: 'directory:write', success: 201 },
    'PATCH /v1/target-groups/{idOrSlug}': { url: '/v1/target-groups/arbeitsuchende', read: '/v1/target-groups/arbeitsuchende', body: { labelEn: 'Job seekers' }, right: 'directory:write', success: 200 },
    'DELETE /v1/target-groups/{idOrSlug}': { url: '/v1/target-groups/arbeitsuchende', read: '/v1/target-groups/arbeitsuchende', right: 'directory:write', success: 204 },
    'POST /v1/categories': { url: '/v1/categories', body: { ...example('CategoryInput'), slug: 'matrixtest' }, right: 'directory:write', success: 201 },
    'PATCH /v1/categories/{idOrSlug}': { url: `/v1/categories/${categorySlug}`, read: `/v1/categories/${categorySlug}`, body: { labelEn: 'Digital (test)' }, right: 'directory:write', success: 200 },
    'DELETE /v1/categories/{idOrSlug}': { url: `/v1/categories/${categorySlug}`, read: `/v1/categories/${categorySlug}`, right: 'directory:write', success: 204 },
    'PATCH /v1/agreements/{idOrSlug}': { url: '/v1/agreements/kooperationsvereinbarung-2018', read: '/v1/agreements/kooperationsvereinbarung-2018', body: { statusNotes: ['Matrixtest'] }, right: 'admin', success: 200 },
    'POST /v1/agreements/{idOrSlug}/parties': { url: '/v1/agreements/kooperationsvereinbarung-2018/parties', body: { ...example('AgreementPartyInput'), facility: 'begegnungsstaette-spandauer-strasse', name: 'Begegnungsstätte Spandauer Straße', confirmation: 'probable' }, right: 'admin', success: 201 },
    'PATCH /v1/agreement-parties/{id}': { url: `/v1/agreement-parties/${party}`, read: `/v1/agreement-parties/${party}`, body: { evidence: 'Weiterhin nur erschlossen (Matrixtest).' }, right: 'admin', success: 200 },
    'DELETE /v1/agreement-parties/{id}': { url: `/v1/agreement-parties/${party}`, read: `/v1/agreement-parties/${party}`, right: 'admin', success: 204 },
    'POST /v1/events': { url: '/v1/events', body: { ...example('EventInput'), slug: 'matrixtest-2026' }, right: 'admin', success: 201 },
    'PATCH /v1/events/{idOrSlug}': { url: '/v1/events/voneinander-wissen-in-mitte-2020', read: '/v1/events/voneinander-wissen-in-mitte-2020', body: { description: 'Matrixtest' }, right: 'admin', success: 200 },
    'DELETE /v1/events/{idOrSlug}': { url: '/v1/events/voneinander-wissen-in-mitte-2020', read: '/v1/events/voneinander-wissen-in-mitte-2020', right: 'admin', success: 204 }
  }
}

const writeRoutes = Object.entries<Record<string, any>>(doc.paths).flatMap(([path, item]) =>
  Object.keys(item).filter((method) => method !== 'get').map((method) => `${method.toUpperCase()} ${path}`))

t.test('the matrix covers every write route of the OpenAPI document', async (t) => {
  const app = await buildTestApp(t)
  t.same(writeRoutes.sort(), Object.keys(await targets(app)).sort())
})

for (const route of writeRoutes) {
  t.test(`${route}: 401 / 403 / success by key`, async (t) => {
    const app = await buildTestApp(t)
    const target = (await targets(app))[route]!
    await target.prepare?.(app)
    const method = route.split(' ')[0] as 'POST' | 'PATCH' | 'DELETE'
    const revoked = createKey(app, ['directory:write', 'admin'])
    app.repos.apiKeys.revoke(revoked.id)
    const keys: [string, Record<string, string>, number][] = [
      ['no key', {}, 401],
      ['unknown key', bearer('mpd_AAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 401],
      ['malformed header', { authorization: 'Basic dXNlcjpwYXNz' }, 401],
      ['revoked key', bearer(revoked.key), 401],
      ['read-only key', bearer(createKey(app, ['contacts:read-internal']).key), 403],
      ['another facility\'s key', bearer(createKey(app, [`facility:${SHK}:write`]).key), 403]
    ]
    if (target.right !== 'facility') keys.push(['a facility\'s own key', bearer(createKey(app, [`facility:${KREATIVHAUS}:write`]).key), 403])
    const send = async (headers: Record<string, string>) => {
      const etag = target.read === undefined ? {} : { 'if-match': String((await app.inject({ url: target.read, headers })).headers.etag) }
      return app.inject({ method, url: target.url, headers: { ...headers, ...etag }, ...(target.body === undefined ? {} : { payload: target.body as object }) })
    }
    for (const [name, headers, status] of keys) {
      const res = await send(headers)
      t.equal(res.statusCode, status, `${name} → ${status}`)
      t.equal(res.headers['content-type'], PROBLEM_JSON, `${name}: problem+json`)
    }
    // The key is checked before the body is read: a body that is invalid, not JSON, of another
    // media type or too large changes none of these answers (without a key it would be 400, 400,
    // 415, 413). (Which facility a facility's key may write is checked against the record, after
    // validation.)
    if (method !== 'DELETE') {
      const bodies: [string, { payload: string | Buffer, contentType: string }][] = [
        ['invalid body', { payload: '[]', contentType: 'application/json' }],
        ['malformed JSON', { payload: '{"name": ', contentType: 'application/json' }],
        ['text/plain body', { payload: 'name=x', contentType: 'text/plain' }],
        ['body over the limit', { payload: Buffer.alloc(1024 * 1024 + 1, 0x20), contentType: 'application/json' }]
      ]
      for (const [name, headers, status] of keys.filter(([name]) => !(target.right === 'facility' && name === 'another facility\'s key'))) {
        for (const [what, body] of bodies) {
          const res = await app.inject({ method, url: target.url, headers: { ...headers, 'if-match': '*', 'content-type': body.contentType }, payload: body.payload })
          t.equal(res.statusCode, status, `${name}, ${what} → ${status}`)
        }
      }
      const anonymous = await app.inject({ method, url: target.url, headers: { ...bearer(createKey(app, ['directory:write', 'admin']).key), 'if-match': '*', 'content-type': 'application/json' }, payload: '{"name": ' })
      t.equal(anonymous.statusCode, 400, 'with the right key, malformed JSON is 400')
    }
    const right = target.right === 'facility' ? [`facility:${target.facility ?? KREATIVHAUS}:write`] : [target.right]
    const ok = await send(bearer(createKey(app, right).key))
    t.equal(ok.statusCode, target.success, `the right key (${right.join(' ')}) → ${target.success}: ${ok.body.slice(0, 300)}`)
    if (target.right !== 'directory:write') {
      const app2 = await buildTestApp(t)
      const target2 = (await targets(app2))[route]!
      await target2.prepare?.(app2)
      const etag = target2.read === undefined ? {} : { 'if-match': String((await app2.inject(target2.read)).headers.etag) }
      const all = await app2.inject({ method, url: target2.url, headers: { ...bearer(createKey(app2, ['directory:write']).key), ...etag }, ...(target2.body === undefined ? {} : { payload: target2.body as object }) })
      t.equal(all.statusCode, target2.success, 'directory:write may do everything')
    }
  })
}

import t from 'tap'
import { Value } from 'typebox/value'
import type { FastifyInstance } from 'fastify'
import { seedId } from '../../src/lib/uuid.ts'
import { CategoryInputSchema, TargetGroupInputSchema } from '../../src/schemas/vocabularies.ts'
import { writableOf } from '../../src/repositories/vocabularies-repository.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson } from '../helper.ts'

const KREATIVHAUS = seedId('facility', 'kreativhaus')
const UNKNOWN_KEY = `mpd_AAAAAAAAAA_${'A'.repeat(43)}`

const VOCABULARIES = [
  {
    path: '/v1/target-groups',
    entityType: 'target_group',
    what: 'target group',
    seeded: 'senioren',
    other: 'kinder',
    total: 19,
    schema: TargetGroupInputSchema,
    input: { slug: 'alleinerziehende', labelDe: 'Alleinerziehende', labelEn: 'Single parents', description: 'Mütter und Väter, die ihre Kinder allein erziehen.' },
    derived: { facilityCount: 0, serviceCount: 0, facilities: [], services: [] }
  },
  {
    path: '/v1/categories',
    entityType: 'category',
    what: 'category',
    seeded: 'selbsthilfe',
    other: 'beratung',
    total: 13,
    schema: CategoryInputSchema,
    input: { slug: 'digitales', labelDe: 'Digitales', labelEn: 'Digital skills', description: 'Hilfe im Umgang mit Smartphone, Computer und Internet.' },
    derived: { serviceCount: 0, facilityCount: 0 }
  }
] as const

const etagOf = async (app: FastifyInstance, url: string) => String((await app.inject(url)).headers.etag)

const feedSince = async (app: FastifyInstance, since: number) =>
  (await getJson(app, `/v1/changes?since=${since}&limit=1000`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])

const idsOf = (body: { items: { id: string }[] }) => body.items.map((i) => i.id).sort()

for (const v of VOCABULARIES) {
  t.test(`POST ${v.path} (201) creates an entry with Location and ETag, in feed and history`, async (t) => {
    const app = await buildTestApp(t)
    const { key, id: keyId } = createKey(app, ['directory:write'], 'Redaktion Vokabular')
    const since = app.dataVersion().seq
    const res = await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: v.input })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.equal(res.headers.location, `${v.path}/${body.id}`)
    const { id, createdAt, updatedAt, ...rest } = body
    t.same(rest, { ...v.input, ...v.derived }, 'stored as sent, with its counts')
    t.equal(createdAt, updatedAt)
    const read = await app.inject(`${v.path}/${v.input.slug}`)
    t.same(read.json(), body)
    t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
    t.equal((await getJson(app, v.path)).body.total, v.total + 1)
    t.same(await feedSince(app, since), [[v.entityType, id, 'create']])
    const history = (await getJson(app, `${v.path}/${id}/history`)).body
    t.same(history, {
      id,
      items: [{
        seq: history.items[0].seq,
        action: 'create',
        actor: { keyId, name: 'Redaktion Vokabular' },
        changedAt: createdAt,
        changes: Object.fromEntries(Object.entries(v.input).map(([name, value]) => [name, { old: null, new: value }]))
      }]
    })
  })

  t.test(`POST ${v.path} (400, 422) rejects invalid entries and slugs in use`, async (t) => {
    const app = await buildTestApp(t)
    const { key } = createKey(app, ['directory:write'])
    const since = app.dataVersion().seq
    const invalid = await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: { ...v.input, slug: 'Nicht gültig', labelEn: undefined, labelDe: '', serviceCount: 3 } })
    t.equal(invalid.statusCode, 400)
    t.equal(invalid.headers['content-type'], PROBLEM_JSON)
    t.same([...new Set(invalid.json().errors.map((e: any) => e.field))].sort(), ['body.labelDe', 'body.labelEn', 'body.serviceCount', 'body.slug'])
    const taken = await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: { ...v.input, slug: v.seeded } })
    t.equal(taken.statusCode, 422)
    t.equal(taken.headers['content-type'], PROBLEM_JSON)
    t.same(taken.json().errors, [{ field: 'body.slug', message: `is already used by ${v.what} ${seedId(v.entityType.replace('_', '-'), v.seeded)}` }])
    t.same(await feedSince(app, since), [], 'nothing was written')
  })

  t.test(`POST ${v.path} with Idempotency-Key returns the first result on retry`, async (t) => {
    const app = await buildTestApp(t)
    const { key } = createKey(app, ['directory:write'])
    const headers = { ...bearer(key), 'idempotency-key': `create-${v.input.slug}` }
    const first = await app.inject({ method: 'POST', url: v.path, headers, payload: v.input })
    const retry = await app.inject({ method: 'POST', url: v.path, headers, payload: v.input })
    t.equal(first.statusCode, 201)
    t.equal(retry.statusCode, 201)
    t.same(retry.json(), first.json())
    t.equal(retry.headers.location, first.headers.location)
    t.equal(retry.headers['idempotent-replayed'], 'true')
    t.equal((await getJson(app, v.path)).body.total, v.total + 1, 'no duplicate')
    const other = await app.inject({ method: 'POST', url: v.path, headers, payload: { ...v.input, slug: 'etwas-anderes' } })
    t.equal(other.statusCode, 422)
    t.equal(other.json().type, '/problems/idempotency-key-reused')
  })

  t.test(`${v.path} writes need a valid key with directory:write (401, 403)`, async (t) => {
    const app = await buildTestApp(t)
    const url = `${v.path}/${v.seeded}`
    const etag = await etagOf(app, url)
    const since = app.dataVersion().seq
    const requests = [
      { method: 'POST' as const, url: v.path, payload: v.input },
      { method: 'PATCH' as const, url, payload: { labelEn: 'Changed' } },
      { method: 'DELETE' as const, url }
    ]
    for (const request of requests) {
      const name = `${request.method} ${request.url}`
      const none = await app.inject({ ...request, headers: { 'if-match': etag } })
      t.equal(none.statusCode, 401, `${name} without a key`)
      t.equal(none.headers['content-type'], PROBLEM_JSON)
      const unknown = await app.inject({ ...request, headers: { ...bearer(UNKNOWN_KEY), 'if-match': etag } })
      t.equal(unknown.statusCode, 401, `${name} with an unknown key`)
      // The vocabulary is shared by every facility, so a facility's own key may not change it.
      for (const scopes of [['contacts:read-internal'], [`facility:${KREATIVHAUS}:write`], ['admin']]) {
        const { key } = createKey(app, scopes)
        const res = await app.inject({ ...request, headers: { ...bearer(key), 'if-match': etag } })
        t.equal(res.statusCode, 403, `${name} with ${scopes.join(' ')}`)
        t.equal(res.headers['content-type'], PROBLEM_JSON)
        t.equal(res.json().type, '/problems/insufficient-scope')
      }
    }
    t.same(await feedSince(app, since), [], 'nothing was written')
  })

  t.test(`PATCH ${v.path}/{idOrSlug} needs If-Match (428), rejects stale ETags (412) and invalid merges (400, 422)`, async (t) => {
    const app = await buildTestApp(t)
    const { key } = createKey(app, ['directory:write'])
    const url = `${v.path}/${v.seeded}`
    const etag = await etagOf(app, url)
    const since = app.dataVersion().seq
    const send = (payload: Record<string, unknown>, headers: Record<string, string> = { 'if-match': etag }, target = url) =>
      app.inject({ method: 'PATCH', url: target, headers: { ...bearer(key), ...headers }, payload })
    const missing = await send({ labelEn: 'Changed' }, {})
    t.equal(missing.statusCode, 428)
    t.equal(missing.headers['content-type'], PROBLEM_JSON)
    const stale = await send({ labelEn: 'Changed' }, { 'if-match': '"stale"' })
    t.equal(stale.statusCode, 412)
    t.equal(stale.headers['content-type'], PROBLEM_JSON)
    const taken = await send({ slug: v.other })
    t.equal(taken.statusCode, 422)
    t.same(taken.json().errors, [{ field: 'body.slug', message: `is already used by ${v.what} ${seedId(v.entityType.replace('_', '-'), v.other)}` }])
    const cleared = await send({ labelDe: null, description: null })
    t.equal(cleared.statusCode, 422, 'every member is required, so null makes the merged entry invalid')
    t.same(cleared.json().errors.map((e: any) => e.field).sort(), ['body.description', 'body.labelDe'])
    const unknownField = await send({ facilityCount: 3 })
    t.equal(unknownField.statusCode, 400)
    t.same(unknownField.json().errors.map((e: any) => e.field), ['body.facilityCount'])
    t.equal((await send({ slug: 'Nicht gültig' })).statusCode, 400)
    t.equal((await send({})).statusCode, 400, 'an empty patch is no change')
    t.equal((await send({ labelEn: 'Changed' }, { 'if-match': etag }, `${v.path}/no-such-entry`)).statusCode, 404)
    t.same(await feedSince(app, since), [], 'nothing was written')
    t.equal(await etagOf(app, url), etag)
  })

  t.test(`PATCH ${v.path}/{idOrSlug} changes the slug; the old one is gone, filters take the new one`, async (t) => {
    const app = await buildTestApp(t)
    const { key, id: keyId } = createKey(app, ['directory:write'], 'Redaktion')
    const url = `${v.path}/${v.seeded}`
    const read = await app.inject(url)
    const before = read.json()
    const filter = v.entityType === 'category' ? 'category' : 'targetGroup'
    const facilities = idsOf((await getJson(app, `/v1/facilities?${filter}=${v.seeded}&limit=500`)).body)
    t.ok(facilities.length > 0)
    const since = app.dataVersion().seq
    const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': String(read.headers.etag), 'content-type': 'application/merge-patch+json' }, payload: { slug: `${v.seeded}-neu` } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ...before, slug: `${v.seeded}-neu`, updatedAt: res.json().updatedAt })
    t.ok(res.json().updatedAt > before.updatedAt)
    t.equal((await app.inject(url)).statusCode, 404)
    const reread = await app.inject(`${v.path}/${v.seeded}-neu`)
    t.same(reread.json(), res.json())
    t.equal(reread.headers.etag, res.headers.etag, 'the ETag of the change is the ETag of a GET')
    t.same(idsOf((await getJson(app, `/v1/facilities?${filter}=${v.seeded}-neu&limit=500`)).body), facilities)
    // The facilities and services show the slug, so they changed too and follow in the feed.
    const services = (await getJson(app, `/v1/services?${filter}=${v.seeded}-neu&limit=500`)).body.items.map((s: { id: string }) => s.id).sort()
    t.ok(services.length > 0)
    const [first, ...rest] = await feedSince(app, since)
    t.same(first, [v.entityType, before.id, 'update'])
    t.same(rest.filter((c: any[]) => c[0] === 'facility').map((c: any[]) => c[1]).sort(), facilities)
    t.same(rest.filter((c: any[]) => c[0] === 'service').map((c: any[]) => c[1]).sort(), services)
    t.ok(rest.every((c: any[]) => ['facility', 'service'].includes(c[0]) && c[2] === 'update'))
    const history = (await getJson(app, `${v.path}/${v.seeded}-neu/history`)).body.items
    t.equal(history.length, 1)
    t.same(history[0].actor, { keyId, name: 'Redaktion' })
    t.same(history[0].changes, { slug: { old: v.seeded, new: `${v.seeded}-neu` } })
  })

  t.test(`DELETE ${v.path}/{idOrSlug} is a soft delete with tombstone, feed entry and history`, async (t) => {
    const app = await buildTestApp(t)
    const { key, id: keyId } = createKey(app, ['directory:write'], 'Redaktion')
    const created = (await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: v.input })).json()
    const url = `${v.path}/${v.input.slug}`
    t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(key) })).statusCode, 428)
    t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': '"x"' } })).statusCode, 412)
    t.equal((await app.inject(url)).statusCode, 200, 'still there')
    const since = app.dataVersion().seq
    const sinceTime = new Date().toISOString()
    const etag = await etagOf(app, url)
    const res = await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal((await app.inject(url)).statusCode, 404)
    t.equal((await getJson(app, v.path)).body.total, v.total)
    t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
    t.same((await getJson(app, `${v.path}?updatedSince=${sinceTime}`)).body.items.map((i: any) => [i.id, i.deleted]), [[created.id, true]])
    t.same(await feedSince(app, since), [[v.entityType, created.id, 'delete']])
    const history = (await getJson(app, `${url}/history`)).body
    t.equal(history.id, created.id, 'the history of a deleted entry stays readable by its slug')
    t.same(history.items.map((h: any) => h.action), ['create', 'delete'])
    t.same(history.items[1].actor, { keyId, name: 'Redaktion' })
    t.same(history.items[1].changes.labelDe, { old: v.input.labelDe, new: null })
    const reuse = await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: v.input })
    t.equal(reuse.statusCode, 422, 'a deleted entry keeps its slug')
  })

  t.test(`GET ${v.path}/{idOrSlug}/history (200) is empty for the seeded vocabulary, (404) for unknown entries`, async (t) => {
    const app = await buildTestApp(t)
    const seeded = await getJson(app, `${v.path}/${v.seeded}/history`)
    t.equal(seeded.res.statusCode, 200)
    t.same(seeded.body, { id: seedId(v.entityType.replace('_', '-'), v.seeded), items: [] })
    const unknown = await getJson(app, `${v.path}/no-such-entry/history`)
    t.equal(unknown.res.statusCode, 404)
    t.equal(unknown.res.headers['content-type'], PROBLEM_JSON)
  })

  t.test(`every seeded entry of ${v.path} is valid input, so it can be written back`, async (t) => {
    const app = await buildTestApp(t)
    const { key } = createKey(app, ['directory:write'])
    const entries = (await getJson(app, `${v.path}?limit=500`)).body.items
    t.equal(entries.length, v.total)
    for (const entry of entries) {
      const writable = writableOf(entry)
      t.ok(Value.Check(v.schema, writable), `${entry.slug}: ${[...Value.Errors(v.schema, writable)].map((e) => `${e.instancePath} ${e.message}`).join('; ')}`)
      const read = await app.inject(`${v.path}/${entry.slug}`)
      const patched = await app.inject({ method: 'PATCH', url: `${v.path}/${entry.slug}`, headers: { ...bearer(key), 'if-match': String(read.headers.etag) }, payload: { description: `${entry.description} (geprüft)` } })
      t.equal(patched.statusCode, 200, `PATCH ${entry.slug}`)
      const copy = await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: { ...writable, slug: `${entry.slug}-kopie` } })
      t.equal(copy.statusCode, 201, `POST a copy of ${entry.slug}: ${copy.body}`)
    }
  })
}

t.test('PATCH /v1/target-groups/{idOrSlug} with new labels reindexes the facilities and services linking to it', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const read = await app.inject('/v1/target-groups/senioren')
  const senioren = read.json()
  const facilities = idsOf((await getJson(app, '/v1/facilities?targetGroup=senioren&limit=500')).body)
  const services = idsOf((await getJson(app, '/v1/services?targetGroup=senioren&limit=500')).body)
  t.equal(facilities.length, senioren.facilityCount)
  t.equal(services.length, senioren.serviceCount)
  t.equal((await getJson(app, '/v1/facilities?q=Silberlocken')).body.total, 0, 'no match before')
  t.equal((await getJson(app, '/v1/services?q=Goldenagers')).body.total, 0)
  const res = await app.inject({
    method: 'PATCH',
    url: '/v1/target-groups/senioren',
    headers: { ...bearer(key), 'if-match': String(read.headers.etag) },
    payload: { labelDe: 'Silberlocken', labelEn: 'Goldenagers' }
  })
  t.equal(res.statusCode, 200)
  t.equal(res.json().labelDe, 'Silberlocken')
  t.same(idsOf((await getJson(app, '/v1/facilities?q=Silberlocken&limit=500')).body), facilities, 'every linked facility is found by the new label')
  t.same(idsOf((await getJson(app, '/v1/services?q=Goldenagers&limit=500')).body), services, 'every linked service is found by the new label')
  const kreativhaus = (await getJson(app, '/v1/facilities/kreativhaus')).body
  t.same(kreativhaus.targetGroups.find((g: any) => g.slug === 'senioren'), {
    id: senioren.id, slug: 'senioren', labelDe: 'Silberlocken', labelEn: 'Goldenagers', originalWording: kreativhaus.targetGroups.find((g: any) => g.slug === 'senioren').originalWording
  }, 'facilities embed the new labels')
  const history = (await getJson(app, '/v1/target-groups/senioren/history')).body.items
  t.same(history[0].changes, {
    labelDe: { old: 'Seniorinnen und Senioren', new: 'Silberlocken' },
    labelEn: { old: 'Older people', new: 'Goldenagers' }
  })
})

t.test('PATCH /v1/categories/{idOrSlug} with new labels reindexes the facilities with services in it', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const read = await app.inject('/v1/categories/selbsthilfe')
  const facilities = idsOf((await getJson(app, '/v1/facilities?category=selbsthilfe&limit=500')).body)
  const services = idsOf((await getJson(app, '/v1/services?category=selbsthilfe&limit=500')).body)
  t.equal(facilities.length, read.json().facilityCount)
  t.equal(services.length, read.json().serviceCount)
  t.equal((await getJson(app, '/v1/facilities?q=Zauberei')).body.total, 0, 'no match before')
  t.equal((await getJson(app, '/v1/services?q=Zauberei')).body.total, 0)
  const res = await app.inject({
    method: 'PATCH',
    url: '/v1/categories/selbsthilfe',
    headers: { ...bearer(key), 'if-match': String(read.headers.etag) },
    payload: { labelDe: 'Selbsthilfe und Zauberei' }
  })
  t.equal(res.statusCode, 200)
  t.same(idsOf((await getJson(app, '/v1/facilities?q=Zauberei&limit=500')).body), facilities)
  t.same(idsOf((await getJson(app, '/v1/services?q=Zauberei&limit=500')).body), services)
  const service = (await getJson(app, `/v1/services/${services[0]}`)).body
  t.equal(service.category.labelDe, 'Selbsthilfe und Zauberei', 'services embed the new label')
})

t.test('DELETE /v1/target-groups/{idOrSlug} (409) while facilities or services link to it', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const remove = async (slug: string) =>
    app.inject({ method: 'DELETE', url: `/v1/target-groups/${slug}`, headers: { ...bearer(key), 'if-match': await etagOf(app, `/v1/target-groups/${slug}`) } })
  const since = app.dataVersion().seq
  const both = await remove('eltern')
  t.equal(both.statusCode, 409)
  t.equal(both.headers['content-type'], PROBLEM_JSON)
  t.same(both.json(), {
    type: '/problems/still-in-use',
    title: 'Conflict',
    status: 409,
    detail: "The target group 'eltern' is still linked by 2 facilities (familienzentrum-wattstrasse, sprengelhaus) and 3 services. Remove the links first.",
    instance: '/v1/target-groups/eltern'
  })
  const frauen = (await getJson(app, '/v1/target-groups/frauen')).body
  t.same(frauen.facilities.map((f: any) => f.via), [['service']], 'frauen is linked only through a service')
  t.equal((await remove('frauen')).statusCode, 409, 'a service link alone blocks the delete')
  t.equal((await remove('studierende')).statusCode, 409, 'a facility link alone blocks the delete')
  t.same(await feedSince(app, since), [], 'nothing was written')

  // Once the Meerbaum-Haus no longer names students, the group can go.
  const meerbaum = await app.inject('/v1/facilities/meerbaum-haus')
  const targetGroups = meerbaum.json().targetGroups.filter((g: any) => g.slug !== 'studierende').map((g: any) => ({ targetGroup: g.slug, originalWording: g.originalWording }))
  const unlinked = await app.inject({ method: 'PATCH', url: '/v1/facilities/meerbaum-haus', headers: { ...bearer(key), 'if-match': String(meerbaum.headers.etag) }, payload: { targetGroups } })
  t.equal(unlinked.statusCode, 200)
  t.equal((await remove('studierende')).statusCode, 204)
  t.equal((await remove('arbeitsuchende')).statusCode, 204, 'a group nobody names can go at once')
  const relink = await app.inject({ method: 'PATCH', url: '/v1/facilities/meerbaum-haus', headers: { ...bearer(key), 'if-match': String(unlinked.headers.etag) }, payload: { targetGroups: [...targetGroups, { targetGroup: 'studierende', originalWording: 'Studierende' }] } })
  t.equal(relink.statusCode, 422, 'a deleted group cannot be linked again')
})

t.test('DELETE /v1/categories/{idOrSlug} (409) while services use it', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const since = app.dataVersion().seq
  const res = await app.inject({ method: 'DELETE', url: '/v1/categories/beratung', headers: { ...bearer(key), 'if-match': await etagOf(app, '/v1/categories/beratung') } })
  t.equal(res.statusCode, 409)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same(res.json(), {
    type: '/problems/still-in-use',
    title: 'Conflict',
    status: 409,
    detail: "The category 'beratung' is still used by 8 services of 6 facilities. Move them to another category first.",
    instance: '/v1/categories/beratung'
  })
  t.same(await feedSince(app, since), [], 'nothing was written')
  t.equal((await app.inject('/v1/categories/beratung')).statusCode, 200)
})

t.test('the documented TargetGroupInput and CategoryInput examples can be posted as they are', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  for (const v of VOCABULARIES) {
    const [example] = (v.schema as unknown as { examples: Record<string, unknown>[] }).examples
    const res = await app.inject({ method: 'POST', url: v.path, headers: bearer(key), payload: example })
    t.equal(res.statusCode, 201, `${v.path}: ${res.body}`)
    t.equal(res.json().slug, example!.slug)
  }
})

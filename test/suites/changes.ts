import t from 'tap'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson, insertTestFacility, softDeleteFacility, readOnlyApp } from '../helper.ts'

t.test('GET /v1/changes (200) starts with one create per seeded record, in order', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/changes?limit=1000')
  t.equal(res.statusCode, 200)
  // Every seeded record but the 8 internal contacts (never public: not listed for public readers).
  t.equal(body.items.length, 199)
  t.equal(body.hasMore, false)
  t.equal(body.lastSeq, body.items.at(-1).seq)
  t.ok(body.items.every((c: any, i: number) => i === 0 || c.seq > body.items[i - 1].seq), 'strictly increasing')
  t.ok(body.items.every((c: any) => c.action === 'create' || c.action === 'delete'))
  const counts = Object.fromEntries(['facility', 'service', 'contact'].map((type) => [type, body.items.filter((c: any) => c.entityType === type).length]))
  t.same(counts, { facility: 14, service: 114, contact: 4 })
  const kreativhaus = body.items.find((c: any) => c.entityId === seedId('facility', 'kreativhaus'))
  t.same({ ...kreativhaus, seq: 0, changedAt: '' }, {
    seq: 0, entityType: 'facility', entityId: seedId('facility', 'kreativhaus'), action: 'create', changedAt: '', href: `/v1/facilities/${seedId('facility', 'kreativhaus')}`
  })
  const unit = body.items.find((c: any) => c.entityType === 'organisation_unit')
  t.equal(unit.href, `/v1/organisations/${seedId('organisation', 'bezirksamt-mitte')}`, 'embedded records point to their parent')
  t.equal(body.links.next, `/v1/changes?limit=1000&since=${body.lastSeq}`)
})

t.test('GET /v1/changes pages with since and reports new writes in order, deletes included', async (t) => {
  const app = await buildTestApp(t)
  const start = (await getJson(app, '/v1/changes?limit=1000')).body.lastSeq
  const id = insertTestFacility(app, { slug: 'test-feed', name: 'Test Feed' })
  app.db.$client.prepare("update facilities set name = 'Test Feed 2', updated_at = ? where id = ?").run(new Date().toISOString(), id)
  softDeleteFacility(app, id)
  const { body } = await getJson(app, `/v1/changes?since=${start}`)
  t.same(body.items.map((c: any) => [c.entityType, c.entityId, c.action]), [
    ['facility', id, 'create'],
    ['facility', id, 'update'],
    ['facility', id, 'delete']
  ])
  t.equal(body.items[2].href, null, 'nothing to read after a delete')
  t.same(body.items.map((c: any) => c.seq), [start + 1, start + 2, start + 3], 'no gaps')
  const paged = await getJson(app, `/v1/changes?since=${start}&limit=2`)
  t.equal(paged.body.items.length, 2)
  t.equal(paged.body.hasMore, true)
  const rest = await getJson(app, paged.body.links.next)
  t.same(rest.body.items.map((c: any) => c.seq), [start + 3])
  const idle = await getJson(app, `/v1/changes?since=${start + 3}`)
  t.same(idle.body.items, [])
  t.equal(idle.body.lastSeq, start + 3, 'poll again from the same place')
  t.equal(idle.body.hasMore, false)
})

t.test('GET /v1/changes?entityType= filters; contacts that were never public are not listed, those no longer public are deletes', async (t) => {
  const app = await buildTestApp(t)
  const contactIds = async (url: string, headers: Record<string, string> = {}) =>
    (await getJson(app, url, { headers })).body.items.map((c: any) => [c.entityId, c.action, c.href === null])
  const publicIds = ['ephraim-gothe', 'lutz-mania', 'manuela-arlt', 'petra-patz-drueke'].map((k) => seedId('contact', k))
  const { body } = await getJson(app, '/v1/changes?entityType=contact&limit=1000')
  // The 8 internal contacts were never public: their ids (derived from names) are not disclosed.
  t.same(body.items.map((c: any) => c.entityId).sort(), [...publicIds].sort())
  t.ok(body.items.every((c: any) => c.action === 'create'))
  const { key } = createKey(app, ['contacts:read-internal'])
  const insider = await getJson(app, '/v1/changes?entityType=contact&limit=1000', { headers: bearer(key) })
  t.equal(insider.body.items.filter((c: any) => c.action === 'create').length, 12, 'a read-internal key sees every contact and the real actions')
  const two = await getJson(app, '/v1/changes?entityType=event&entityType=agreement&limit=1000')
  t.same(two.body.items.map((c: any) => c.entityType).sort(), ['agreement', 'event'])

  const { key: writeKey } = createKey(app, ['directory:write'])
  const patch = async (slug: string, payload: object) => {
    const id = seedId('contact', slug)
    const etag = String((await app.inject({ url: `/v1/contacts/${id}`, headers: bearer(key) })).headers.etag)
    const res = await app.inject({ method: 'PATCH', url: `/v1/contacts/${id}`, headers: { ...bearer(writeKey), 'content-type': 'application/merge-patch+json', 'if-match': etag }, payload })
    t.equal(res.statusCode, 200, `PATCH ${slug}`)
    return id
  }
  const since = app.dataVersion().seq
  // Edited while internal: still never public.
  await patch('angela-gaertner', { role: 'Leitung (Test)' })
  t.same(await contactIds(`/v1/changes?entityType=contact&since=${since}`), [])
  // A public contact made internal: its changes are deletes for public readers, older ones too.
  const gothe = await patch('ephraim-gothe', { visibility: 'internal' })
  t.same(await contactIds(`/v1/changes?entityType=contact&since=${since}`), [[gothe, 'delete', true]])
  t.same((await contactIds('/v1/changes?entityType=contact&limit=1000')).filter(([id]: string[]) => id === gothe), [[gothe, 'delete', true], [gothe, 'delete', true]], 'its create and its update')
  // An internal contact made public: listed from then on; its edit while internal stays out.
  const gaertner = await patch('angela-gaertner', { visibility: 'public' })
  t.same(await contactIds(`/v1/changes?entityType=contact&since=${since}`), [[gothe, 'delete', true], [gaertner, 'update', false]])
  // And internal again: a delete, so public copies drop it.
  await patch('angela-gaertner', { visibility: 'internal' })
  t.ok((await contactIds(`/v1/changes?entityType=contact&since=${since}`)).filter(([id]: string[]) => id === gaertner).every(([, action]: string[]) => action === 'delete'))
})

t.test('an internal contact that was public: the public sees it go, not when it is edited afterwards', async (t) => {
  const app = await buildTestApp(t)
  const { key: insiderKey } = createKey(app, ['contacts:read-internal'])
  const { key: writeKey } = createKey(app, ['directory:write'])
  const gothe = seedId('contact', 'ephraim-gothe')
  const patch = async (payload: object) => {
    const etag = String((await app.inject({ url: `/v1/contacts/${gothe}`, headers: bearer(insiderKey) })).headers.etag)
    const res = await app.inject({ method: 'PATCH', url: `/v1/contacts/${gothe}`, headers: { ...bearer(writeKey), 'content-type': 'application/merge-patch+json', 'if-match': etag }, payload })
    t.equal(res.statusCode, 200)
  }
  const feed = async (since: number, headers: Record<string, string> = {}) =>
    (await getJson(app, `/v1/changes?entityType=contact&since=${since}`, { headers })).body.items.map((c: any) => [c.action, c.changedAt])
  const since = app.dataVersion().seq
  await patch({ visibility: 'internal' })
  const [[action]] = await feed(since)
  t.equal(action, 'delete', 'made internal: a delete for the public')
  // Its tombstone has the time it was made internal (the record's updatedAt then).
  const hiddenAt = (await getJson(app, `/v1/contacts/${gothe}`, { headers: bearer(insiderKey) })).body.updatedAt
  const tombstoneOf = async (after: string) =>
    (await getJson(app, `/v1/contacts?updatedSince=${encodeURIComponent(after)}`)).body.items.filter((c: any) => c.id === gothe)
  t.same(await tombstoneOf('2000-01-01T00:00:00Z'), [{ id: gothe, deleted: true, deletedAt: hiddenAt }])
  const afterHiding = app.dataVersion().seq
  // Edited twice as an internal contact.
  await patch({ role: 'Bezirksstadtrat (Test)' })
  await patch({ phone: '030 000000' })
  t.same(await feed(afterHiding), [], 'the public feed has nothing new')
  t.same((await feed(since)).map(([a]: string[]) => a), ['delete'], 'one delete, when it was made internal')
  t.equal((await feed(afterHiding, bearer(insiderKey))).length, 2, 'a read-internal key sees both edits')
  t.same(await tombstoneOf('2000-01-01T00:00:00Z'), [{ id: gothe, deleted: true, deletedAt: hiddenAt }], 'the tombstone keeps its time')
  t.same(await tombstoneOf(new Date(Date.parse(hiddenAt) + 1).toISOString()), [], 'and does not come back in later syncs')
  // Public again: the change that shows it again is an update; the edits made while it was
  // internal stay out, now and after it is hidden again.
  await patch({ visibility: 'public' })
  t.same((await feed(afterHiding)).map(([a]: string[]) => a), ['update'], 'public again: one update, not the internal edits')
  t.equal((await getJson(app, `/v1/contacts/${gothe}`)).res.statusCode, 200)
  await patch({ role: 'Bezirksstadtrat' })
  await patch({ visibility: 'internal' })
  t.same((await feed(afterHiding)).map(([a]: string[]) => a), ['delete', 'delete', 'delete'], 'shown again, edited, hidden again: three deletes, no internal edit')
  // Plain SQL, two statements in a row (often in the same millisecond): the edit after the hiding
  // is not shown either (the stretches are kept by sequence number, not by time).
  const arlt = seedId('contact', 'manuela-arlt')
  const beforeSql = app.dataVersion().seq
  app.db.$client.prepare("update contacts set visibility = 'internal' where id = ?").run(arlt)
  app.db.$client.prepare("update contacts set role = 'geändert' where id = ?").run(arlt)
  t.same((await getJson(app, `/v1/changes?entityType=contact&since=${beforeSql}`)).body.items.map((c: any) => [c.entityId, c.action]), [[arlt, 'delete']])
})

t.test('GET /v1/changes (400) for bad parameters', async (t) => {
  const app = await buildTestApp(t, { seed: false })
  for (const url of ['/v1/changes?limit=1001', '/v1/changes?since=-1', '/v1/changes?since=abc', '/v1/changes?entityType=person', '/v1/changes?cursor=x']) {
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.ok(body.errors.length > 0)
  }
  const empty = await getJson(app, '/v1/changes')
  t.same(empty.body.items, [])
  t.equal(empty.body.lastSeq, 0)
})

t.test('GET /v1/changes (400) for a since after the newest change: a position the feed never gave out', async (t) => {
  const app = await readOnlyApp(t)
  const newest = (await getJson(app, '/v1/changes?limit=1000')).body.lastSeq
  const at = await getJson(app, `/v1/changes?since=${newest}`)
  t.equal(at.res.statusCode, 200, 'the newest position itself is fine')
  t.same(at.body.items, [])
  t.equal(at.body.lastSeq, newest)
  for (const since of [newest + 1, 100000, 9007199254740991]) {
    const { res, body } = await getJson(app, `/v1/changes?since=${since}`)
    t.equal(res.statusCode, 400, `since=${since}`)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(body.errors.map((e: { field: string }) => e.field), ['query.since'])
  }
  t.equal((await getJson(app, `/v1/changes?since=${newest + 1}`)).body.errors[0].message, 'is not a position this feed gave out (was the directory restored from an older backup?). Take a full copy again (since=0) and go on from its lastSeq')
  const huge = await getJson(app, '/v1/changes?since=99999999999999999999')
  t.equal(huge.res.statusCode, 400, 'beyond the integers JSON can carry exactly')
  t.same(huge.body.errors.map((e: { field: string }) => e.field), ['query.since'])
})

t.test('GET /v1/changes (400) for a since that is a hidden entry: the position was never given out, and nothing tells how many hidden ones follow', async (t) => {
  const app = await buildTestApp(t)
  const writer = bearer(createKey(app, ['directory:write', 'contacts:read-internal']).key)
  const anonymousEnd = (await getJson(app, '/v1/changes?limit=1000')).body.lastSeq
  // Three changes of an internal contact after it: not in the public feed.
  const created = await app.inject({ method: 'POST', url: '/v1/contacts', headers: writer, payload: { name: 'Interne Testperson', role: 'Test', organisation: null, facility: 'kreativhaus', phone: null, email: null, visibility: 'internal', asOf: null, sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }] } })
  t.equal(created.statusCode, 201)
  for (const role of ['Test 2', 'Test 3']) {
    t.equal((await app.inject({ method: 'PATCH', url: `/v1/contacts/${created.json().id}`, headers: { ...writer, 'if-match': '*', 'content-type': 'application/merge-patch+json' }, payload: { role } })).statusCode, 200)
  }
  t.equal((await getJson(app, `/v1/changes?since=${anonymousEnd}`)).body.items.length, 0, 'nothing new for the public')
  const beyond = await getJson(app, `/v1/changes?since=${anonymousEnd + 1}`)
  t.equal(beyond.res.statusCode, 400)
  t.notMatch(`${beyond.body.detail} ${beyond.body.errors[0].message}`.replaceAll('since=0', ''), /\d/, 'no number tells how far the feed really is')
  const keyed = await getJson(app, `/v1/changes?since=${anonymousEnd + 1}`, { headers: writer })
  t.equal(keyed.res.statusCode, 200, 'a key that reads internal contacts sees them')
  t.equal(keyed.body.items.length, 2)
})

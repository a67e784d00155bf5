import t from 'tap'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson, insertTestFacility, softDeleteFacility, readOnlyApp } from '../helper.ts'

t.test('GET /v1/changes (200) starts with one create per seeded record, in order', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/changes?limit=1000')
  t.equal(res.statusCode, 200)
  t.equal(body.items.length, 208)
  t.equal(body.hasMore, false)
  t.equal(body.lastSeq, body.items.at(-1).seq)
  t.ok(body.items.every((c: any, i: number) => i === 0 || c.seq > body.items[i - 1].seq), 'strictly increasing')
  t.ok(body.items.every((c: any) => c.action === 'create' || c.action === 'delete'))
  const counts = Object.fromEntries(['facility', 'service', 'contact'].map((type) => [type, body.items.filter((c: any) => c.entityType === type).length]))
  t.same(counts, { facility: 14, service: 115, contact: 12 })
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

t.test('GET /v1/changes?entityType= filters; internal contacts show as deletes', async (t) => {
  const app = await buildTestApp(t)
  const { body } = await getJson(app, '/v1/changes?entityType=contact&limit=1000')
  t.equal(body.items.length, 12)
  const internal = body.items.filter((c: any) => c.action === 'delete')
  t.equal(internal.length, 8, 'the 8 internal contacts are deletes for public readers')
  t.ok(internal.every((c: any) => c.href === null))
  const publicOnes = body.items.filter((c: any) => c.action === 'create')
  t.same(publicOnes.map((c: any) => c.entityId).sort(), ['ephraim-gothe', 'lutz-mania', 'manuela-arlt', 'petra-patz-drueke'].map((k) => seedId('contact', k)).sort())
  const { key } = createKey(app, ['contacts:read-internal'])
  const insider = await getJson(app, '/v1/changes?entityType=contact&limit=1000', { headers: bearer(key) })
  t.equal(insider.body.items.filter((c: any) => c.action === 'create').length, 12, 'a read-internal key sees the real actions')
  const two = await getJson(app, '/v1/changes?entityType=event&entityType=agreement&limit=1000')
  t.same(two.body.items.map((c: any) => c.entityType).sort(), ['agreement', 'event'])
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

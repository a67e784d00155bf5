import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { contacts } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

interface SeedContact { key: string, name: string, visibility: string, organisation: string | null, facility: string | null }
const seedContacts = JSON.parse(readFileSync(new URL('../../seed/data/contacts.json', import.meta.url), 'utf8')) as SeedContact[]
const internalContacts = seedContacts.filter((c) => c.visibility === 'internal')
const internalIds = new Set(internalContacts.map((c) => seedId('contact', c.key)))
const internalNames = new Set(internalContacts.map((c) => c.name))

const PUBLIC_NAMES = ['Ephraim Gothe', 'Lutz Mania', 'Manuela Arlt', 'Petra Patz-Drüke']
const PATZ_DRUEKE_ID = seedId('contact', 'petra-patz-drueke')
const ARLT_ID = seedId('contact', 'manuela-arlt')
const BEZIRKSAMT = { id: seedId('organisation', 'bezirksamt-mitte'), slug: 'bezirksamt-mitte', name: 'Bezirksamt Mitte von Berlin', kind: 'district_office' }
const JOBCENTER_ID = seedId('organisation', 'jobcenter-berlin-mitte')
const PM_067_URL = 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php'

const namesOf = (body: { items: { name: string }[] }) => body.items.map((c) => c.name)

function assertNoInternal (t: Test, items: { id: string, name: string, visibility: string }[], where: string) {
  for (const item of items) {
    t.notOk(internalIds.has(item.id), `${where}: ${item.name} is not an internal contact`)
    t.notOk(internalNames.has(item.name), `${where}: no internal person's name`)
    t.equal(item.visibility, 'public', `${where}: ${item.name} is public`)
  }
}

// A public contact at a facility, which the seed does not have, so the facility filter can match something.
function addPublicFacilityContact (app: FastifyInstance, key: string, facility: string, organisation: string | null) {
  const now = '2026-01-01T00:00:00.000Z'
  const id = seedId('contact', key)
  app.db.insert(contacts).values({
    id,
    name: `Testkontakt ${key}`,
    role: 'Ansprechperson',
    organisationId: organisation === null ? null : seedId('organisation', organisation),
    facilityId: seedId('facility', facility),
    phone: null,
    email: null,
    visibility: 'public',
    asOf: '2024',
    sources: [{ url: 'https://example.org/', title: 'Test', facts: ['name'] }],
    createdAt: now,
    updatedAt: now
  }).run()
  return id
}

async function expectNotFound (t: Test, app: FastifyInstance, id: string) {
  const path = `/v1/contacts/${encodeURIComponent(id)}`
  const { res, body } = await getJson(app, path)
  t.equal(res.statusCode, 404, id)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.same(body, {
    type: '/problems/not-found',
    title: 'Not Found',
    status: 404,
    detail: `No contact with id or slug '${id}' exists.`,
    instance: path
  })
}

t.test('the seed has internal contacts to protect', async (t) => {
  t.equal(internalContacts.length, 8)
  t.equal(seedContacts.length - internalContacts.length, 4)
  t.ok(internalContacts.some((c) => c.facility === 'villa-luetzow'), 'an internal contact at Villa Lützow')
  t.ok(internalContacts.some((c) => c.organisation === 'fipp'))
})

t.test('GET /v1/contacts (200) lists the four public contacts, sorted by name', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/contacts')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, 4, 'internal contacts are not counted')
  t.equal(body.limit, 50)
  t.equal(body.offset, 0)
  t.same(namesOf(body), PUBLIC_NAMES)
  assertNoInternal(t, body.items, '/v1/contacts')
  const gothe = body.items[0]
  t.equal(gothe.id, seedId('contact', 'ephraim-gothe'))
  t.equal(gothe.phone, '(030) 9018-44600')
  t.same(gothe.organisation, BEZIRKSAMT)
  t.equal(gothe.facility, null)
  t.ok(gothe.sources.some((s: any) => s.url === PM_067_URL), 'named in PM 067/2020')
  const arlt = body.items.find((c: any) => c.name === 'Manuela Arlt')
  t.equal(arlt.phone, '(030) 5555-456086')
  t.equal(arlt.organisation.slug, 'jobcenter-berlin-mitte')
  const mania = body.items.find((c: any) => c.name === 'Lutz Mania')
  t.equal(mania.role, 'Geschäftsführer JobCenter Berlin Mitte')
  t.equal(mania.asOf, '2023')
})

t.test('GET /v1/contacts?organisation= accepts slug or id; repeating it means OR', async (t) => {
  const app = await readOnlyApp(t)
  const bySlug = await getJson(app, '/v1/contacts?organisation=bezirksamt-mitte')
  t.equal(bySlug.res.statusCode, 200)
  t.equal(bySlug.body.total, 2)
  t.same(namesOf(bySlug.body), ['Ephraim Gothe', 'Petra Patz-Drüke'])
  const byId = await getJson(app, `/v1/contacts?organisation=${JOBCENTER_ID}`)
  t.equal(byId.body.total, 2)
  t.same(namesOf(byId.body), ['Lutz Mania', 'Manuela Arlt'])
  const or = await getJson(app, `/v1/contacts?organisation=bezirksamt-mitte&organisation=${JOBCENTER_ID}`)
  t.equal(or.body.total, 4)
  t.same(namesOf(or.body), PUBLIC_NAMES)
  const unknown = await getJson(app, '/v1/contacts?organisation=no-such-organisation')
  t.equal(unknown.res.statusCode, 200)
  t.same(unknown.body, { total: 0, limit: 50, offset: 0, links: { self: '/v1/contacts?organisation=no-such-organisation', first: '/v1/contacts?organisation=no-such-organisation&limit=50', next: null }, items: [] })
})

t.test('GET /v1/contacts?organisation= does not list or count the internal contacts of an organisation', async (t) => {
  const app = await readOnlyApp(t)
  for (const organisation of ['fipp', 'pfefferwerk', 'stadtrand', 'moabiter-ratschlag', 'kreativhaus-ev']) {
    t.ok(internalContacts.some((c) => c.organisation === organisation), `${organisation} has internal contacts in the seed`)
    const { body } = await getJson(app, `/v1/contacts?organisation=${organisation}`)
    t.equal(body.total, 0, `${organisation}: nothing counted`)
    t.same(body.items, [], `${organisation}: nothing listed`)
  }
})

t.test('GET /v1/contacts?facility= filters by facility; AND with organisation', async (t) => {
  const app = await buildTestApp(t)
  const villa = await getJson(app, '/v1/contacts?facility=villa-luetzow')
  t.equal(villa.body.total, 0)
  t.same(villa.body.items, [], 'the only person at Villa Lützow is internal')
  const kreativId = addPublicFacilityContact(app, 'test-kreativhaus', 'kreativhaus', 'fipp')
  const shkId = addPublicFacilityContact(app, 'test-shk', 'shk-mitte', null)
  const bySlug = await getJson(app, '/v1/contacts?facility=kreativhaus')
  t.equal(bySlug.body.total, 1, 'the internal Angela Gärtner at the Kreativhaus is not counted')
  t.same(bySlug.body.items.map((c: any) => c.id), [kreativId])
  t.same(bySlug.body.items[0].facility, { id: seedId('facility', 'kreativhaus'), slug: 'kreativhaus', name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)' })
  t.equal(bySlug.body.items[0].organisation.slug, 'fipp')
  const byId = await getJson(app, `/v1/contacts?facility=${seedId('facility', 'kreativhaus')}`)
  t.same(byId.body.items, bySlug.body.items)
  t.equal(byId.body.total, 1)
  const or = await getJson(app, '/v1/contacts?facility=kreativhaus&facility=shk-mitte')
  t.same(or.body.items.map((c: any) => c.id).sort(), [kreativId, shkId].sort())
  t.equal(or.body.total, 2)
  const and = await getJson(app, '/v1/contacts?facility=kreativhaus&facility=shk-mitte&organisation=fipp')
  t.same(and.body.items.map((c: any) => c.id), [kreativId])
  const none = await getJson(app, '/v1/contacts?facility=kreativhaus&organisation=bezirksamt-mitte')
  t.equal(none.body.total, 0)
  t.same(none.body.items, [])
})

t.test('GET /v1/contacts paginates with limit and offset', async (t) => {
  const app = await readOnlyApp(t)
  const first = await getJson(app, '/v1/contacts?limit=3')
  t.same({ total: first.body.total, limit: first.body.limit, offset: first.body.offset }, { total: 4, limit: 3, offset: 0 })
  t.same(namesOf(first.body), PUBLIC_NAMES.slice(0, 3))
  const second = await getJson(app, '/v1/contacts?limit=3&offset=3')
  t.equal(second.body.total, 4)
  t.equal(second.body.offset, 3)
  t.same(namesOf(second.body), ['Petra Patz-Drüke'])
  const beyond = await getJson(app, '/v1/contacts?offset=10')
  t.same([beyond.body.total, beyond.body.limit, beyond.body.offset, beyond.body.items], [4, 50, 10, []])
  t.equal(beyond.body.links.next, null)
})

t.test('GET /v1/contacts (400) lists each failing parameter as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/contacts?limit=501&offset=-1&visibility=internal')
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM_JSON)
  t.equal(body.type, '/problems/validation-error')
  t.equal(body.title, 'Bad Request')
  t.equal(body.status, 400)
  t.equal(body.instance, '/v1/contacts?limit=501&offset=-1&visibility=internal')
  t.same(body.errors.map((e: any) => e.field).sort(), ['query.limit', 'query.offset', 'query.visibility'])
  t.same(body.errors.find((e: any) => e.field === 'query.visibility'), { field: 'query.visibility', message: 'is not a known parameter' })
  t.match(body.detail, /query\.limit must be <= 500/)
  for (const [url, field] of [['/v1/contacts?limit=0', 'query.limit'], ['/v1/contacts?limit=abc', 'query.limit'], ['/v1/contacts?organisation=', 'query.organisation.0']] as const) {
    const r = await getJson(app, url)
    t.equal(r.res.statusCode, 400, url)
    t.equal(r.res.headers['content-type'], PROBLEM_JSON, url)
    t.ok(r.body.errors.some((e: any) => e.field === field), `${url} names ${field}`)
  }
})

t.test('GET /v1/contacts/{id} (200) gives one public contact', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, `/v1/contacts/${PATZ_DRUEKE_ID}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(body, {
    id: PATZ_DRUEKE_ID,
    name: 'Petra Patz-Drüke',
    role: 'Leiterin der Sozialraumorientierten Planungskoordination, Bezirksamt Mitte; Ansprechpartnerin für die Veranstaltung am 11.03.2020',
    organisation: BEZIRKSAMT,
    facility: null,
    phone: '(030) 9018-42390',
    email: null,
    visibility: 'public',
    asOf: '2020',
    sources: body.sources,
    createdAt: body.createdAt,
    updatedAt: body.updatedAt
  })
  t.same(body.sources[0], {
    url: PM_067_URL,
    title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020: Veranstaltung „Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen“',
    facts: ['contact for the event', 'phone']
  })
  t.equal(body.sources.length, 3)
  t.match(body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  const listed = (await getJson(app, '/v1/contacts')).body.items.find((c: any) => c.id === PATZ_DRUEKE_ID)
  t.same(listed, body, 'the list and the detail agree')
})

t.test('GET /v1/contacts/{id} (404) for unknown ids, like for any other missing record', async (t) => {
  const app = await readOnlyApp(t)
  for (const id of ['00000000-0000-4000-8000-000000000000', 'petra-patz-drueke', 'not a uuid']) {
    await expectNotFound(t, app, id)
  }
})

t.test('GET /v1/contacts/{id} (404) for every internal contact, indistinguishable from a missing one', async (t) => {
  const app = await readOnlyApp(t)
  for (const contact of internalContacts) {
    const id = seedId('contact', contact.key)
    t.ok(app.db.select().from(contacts).where(eq(contacts.id, id)).get(), `${contact.name} is in the database`)
    await expectNotFound(t, app, id)
  }
})

t.test('GET /v1/facilities/{idOrSlug}/contacts (200) never lists or counts internal contacts', async (t) => {
  const app = await buildTestApp(t)
  const facilitiesWithInternal = [...new Set(internalContacts.map((c) => c.facility).filter((f): f is string => f !== null))]
  t.same(facilitiesWithInternal.sort(), ['familienzentrum-wattstrasse', 'kreativhaus', 'olof-palme-zentrum', 'shk-mitte', 'villa-luetzow'])
  for (const facility of facilitiesWithInternal) {
    const { res, body } = await getJson(app, `/v1/facilities/${facility}/contacts`)
    t.equal(res.statusCode, 200, facility)
    t.equal(body.total, 0, `${facility}: internal contacts are not counted`)
    t.same(body.items, [], `${facility}: internal contacts are not listed`)
  }
  const id = addPublicFacilityContact(app, 'test-opz', 'olof-palme-zentrum', 'pfefferwerk')
  const { body } = await getJson(app, '/v1/facilities/olof-palme-zentrum/contacts')
  t.equal(body.total, 1, 'one public contact next to the two internal ones')
  t.same(body.items.map((c: any) => c.id), [id])
  assertNoInternal(t, body.items, '/v1/facilities/olof-palme-zentrum/contacts')
})

t.test('contacts repository: listForFacilities embeds only public contacts, keyed by facility', async (t) => {
  const app = await buildTestApp(t)
  const ids = ['villa-luetzow', 'kreativhaus', 'olof-palme-zentrum', 'shk-mitte', 'familienzentrum-wattstrasse'].map((slug) => seedId('facility', slug))
  t.same([...app.repos.contacts.listForFacilities(ids).keys()], [], 'every seeded contact at these facilities is internal')
  t.same([...app.repos.contacts.listForFacilities([]).keys()], [])
  const opz = addPublicFacilityContact(app, 'test-opz-embed', 'olof-palme-zentrum', 'pfefferwerk')
  const shk = addPublicFacilityContact(app, 'test-shk-embed', 'shk-mitte', 'stadtrand')
  const embedded = app.repos.contacts.listForFacilities(ids)
  t.same([...embedded.keys()].sort(), [seedId('facility', 'olof-palme-zentrum'), seedId('facility', 'shk-mitte')].sort())
  t.same(embedded.get(seedId('facility', 'olof-palme-zentrum'))!.map((c) => c.id), [opz])
  t.same(embedded.get(seedId('facility', 'shk-mitte'))!.map((c) => c.id), [shk])
  for (const list of embedded.values()) assertNoInternal(t, list, 'listForFacilities')
})

t.test('GET /v1/organisations/{idOrSlug} (200) embeds only public contacts', async (t) => {
  const app = await readOnlyApp(t)
  const fipp = await getJson(app, '/v1/organisations/fipp')
  t.equal(fipp.res.statusCode, 200)
  t.same(fipp.body.contacts, [], 'FiPP\'s two contacts are internal')
  const jobcenter = await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')
  t.same(jobcenter.body.contacts.map((c: any) => c.name), ['Lutz Mania', 'Manuela Arlt'])
  for (const organisation of ['bezirksamt-mitte', 'jobcenter-berlin-mitte', 'fipp', 'pfefferwerk', 'stadtrand', 'moabiter-ratschlag', 'kreativhaus-ev']) {
    const { body } = await getJson(app, `/v1/organisations/${organisation}`)
    assertNoInternal(t, body.contacts, `/v1/organisations/${organisation}`)
  }
})

t.test('soft-deleted contacts are gone from every read path', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(contacts).set({ deletedAt: '2026-01-02T00:00:00.000Z' }).where(eq(contacts.id, ARLT_ID)).run()
  const list = await getJson(app, '/v1/contacts')
  t.equal(list.body.total, 3)
  t.same(namesOf(list.body), ['Ephraim Gothe', 'Lutz Mania', 'Petra Patz-Drüke'])
  await expectNotFound(t, app, ARLT_ID)
  const jobcenter = await getJson(app, '/v1/organisations/jobcenter-berlin-mitte')
  t.same(jobcenter.body.contacts.map((c: any) => c.name), ['Lutz Mania'])
})

t.test('a contact stops being served when it is made internal', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(contacts).set({ visibility: 'internal' }).where(eq(contacts.id, PATZ_DRUEKE_ID)).run()
  await expectNotFound(t, app, PATZ_DRUEKE_ID)
  const list = await getJson(app, '/v1/contacts?organisation=bezirksamt-mitte')
  t.equal(list.body.total, 1)
  t.same(namesOf(list.body), ['Ephraim Gothe'])
})

// After the seed (written when the test process starts), so that only the test's own writes count.
const SINCE = new Date(Date.now() + 3_600_000).toISOString()
const LATER = new Date(Date.now() + 7_200_000).toISOString()
const LATEST = new Date(Date.now() + 10_800_000).toISOString()
const PATZ_DRUEKE_PHONE = '(030) 9018-42390'

const sinceUrl = (since: string, rest = '') => `/v1/contacts?updatedSince=${encodeURIComponent(since)}${rest}`
const cursorOf = (next: string) => new URL(next, 'http://localhost').searchParams.get('cursor')!

function makeInternal (app: FastifyInstance, id: string, at: string) {
  app.db.update(contacts).set({ visibility: 'internal', updatedAt: at }).where(eq(contacts.id, id)).run()
}

function softDelete (app: FastifyInstance, id: string, at: string) {
  app.db.update(contacts).set({ deletedAt: at, updatedAt: at }).where(eq(contacts.id, id)).run()
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

t.test('GET /v1/contacts?updatedSince= lists what changed since, deleted contacts as tombstones', async (t) => {
  const app = await buildTestApp(t)
  const gotheId = seedId('contact', 'ephraim-gothe')
  app.db.update(contacts).set({ phone: '(030) 9018-44601', updatedAt: LATER }).where(eq(contacts.id, gotheId)).run()
  softDelete(app, ARLT_ID, LATEST)
  t.same(namesOf((await getJson(app, '/v1/contacts')).body), ['Ephraim Gothe', 'Lutz Mania', 'Petra Patz-Drüke'])

  const { res, body } = await getJson(app, sinceUrl(SINCE))
  t.equal(res.statusCode, 200)
  t.equal(body.total, 2)
  t.equal(res.headers['x-total-count'], '2')
  t.same(body.items.map((c: any) => c.id), [gotheId, ARLT_ID], 'sorted by updatedAt')
  t.equal(body.items[0].name, 'Ephraim Gothe')
  t.equal(body.items[0].phone, '(030) 9018-44601')
  t.equal(body.items[0].updatedAt, LATER)
  t.same(body.items[1], { id: ARLT_ID, deleted: true, deletedAt: LATEST })
  t.same((await getJson(app, sinceUrl(LATEST))).body.items.map((c: any) => c.id), [ARLT_ID])
  t.equal((await getJson(app, sinceUrl('2099-01-01T00:00:00Z'))).body.total, 0)
  const byOrganisation = await getJson(app, sinceUrl(SINCE, '&organisation=jobcenter-berlin-mitte'))
  t.same(byOrganisation.body.items, [{ id: ARLT_ID, deleted: true, deletedAt: LATEST }], 'filters apply to tombstones too')
  const bad = await getJson(app, '/v1/contacts?updatedSince=2026-13-01')
  t.equal(bad.res.statusCode, 400)
  t.equal(bad.res.headers['content-type'], PROBLEM_JSON)
})

t.test('a contact made internal is a tombstone with updatedSince, never with its name or phone', async (t) => {
  const app = await buildTestApp(t)
  makeInternal(app, PATZ_DRUEKE_ID, LATER)
  const tombstone = { id: PATZ_DRUEKE_ID, deleted: true, deletedAt: LATER }

  const live = await getJson(app, '/v1/contacts')
  t.same(namesOf(live.body), ['Ephraim Gothe', 'Lutz Mania', 'Manuela Arlt'])
  t.equal(live.body.total, 3)

  const { res, body } = await getJson(app, sinceUrl(SINCE))
  t.same(body, { total: 1, limit: 50, offset: 0, links: body.links, items: [tombstone] })
  for (const secret of ['Patz-Drüke', PATZ_DRUEKE_PHONE, 'Planungskoordination', 'internal']) {
    t.notOk(res.body.includes(secret), `the response does not contain ${secret}`)
  }
  const everything = await getJson(app, sinceUrl('2000-01-01T00:00:00Z'))
  t.equal(everything.body.total, 4)
  t.same(everything.body.items.at(-1), tombstone, 'the latest change comes last')
  t.same(everything.body.items.filter((c: any) => c.deleted).length, 1)
  const filtered = await getJson(app, sinceUrl(SINCE, '&organisation=bezirksamt-mitte'))
  t.same(filtered.body.items, [tombstone])

  // Ordered by name, the tombstone must neither sit at its name's place nor carry it in a cursor.
  const byName = await getJson(app, sinceUrl('2000-01-01T00:00:00Z', '&sort=name&limit=1'))
  t.same(byName.body.items, [tombstone], 'tombstones come first when sorting by name')
  const cursor = Buffer.from(cursorOf(byName.body.links.next), 'base64url').toString('utf8')
  t.notOk(cursor.includes('Patz'), 'the cursor does not contain the name')
  t.same((await walk(t, app, byName.body.links.next, 4)).map((c) => c.name), ['Ephraim Gothe', 'Lutz Mania', 'Manuela Arlt'])
  const reversed = await walk(t, app, sinceUrl('2000-01-01T00:00:00Z', '&sort=-name&limit=3'), 4)
  t.same(reversed.map((c) => c.name ?? c.id), ['Manuela Arlt', 'Lutz Mania', 'Ephraim Gothe', PATZ_DRUEKE_ID])

  const ndjson = await app.inject(sinceUrl(SINCE, '&format=ndjson'))
  t.equal(ndjson.body, `${JSON.stringify(tombstone)}\n`)
  t.notOk(ndjson.body.includes(PATZ_DRUEKE_PHONE))
  await expectNotFound(t, app, PATZ_DRUEKE_ID)
})

t.test('GET /v1/contacts?updatedSince= does not disclose contacts that were never public', async (t) => {
  const app = await buildTestApp(t)
  const { res, body } = await getJson(app, sinceUrl('2000-01-01T00:00:00Z'))
  t.equal(body.total, 4, 'the seeded internal contacts were created internal: no copy can hold them')
  t.same(namesOf(body).sort(), [...PUBLIC_NAMES].sort())
  for (const contact of internalContacts) {
    t.notOk(res.body.includes(seedId('contact', contact.key)), `${contact.name}: not even the id`)
    t.notOk(res.body.includes(contact.name), `${contact.name}: not the name`)
  }
  // Changed while internal, it was still never public: nothing of it, not even its id.
  const gaertner = internalContacts.find((c) => c.facility === 'kreativhaus')!
  const id = seedId('contact', gaertner.key)
  app.db.update(contacts).set({ role: 'Geänderte Rolle', updatedAt: LATER }).where(eq(contacts.id, id)).run()
  const changed = await getJson(app, sinceUrl(SINCE))
  t.same(changed.body.items, [])
  t.notOk(changed.res.body.includes(id))
  // Public for a while (whatever wrote it: here SQL), then internal again: copies may hold it and
  // are told to drop it; its fields still never leave the server.
  app.db.update(contacts).set({ visibility: 'public', updatedAt: LATER }).where(eq(contacts.id, id)).run()
  t.equal((await getJson(app, '/v1/contacts?facility=kreativhaus')).body.total, 1)
  makeInternal(app, id, LATER)
  const dropped = await getJson(app, sinceUrl(SINCE))
  t.same(dropped.body.items, [{ id, deleted: true, deletedAt: LATER }])
  t.notOk(dropped.res.body.includes('Geänderte Rolle'))
  t.notOk(dropped.res.body.includes(gaertner.name))
  t.equal((await getJson(app, '/v1/contacts?facility=kreativhaus')).body.total, 0)
})

t.test('GET /v1/contacts cursor pages concatenate to the full list, in every sort', async (t) => {
  const app = await readOnlyApp(t)
  const first = await getJson(app, '/v1/contacts?limit=1')
  t.match(first.body.links.next, /^\/v1\/contacts\?limit=1&cursor=[A-Za-z0-9_-]+$/)
  t.equal(first.body.links.first, '/v1/contacts?limit=1')
  t.same((await walk(t, app, '/v1/contacts?limit=1', 4)).map((c) => c.name), PUBLIC_NAMES)
  t.same((await walk(t, app, '/v1/contacts?limit=3&sort=-name', 4)).map((c) => c.name), [...PUBLIC_NAMES].reverse())
  const ids = PUBLIC_NAMES.map((name) => seedContacts.find((c) => c.name === name)!.key).map((key) => seedId('contact', key)).sort()
  t.same((await walk(t, app, '/v1/contacts?limit=3&sort=updatedAt', 4)).map((c) => c.id), ids, 'equal updatedAt: id decides')
  t.same((await walk(t, app, '/v1/contacts?limit=1&organisation=jobcenter-berlin-mitte', 2)).map((c) => c.name), ['Lutz Mania', 'Manuela Arlt'])
})

t.test('GET /v1/contacts cursors stay stable while contacts are added, deleted or made internal', async (t) => {
  const app = await buildTestApp(t)
  const first = (await getJson(app, '/v1/contacts?limit=2')).body
  t.same(namesOf(first), ['Ephraim Gothe', 'Lutz Mania'])
  const added = addPublicFacilityContact(app, 'test-aaa', 'kreativhaus', null)
  app.db.update(contacts).set({ name: 'Aaron Test' }).where(eq(contacts.id, added)).run()
  softDelete(app, ARLT_ID, LATER)
  const rest = await walk(t, app, first.links.next, 4)
  t.same([...namesOf(first), ...rest.map((c) => c.name)], ['Ephraim Gothe', 'Lutz Mania', 'Petra Patz-Drüke'], 'no duplicates, no gaps among the survivors')
  const again = (await getJson(app, '/v1/contacts?limit=2')).body
  makeInternal(app, PATZ_DRUEKE_ID, LATEST)
  const afterInternal = await walk(t, app, again.links.next, 3)
  t.same(afterInternal.map((c) => c.name), ['Lutz Mania'], 'an internal contact leaves the pages like a deleted one')
})

t.test('GET /v1/contacts?format=ndjson streams every public contact, one per line', async (t) => {
  const app = await readOnlyApp(t)
  const res = await app.inject('/v1/contacts?format=ndjson&limit=1&offset=2')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.equal(lines.length, 4, 'all records, ignoring limit and offset')
  t.same(lines, (await getJson(app, '/v1/contacts')).body.items)
  assertNoInternal(t, lines, 'ndjson')
  const filtered = await app.inject('/v1/contacts?format=ndjson&organisation=bezirksamt-mitte')
  t.same(filtered.body.trimEnd().split('\n').map((line) => JSON.parse(line).name), ['Ephraim Gothe', 'Petra Patz-Drüke'])
})

t.test('contacts repository iterate() walks the keyset batch by batch', async (t) => {
  const app = await readOnlyApp(t)
  const batches = [...app.repos.contacts.iterate({ limit: 50, offset: 0 }, {}, 3)]
  t.same(batches.map((b) => b.length), [3, 1])
  t.same(batches.flat().map((c) => 'name' in c ? c.name : null), PUBLIC_NAMES)
})

t.test('GET /v1/contacts (400) for a cursor that is garbage or of another sort', async (t) => {
  const app = await readOnlyApp(t)
  const garbage = await getJson(app, '/v1/contacts?cursor=%%%')
  t.equal(garbage.res.statusCode, 400)
  t.equal(garbage.res.headers['content-type'], PROBLEM_JSON)
  for (const cursor of ['bm90LWpzb24', Buffer.from('["name","x"]').toString('base64url')]) {
    const { res, body } = await getJson(app, `/v1/contacts?cursor=${cursor}`)
    t.equal(res.statusCode, 400, cursor)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(body.type, '/problems/invalid-cursor')
  }
  const cursor = cursorOf((await getJson(app, '/v1/contacts?limit=2&sort=-updatedAt')).body.links.next)
  const other = await getJson(app, `/v1/contacts?limit=2&cursor=${cursor}`)
  t.equal(other.res.statusCode, 400)
  t.equal(other.res.headers['content-type'], PROBLEM_JSON)
  t.equal(other.body.detail, 'The cursor belongs to sort=-updatedAt, not sort=name.')
})

t.test('GET /v1/facilities/{idOrSlug}/contacts is a page like every list', async (t) => {
  const app = await buildTestApp(t)
  const id = addPublicFacilityContact(app, 'test-plain', 'kreativhaus', null)
  const { res, body } = await getJson(app, '/v1/facilities/kreativhaus/contacts')
  t.same(Object.keys(body).sort(), ['items', 'limit', 'links', 'offset', 'total'])
  t.equal(res.headers['x-total-count'], '1')
  t.same(body.links, { self: '/v1/facilities/kreativhaus/contacts', first: '/v1/facilities/kreativhaus/contacts?limit=500', next: null })
  t.same([body.total, body.limit, body.offset], [1, 500, 0])
  t.same(body.items.map((c: any) => c.id), [id])
})

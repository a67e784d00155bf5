import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { categories, facilities, services, targetGroups } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

const seedSlugs = (file: string) => (JSON.parse(readFileSync(new URL(`../../seed/data/${file}`, import.meta.url), 'utf8')) as { slug: string }[])
  .map((entry) => entry.slug)
  .sort()

const facilityRef = (slug: string, name: string) => ({ id: seedId('facility', slug), slug, name })
const WATTSTRASSE = facilityRef('familienzentrum-wattstrasse', 'Familienzentrum Wattstraße')
const SPRENGELHAUS = facilityRef('sprengelhaus', 'SprengelHaus – Interkulturelles Gemeinwesenzentrum / Treffpunkt SprengelHaus')
const categoryRef = (slug: string, labelDe: string, labelEn: string) => ({ id: seedId('category', slug), slug, labelDe, labelEn })
const BEGEGNUNG = categoryRef('begegnung', 'Begegnung', 'Meeting and socialising')
const FAMILIE = categoryRef('familie', 'Familie', 'Family')

interface Counted { slug: string, facilityCount: number, serviceCount: number }
interface GroupFacility { facility: { id: string, slug: string, name: string }, via: string[], originalWording: string | null, serviceCount: number }
interface GroupDetail extends Counted { labelDe: string, facilities: GroupFacility[], services: { id: string, name: string, facility: { slug: string }, originalWording: string }[] }

const bySlug = <T extends { slug: string }>(items: T[]) => Object.fromEntries(items.map((i) => [i.slug, i]))

const expectProblem404 = async (t: Test, app: Awaited<ReturnType<typeof buildTestApp>>, url: string, what: string, key: string) => {
  const { res, body } = await getJson(app, url)
  t.equal(res.statusCode, 404, url)
  t.equal(res.headers['content-type'], PROBLEM_JSON, url)
  t.same(body, {
    type: '/problems/not-found',
    title: 'Not Found',
    status: 404,
    detail: `No ${what} with id or slug '${key}' exists.`,
    instance: url
  })
}

const expectProblem400 = async (t: Test, app: Awaited<ReturnType<typeof buildTestApp>>, url: string, field: string) => {
  const { res, body } = await getJson(app, url)
  t.equal(res.statusCode, 400, url)
  t.equal(res.headers['content-type'], PROBLEM_JSON, url)
  t.equal(body.type, '/problems/validation-error')
  t.equal(body.title, 'Bad Request')
  t.equal(body.status, 400)
  t.equal(body.instance, url)
  t.same(body.errors, [{ field, message: 'is not a known parameter' }])
  t.equal(body.detail, `The request is invalid: ${field} is not a known parameter.`)
}

t.test('GET /v1/target-groups (200) lists the whole vocabulary sorted by slug with counts', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson<{ total: number, items: (Counted & Record<string, unknown>)[] }>(app, '/v1/target-groups')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, 19)
  t.same(Object.keys(body).sort(), ['items', 'limit', 'links', 'offset', 'total'], 'a page like every other list')
  t.same(body.items.map((g) => g.slug), seedSlugs('target-groups.json'))
  const groups = bySlug(body.items)
  t.same(groups.senioren, {
    id: seedId('target-group', 'senioren'),
    slug: 'senioren',
    labelDe: 'Seniorinnen und Senioren',
    labelEn: 'Older people',
    description: 'Ältere Menschen, auch im Ruhestand.',
    facilityCount: 9,
    serviceCount: 9,
    createdAt: groups.senioren!.createdAt,
    updatedAt: groups.senioren!.updatedAt
  })
  const counts = (slug: string) => [groups[slug]!.facilityCount, groups[slug]!.serviceCount]
  t.same(counts('familien'), [8, 8])
  t.same(counts('eltern'), [2, 3])
  t.same(counts('frauen'), [1, 1], 'one facility, only through its Frauenfrühstück')
  t.same(counts('studierende'), [1, 0], 'the Meerbaum-Haus names students, none of its services does')
  t.same(counts('arbeitsuchende'), [0, 0], 'no facility or offer names jobseekers')
})

t.test('GET /v1/target-groups (200) counts agree with the facility and service filters', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<{ items: Counted[] }>(app, '/v1/target-groups')
  for (const group of body.items) {
    const facilityTotal = (await getJson(app, `/v1/facilities?targetGroup=${group.slug}`)).body.total
    const serviceTotal = (await getJson(app, `/v1/services?targetGroup=${group.slug}`)).body.total
    t.equal(group.facilityCount, facilityTotal, `${group.slug}: facilityCount`)
    t.equal(group.serviceCount, serviceTotal, `${group.slug}: serviceCount`)
  }
})

t.test('GET /v1/target-groups (400) for unknown parameters and bad paging', async (t) => {
  const app = await readOnlyApp(t)
  await expectProblem400(t, app, '/v1/target-groups?slug=senioren', 'query.slug')
  t.equal((await app.inject('/v1/target-groups?format=vcard')).statusCode, 406, 'a format the list does not offer is 406')
  for (const url of ['/v1/target-groups?limit=501', '/v1/target-groups?offset=-1', '/v1/target-groups?sort=name']) {
    const { res } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON, url)
  }
})

t.test('GET /v1/target-groups/{idOrSlug} (200) shows the facilities and services with their original wording', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/target-groups/eltern')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(body, {
    id: seedId('target-group', 'eltern'),
    slug: 'eltern',
    labelDe: 'Eltern',
    labelEn: 'Parents',
    description: 'Mütter und Väter in ihrer Rolle als Eltern.',
    facilityCount: 2,
    serviceCount: 3,
    createdAt: body.createdAt,
    updatedAt: body.updatedAt,
    facilities: [
      { facility: WATTSTRASSE, via: ['facility', 'service'], originalWording: 'Eltern/Mütter; Väter', serviceCount: 3 },
      { facility: SPRENGELHAUS, via: ['facility'], originalWording: 'Eltern', serviceCount: 0 }
    ],
    services: [
      { id: seedId('service', 'familienzentrum-wattstrasse/elterncafes-begegnungscafe'), name: 'Elterncafés / Begegnungscafé', category: BEGEGNUNG, facility: WATTSTRASSE, originalWording: 'Elterncafés' },
      { id: seedId('service', 'familienzentrum-wattstrasse/elternworkshops'), name: 'Elternworkshops', category: FAMILIE, facility: WATTSTRASSE, originalWording: 'Elternworkshops' },
      { id: seedId('service', 'familienzentrum-wattstrasse/vaetergruppe'), name: 'Vätergruppe', category: FAMILIE, facility: WATTSTRASSE, originalWording: 'Vätergruppe' }
    ]
  })
  const byId = await getJson(app, `/v1/target-groups/${seedId('target-group', 'eltern')}`)
  t.equal(byId.res.statusCode, 200)
  t.same(byId.body, body)
})

t.test('GET /v1/target-groups/{idOrSlug} (200) marks facilities linked only through a service', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<GroupDetail>(app, '/v1/target-groups/frauen')
  t.same(body.facilities, [{ facility: WATTSTRASSE, via: ['service'], originalWording: null, serviceCount: 1 }])
  t.same(body.services.map((s) => [s.name, s.originalWording]), [['Frauenfrühstück', 'Frauenfrühstück']])
  const students = (await getJson<GroupDetail>(app, '/v1/target-groups/studierende')).body
  t.same(students.facilities.map((f) => [f.facility.slug, f.via, f.originalWording]), [['meerbaum-haus', ['facility'], 'Studierende']])
  t.same(students.services, [])
  const jobseekers = (await getJson<GroupDetail>(app, '/v1/target-groups/arbeitsuchende')).body
  t.equal(jobseekers.labelDe, 'Arbeitsuchende')
  t.same(jobseekers.facilities, [])
  t.same(jobseekers.services, [])
})

t.test('GET /v1/target-groups/{idOrSlug} (200) lists facilities by name and agrees with its counts', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<GroupDetail>(app, '/v1/target-groups/senioren')
  t.equal(body.facilities.length, body.facilityCount)
  t.equal(body.facilityCount, 9)
  t.equal(body.services.length, body.serviceCount)
  t.equal(body.serviceCount, 9)
  const facilityNames = body.facilities.map((f) => f.facility.name.toLowerCase())
  t.same(facilityNames, [...facilityNames].sort(), 'sorted by name')
  t.equal(body.facilities.reduce((sum, f) => sum + f.serviceCount, 0), body.services.length)
  const entry = bySlug(body.facilities.map((f) => ({ ...f, slug: f.facility.slug })))
  t.same([entry['stadtschloss-moabit']!.via, entry['stadtschloss-moabit']!.originalWording, entry['stadtschloss-moabit']!.serviceCount],
    [['facility', 'service'], 'ältere Menschen', 1])
  t.same([entry['nachbarschaftstreff-stadtteilverein-tiergarten']!.originalWording, entry['nachbarschaftstreff-stadtteilverein-tiergarten']!.serviceCount],
    ['Senioren / ältere Bürger*innen', 3])
  t.same([entry['meerbaum-haus']!.via, entry['meerbaum-haus']!.serviceCount], [['facility'], 0])
  t.same(body.services.filter((s) => s.facility.slug === 'kreativhaus').map((s) => [s.name, s.originalWording]).sort(),
    [['Hilfe für ältere Menschen', 'Hilfe für ältere Menschen'], ['Seniorenangebote', 'Seniorenangebote']])
  const listed = (await getJson(app, '/v1/facilities?targetGroup=senioren')).body
  t.same(body.facilities.map((f) => f.facility.id), listed.items.map((f: { id: string }) => f.id), 'same facilities, same order as the facility filter')
})

t.test('GET /v1/target-groups/{idOrSlug} (404) is problem+json', async (t) => {
  const app = await readOnlyApp(t)
  await expectProblem404(t, app, '/v1/target-groups/rentner', 'target group', 'rentner')
  await expectProblem404(t, app, '/v1/target-groups/00000000-0000-5000-8000-000000000000', 'target group', '00000000-0000-5000-8000-000000000000')
  await expectProblem404(t, app, `/v1/target-groups/${seedId('category', 'beratung')}`, 'target group', seedId('category', 'beratung'))
})

t.test('GET /v1/target-groups leaves out soft-deleted groups, facilities and services', async (t) => {
  const app = await buildTestApp(t)
  const now = new Date().toISOString()
  app.db.update(targetGroups).set({ deletedAt: now }).where(eq(targetGroups.slug, 'frauen')).run()
  app.db.update(facilities).set({ deletedAt: now }).where(eq(facilities.slug, 'sprengelhaus')).run()
  app.db.update(services).set({ deletedAt: now }).where(eq(services.id, seedId('service', 'familienzentrum-wattstrasse/vaetergruppe'))).run()

  const list = (await getJson<{ total: number, items: Counted[] }>(app, '/v1/target-groups')).body
  t.equal(list.total, 18)
  t.notOk(list.items.some((g) => g.slug === 'frauen'))
  const groups = bySlug(list.items)
  t.same([groups.eltern!.facilityCount, groups.eltern!.serviceCount], [1, 2])
  t.same([groups.gefluechtete!.facilityCount, groups.gefluechtete!.serviceCount], [1, 0], 'only KREATIVHAUS is left')
  await expectProblem404(t, app, '/v1/target-groups/frauen', 'target group', 'frauen')

  const eltern = (await getJson<GroupDetail>(app, '/v1/target-groups/eltern')).body
  t.same(eltern.facilities, [{ facility: WATTSTRASSE, via: ['facility', 'service'], originalWording: 'Eltern/Mütter; Väter', serviceCount: 2 }])
  t.same(eltern.services.map((s) => s.name), ['Elterncafés / Begegnungscafé', 'Elternworkshops'])
})

t.test('GET /v1/categories (200) lists the categories sorted by slug with counts', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson<{ total: number, items: Counted[] }>(app, '/v1/categories')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(body.total, 13)
  t.same(body.items.map((c) => c.slug), seedSlugs('categories.json'))
  const all = bySlug(body.items)
  t.same(all.beratung, {
    id: seedId('category', 'beratung'),
    slug: 'beratung',
    labelDe: 'Beratung',
    labelEn: 'Counselling and advice',
    description: 'Sprechstunden und Beratung zu sozialen, rechtlichen, finanziellen oder persönlichen Fragen.',
    serviceCount: 8,
    facilityCount: 6,
    createdAt: (all.beratung as unknown as { createdAt: string }).createdAt,
    updatedAt: (all.beratung as unknown as { updatedAt: string }).updatedAt
  })
  const counts = (slug: string) => [all[slug]!.serviceCount, all[slug]!.facilityCount]
  t.same(counts('begegnung'), [18, 10])
  t.same(counts('kultur'), [14, 4])
  t.same(counts('selbsthilfe'), [7, 1], 'all self-help offers are at the SHK Mitte')
  t.same(counts('arbeit-und-beruf'), [1, 1], 'only the Jobcoaching of KREATIVHAUS')
  t.equal(body.items.reduce((sum, c) => sum + c.serviceCount, 0), 114, 'every service has exactly one category')
})

t.test('GET /v1/categories (200) counts agree with the facility and service filters', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<{ items: Counted[] }>(app, '/v1/categories')
  for (const category of body.items) {
    const facilityTotal = (await getJson(app, `/v1/facilities?category=${category.slug}`)).body.total
    const serviceTotal = (await getJson(app, `/v1/services?category=${category.slug}`)).body.total
    t.equal(category.facilityCount, facilityTotal, `${category.slug}: facilityCount`)
    t.equal(category.serviceCount, serviceTotal, `${category.slug}: serviceCount`)
  }
})

t.test('GET /v1/categories (400) for unknown parameters and bad paging', async (t) => {
  const app = await readOnlyApp(t)
  await expectProblem400(t, app, '/v1/categories?label=Beratung', 'query.label')
  for (const url of ['/v1/categories?limit=0', '/v1/categories?sort=labelDe', '/v1/categories?updatedSince=gestern']) {
    const { res } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON, url)
  }
})

t.test('GET /v1/categories/{idOrSlug} (200) by slug and by id', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/categories/gesundheit')
  t.equal(res.statusCode, 200)
  t.equal(body.id, seedId('category', 'gesundheit'))
  t.equal(body.labelEn, 'Health')
  t.equal(body.description, 'Angebote zur Gesundheitsförderung, Prävention und gesundheitlichen Beratung.')
  t.equal(body.serviceCount, 3)
  t.equal(body.facilityCount, 3)
  const byId = await getJson(app, `/v1/categories/${seedId('category', 'gesundheit')}`)
  t.same(byId.body, body)
})

t.test('GET /v1/categories/{idOrSlug} (404) is problem+json', async (t) => {
  const app = await readOnlyApp(t)
  await expectProblem404(t, app, '/v1/categories/sport', 'category', 'sport')
  await expectProblem404(t, app, `/v1/categories/${seedId('target-group', 'senioren')}`, 'category', seedId('target-group', 'senioren'))
})

t.test('GET /v1/categories leaves out soft-deleted categories, services and facilities', async (t) => {
  const app = await buildTestApp(t)
  const now = new Date().toISOString()
  app.db.update(categories).set({ deletedAt: now }).where(eq(categories.slug, 'selbsthilfe')).run()
  app.db.update(facilities).set({ deletedAt: now }).where(eq(facilities.slug, 'kreativhaus')).run()
  app.db.update(services).set({ deletedAt: now }).where(eq(services.id, seedId('service', 'stadtschloss-moabit/gesund-aelter-werden-in-moabit'))).run()

  const { body } = await getJson<{ total: number, items: (Counted & { slug: string })[] }>(app, '/v1/categories')
  t.equal(body.total, 12)
  t.notOk(body.items.some((c) => c.slug === 'selbsthilfe'))
  const all = bySlug(body.items)
  t.same([all['arbeit-und-beruf']!.serviceCount, all['arbeit-und-beruf']!.facilityCount], [0, 0])
  t.same([all.gesundheit!.serviceCount, all.gesundheit!.facilityCount], [1, 1], 'only the Gesundheitskurse of the Familienzentrum Wattstraße are left')
  await expectProblem404(t, app, '/v1/categories/selbsthilfe', 'category', 'selbsthilfe')
  t.equal((await getJson(app, '/v1/services?category=selbsthilfe')).body.total, 0, 'services of a deleted category are hidden too')
})

t.test('vocabularies repository targetGroupDescriptions maps live group ids to their description', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(targetGroups).set({ deletedAt: new Date().toISOString() }).where(eq(targetGroups.slug, 'frauen')).run()
  const descriptions = app.repos.vocabularies.targetGroupDescriptions()
  t.equal(descriptions.size, 18)
  t.equal(descriptions.get(seedId('target-group', 'senioren')), 'Ältere Menschen, auch im Ruhestand.')
  t.notOk(descriptions.has(seedId('target-group', 'frauen')))
})

// After the seed (written when the test process starts), so that only the test's own writes count.
const SINCE = new Date(Date.now() + 3_600_000).toISOString()
const LATER = new Date(Date.now() + 7_200_000).toISOString()
const LATEST = new Date(Date.now() + 10_800_000).toISOString()

const cursorOf = (next: string) => new URL(next, 'http://localhost').searchParams.get('cursor')!
const since = (path: string, at: string, rest = '') => `${path}?updatedSince=${encodeURIComponent(at)}${rest}`
const slugs = (items: { slug: string }[]) => items.map((i) => i.slug)

function softDelete (app: FastifyInstance, table: typeof targetGroups | typeof categories, slug: string, at: string) {
  app.db.update(table).set({ deletedAt: at, updatedAt: at }).where(eq(table.slug, slug)).run()
}

function addEntry (app: FastifyInstance, table: typeof targetGroups | typeof categories, slug: string) {
  const now = new Date().toISOString()
  app.db.insert(table).values({
    id: seedId(table === targetGroups ? 'target-group' : 'category', slug), slug, labelDe: slug, labelEn: slug, description: 'Testeintrag', createdAt: now, updatedAt: now
  }).run()
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

for (const [path, table, file, total] of [
  ['/v1/target-groups', targetGroups, 'target-groups.json', 19],
  ['/v1/categories', categories, 'categories.json', 13]
] as const) {
  t.test(`GET ${path} cursor pages concatenate to the whole vocabulary, counts included`, async (t) => {
    const app = await readOnlyApp(t)
    const all = (await getJson(app, `${path}?limit=500`)).body.items
    t.equal(all.length, total)
    const first = await getJson(app, `${path}?limit=5`)
    t.same(first.body.links, { self: `${path}?limit=5`, first: `${path}?limit=5`, next: first.body.links.next })
    t.match(first.body.links.next, /&cursor=[A-Za-z0-9_-]+$/)
    t.same(await walk(t, app, `${path}?limit=5`, total), all, 'the same entries with the same counts')
    t.same(slugs(await walk(t, app, `${path}?limit=4&sort=-slug`, total)), seedSlugs(file).reverse())
    const ids = all.map((e: any) => e.id).sort()
    t.same((await walk(t, app, `${path}?limit=6&sort=updatedAt`, total)).map((e) => e.id), ids, 'equal updatedAt: id decides')
    t.same((await walk(t, app, `${path}?limit=6&sort=-updatedAt`, total)).map((e) => e.id), [...ids].reverse())
    const offset = await getJson(app, `${path}?limit=2&offset=3`)
    t.same(offset.body.items, all.slice(3, 5))
  })

  t.test(`GET ${path} cursors stay stable while entries are added and deleted`, async (t) => {
    const app = await buildTestApp(t)
    const expected = seedSlugs(file)
    const first = (await getJson(app, `${path}?limit=5`)).body
    t.same(slugs(first.items), expected.slice(0, 5))
    addEntry(app, table, 'aaa-test')
    softDelete(app, table, expected[7]!, LATER)
    const rest = await walk(t, app, first.links.next, total)
    t.same([...slugs(first.items), ...slugs(rest)], expected.filter((slug) => slug !== expected[7]), 'no duplicates, no gaps among the survivors')
  })

  t.test(`GET ${path}?format=ndjson streams the whole vocabulary, one entry per line`, async (t) => {
    const app = await buildTestApp(t)
    const res = await app.inject(`${path}?format=ndjson&limit=1&offset=4`)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
    const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
    t.equal(lines.length, total, 'all entries, ignoring limit and offset')
    t.same(lines, (await getJson(app, path)).body.items)
    softDelete(app, table, seedSlugs(file)[0]!, LATER)
    const changes = await app.inject(`${since(path, SINCE)}&format=ndjson`)
    t.equal(changes.body, `${JSON.stringify({ id: lines[0].id, deleted: true, deletedAt: LATER })}\n`)
  })

  t.test(`GET ${path} (400) for a cursor that is garbage or of another sort`, async (t) => {
    const app = await readOnlyApp(t)
    const garbage = await getJson(app, `${path}?cursor=eyJzbHVnIjoxfQ`)
    t.equal(garbage.res.statusCode, 400)
    t.equal(garbage.res.headers['content-type'], PROBLEM_JSON)
    t.equal(garbage.body.type, '/problems/invalid-cursor')
    const cursor = cursorOf((await getJson(app, `${path}?limit=3`)).body.links.next)
    const other = await getJson(app, `${path}?limit=3&sort=updatedAt&cursor=${cursor}`)
    t.equal(other.res.statusCode, 400)
    t.equal(other.res.headers['content-type'], PROBLEM_JSON)
    t.equal(other.body.detail, 'The cursor belongs to sort=slug, not sort=updatedAt.')
  })
}

t.test('GET /v1/target-groups?updatedSince= lists changed groups with correct counts and deleted ones as tombstones', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(targetGroups).set({ labelEn: 'Seniors', updatedAt: LATER }).where(eq(targetGroups.slug, 'senioren')).run()
  softDelete(app, targetGroups, 'frauen', LATEST)
  const { res, body } = await getJson(app, since('/v1/target-groups', SINCE))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-total-count'], '2')
  t.equal(body.total, 2)
  t.same(body.items[0], {
    id: seedId('target-group', 'senioren'),
    slug: 'senioren',
    labelDe: 'Seniorinnen und Senioren',
    labelEn: 'Seniors',
    description: 'Ältere Menschen, auch im Ruhestand.',
    facilityCount: 9,
    serviceCount: 9,
    createdAt: body.items[0].createdAt,
    updatedAt: LATER
  })
  t.same(body.items[1], { id: seedId('target-group', 'frauen'), deleted: true, deletedAt: LATEST })
  t.equal((await getJson(app, '/v1/target-groups')).body.total, 18)
  t.same((await getJson(app, since('/v1/target-groups', LATEST))).body.items.map((g: any) => g.id), [seedId('target-group', 'frauen')])
  const bySlug = await getJson(app, since('/v1/target-groups', SINCE, '&sort=slug'))
  t.same(bySlug.body.items.map((g: any) => g.id), [seedId('target-group', 'frauen'), seedId('target-group', 'senioren')])
  const everything = await getJson(app, since('/v1/target-groups', '2000-01-01T00:00:00Z', '&limit=500'))
  t.equal(everything.body.total, 19)
  t.equal(everything.body.items.at(-1).id, seedId('target-group', 'frauen'), 'the latest change comes last')
})

t.test('GET /v1/categories?updatedSince= lists changed categories with correct counts and deleted ones as tombstones', async (t) => {
  const app = await buildTestApp(t)
  app.db.update(categories).set({ labelEn: 'Advice', updatedAt: LATER }).where(eq(categories.slug, 'beratung')).run()
  softDelete(app, categories, 'selbsthilfe', LATEST)
  const { res, body } = await getJson(app, since('/v1/categories', SINCE))
  t.equal(res.headers['x-total-count'], '2')
  t.same(body.items.map((c: any) => c.id), [seedId('category', 'beratung'), seedId('category', 'selbsthilfe')])
  t.same([body.items[0].labelEn, body.items[0].serviceCount, body.items[0].facilityCount, body.items[0].updatedAt], ['Advice', 8, 6, LATER])
  t.same(body.items[1], { id: seedId('category', 'selbsthilfe'), deleted: true, deletedAt: LATEST })
  t.equal((await getJson(app, '/v1/categories')).body.total, 12)
  t.equal((await getJson(app, since('/v1/categories', '2099-01-01T00:00:00Z'))).body.total, 0)
})

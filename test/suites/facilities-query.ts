import t from 'tap'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, insertTestFacility, softDeleteFacility, readOnlyApp } from '../helper.ts'

const slugs = (body: { items: { slug: string }[] }) => body.items.map((f) => f.slug)
const q = (text: string) => `/v1/facilities?q=${encodeURIComponent(text)}`

t.test('GET /v1/facilities?q= finds facilities regardless of case, umlauts and ß', async (t) => {
  const app = await readOnlyApp(t)
  t.same(slugs((await getJson(app, q('Familienzentrum Wattstrasse'))).body), ['familienzentrum-wattstrasse'], 'ss finds ß')
  t.same(slugs((await getJson(app, q('familienzentrum wattstraße'))).body), ['familienzentrum-wattstrasse'])
  t.same(slugs((await getJson(app, q('begegnungsstatte'))).body).sort(), ['begegnungsstaette-mehr-mitte', 'begegnungsstaette-spandauer-strasse'], 'a finds ä')
  t.same(slugs((await getJson(app, q('BEGEGNUNGSSTÄTTE'))).body).sort(), ['begegnungsstaette-mehr-mitte', 'begegnungsstaette-spandauer-strasse'])
  t.equal(slugs((await getJson(app, q('Lützow'))).body)[0], 'villa-luetzow')
  t.equal(slugs((await getJson(app, q('Luetzow'))).body)[0], 'villa-luetzow', 'ue finds ü')
  t.same(slugs((await getJson(app, q('selbsthil'))).body), ['shk-mitte'], 'prefix as you type')
  t.same(slugs((await getJson(app, q('kreativ'))).body)[0], 'kreativhaus')
})

t.test('GET /v1/facilities?q= finds text written with decomposed umlauts (NFD) as with composed ones', async (t) => {
  const app = await buildTestApp(t)
  insertTestFacility(app, { slug: 'test-nfd', name: 'Qwerst\u0061\u0308tte Su\u0308d (Test)' })
  for (const text of ['qwerstaette', 'Qwerstätte', 'qwerstatte', 'Qwersta\u0308tte', 'qwerstaette sued']) {
    t.same(slugs((await getJson(app, q(text))).body), ['test-nfd'], text)
  }
})

t.test('GET /v1/facilities?q= ranks by relevance and says why each result matched', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson(app, q('Familienzentrum'))
  t.ok(body.total >= 4)
  const nameMatches = body.items.map((f: any) => f.match.fields.includes('name'))
  t.same(nameMatches, [...nameMatches].sort((a: boolean, b: boolean) => Number(b) - Number(a)), 'name matches rank above the others')
  t.same(slugs(body).slice(0, 3).sort(), ['familienzentrum-moabit-ost', 'familienzentrum-wattstrasse', 'meerbaum-haus'])
  const watt = body.items.find((f: any) => f.slug === 'familienzentrum-wattstrasse')
  t.equal(watt.match.fields[0], 'name')
  t.match(watt.match.snippet, /Familienzentrum/)
  const meerbaum = body.items.find((f: any) => f.slug === 'meerbaum-haus')
  t.ok(meerbaum.match.fields.includes('alternateNames') || meerbaum.match.fields.includes('name'))
  const service = await getJson(app, q('Mittagstreff'))
  const hit = service.body.items.find((f: any) => f.slug === 'meerbaum-haus')
  t.ok(hit.match.fields.includes('services'), 'matched through its services')
  t.match(hit.match.snippet, /Mittagstreff/)
})

t.test('GET /v1/facilities?q= treats any text as search words (never a 500)', async (t) => {
  const app = await readOnlyApp(t)
  const nasty = ['"', '""', '*', '-', '-kreativhaus', 'NEAR(a b)', 'kreativ*', '(', ')', '((kreativ', 'AND', 'OR NOT', 'a:b', '^', '{}', 'name:kreativhaus', '\u0000', '🙂', 'x'.repeat(200), '\' OR 1=1 --']
  for (const text of nasty) {
    const res = await app.inject(q(text))
    t.equal(res.statusCode, 200, JSON.stringify(text))
  }
  t.equal((await getJson(app, q('kreativ*'))).body.items[0].slug, 'kreativhaus', 'syntax characters are ignored, the words count')
  const empty = await getJson(app, '/v1/facilities?q=')
  t.equal(empty.body.total, 14, 'an empty query does not filter')
  const punctuation = await getJson(app, q('"*-()'))
  t.equal(punctuation.body.total, 14, 'no words, no filter')
  const tooLong = await getJson(app, q('x'.repeat(201)))
  t.equal(tooLong.res.statusCode, 400)
  t.equal(tooLong.res.headers['content-type'], PROBLEM_JSON)
  t.same(tooLong.body.errors, [{ field: 'query.q', message: 'must NOT have more than 200 characters' }])
})

t.test('GET /v1/facilities sort= and its preconditions (400)', async (t) => {
  const app = await readOnlyApp(t)
  const byName = (await getJson(app, '/v1/facilities?sort=-name')).body
  const names = byName.items.map((f: any) => f.name.toLowerCase())
  t.same(names, [...names].sort().reverse())
  for (const [url, field] of <[string, string][]>[['/v1/facilities?sort=relevance', 'query.sort'], ['/v1/facilities?sort=distance', 'query.sort'], ['/v1/facilities?radius=100', 'query.radius'], ['/v1/facilities?sort=colour', 'query.sort']]) {
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(body.errors[0].field, field)
  }
})

t.test('GET /v1/facilities?near=&radius= and bbox= use coordinates only where known', async (t) => {
  const app = await buildTestApp(t)
  // Synthetic test facilities; no real facility has coordinates.
  insertTestFacility(app, { slug: 'test-alexanderplatz', name: 'Test Alexanderplatz', lat: 52.5219, lon: 13.4132 })
  insertTestFacility(app, { slug: 'test-brandenburger-tor', name: 'Test Brandenburger Tor', lat: 52.5163, lon: 13.3777 })
  insertTestFacility(app, { slug: 'test-potsdam', name: 'Test Potsdam', lat: 52.3906, lon: 13.0645 })
  const near = await getJson(app, '/v1/facilities?near=52.5219,13.4132&radius=3000')
  t.equal(near.res.statusCode, 200)
  t.same(slugs(near.body), ['test-alexanderplatz', 'test-brandenburger-tor'], 'sorted by distance, within the radius')
  t.equal(near.body.items[0].distance, 0)
  t.ok(near.body.items[1].distance > 2300 && near.body.items[1].distance < 2600, `Alexanderplatz–Brandenburger Tor ≈ 2.4 km (${near.body.items[1].distance})`)
  const all = await getJson(app, '/v1/facilities?near=52.5219,13.4132')
  t.same(slugs(all.body), ['test-alexanderplatz', 'test-brandenburger-tor', 'test-potsdam'], 'facilities without coordinates are never placed')
  const byName = await getJson(app, '/v1/facilities?near=52.5219,13.4132&sort=-name')
  t.same(slugs(byName.body), ['test-potsdam', 'test-brandenburger-tor', 'test-alexanderplatz'])
  const box = await getJson(app, '/v1/facilities?bbox=13.30,52.50,13.40,52.55')
  t.same(slugs(box.body), ['test-brandenburger-tor'])
  for (const url of ['/v1/facilities?near=91,13', '/v1/facilities?bbox=13.4,52.5,13.3,52.6', '/v1/facilities?near=abc', '/v1/facilities?radius=0&near=52,13']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.headers['content-type'], PROBLEM_JSON, url)
  }
})

t.test('GET /v1/facilities?openAt= honours Berlin time, holidays, DST and midnight', async (t) => {
  const app = await buildTestApp(t)
  insertTestFacility(app, { slug: 'test-office-hours', name: 'Test Bürozeiten', openingHours: 'Mo-Fr 09:00-17:00; PH off' })
  insertTestFacility(app, { slug: 'test-late', name: 'Test Spätschicht', openingHours: 'Fr 22:00-02:00' })
  const openAt = async (instant: string) => slugs((await getJson(app, `/v1/facilities?openAt=${encodeURIComponent(instant)}`)).body)
  t.same(await openAt('2026-03-11T10:00:00+01:00'), ['test-office-hours'], 'a Wednesday morning')
  t.same(await openAt('2026-03-11T08:30:00Z'), ['test-office-hours'], '08:30 UTC is 09:30 in Berlin (CET)')
  t.same(await openAt('2026-03-11T07:30:00Z'), [], '07:30 UTC is 08:30 in Berlin')
  t.same(await openAt('2027-03-08T10:00:00+01:00'), [], '8 March, Internationaler Frauentag, is a Berlin holiday')
  t.same(await openAt('2026-12-25T10:00:00+01:00'), [], 'Christmas')
  t.same(await openAt('2026-03-30T07:30:00Z'), ['test-office-hours'], 'after the switch to summer time 07:30 UTC is 09:30 CEST')
  t.same(await openAt('2026-03-27T07:30:00Z'), [], 'before the switch 07:30 UTC is 08:30 CET')
  t.same(await openAt('2026-10-26T08:30:00Z'), ['test-office-hours'], 'after the switch back 08:30 UTC is 09:30 CET')
  t.same(await openAt('2026-03-14T00:30:00+01:00'), ['test-late'], 'Friday night past midnight')
  t.same(await openAt('2026-03-14T02:00:00+01:00'), [], 'closed at the closing minute')
  t.same(await openAt('2026-03-13T21:59:00+01:00'), [], 'not yet open')
  const now = await getJson(app, '/v1/facilities?openNow=true')
  t.equal(now.res.statusCode, 200)
  t.ok(now.body.items.every((f: any) => f.slug.startsWith('test-')), 'seeded facilities have no structured hours and are never reported open')
  const both = await app.inject('/v1/facilities?openNow=true&openAt=2026-03-11T10:00:00Z')
  t.equal(both.statusCode, 400)
  const bad = await app.inject('/v1/facilities?openAt=tomorrow')
  t.equal(bad.statusCode, 400)
})

t.test('GET /v1/facilities cursor pages are stable while records change', async (t) => {
  const app = await buildTestApp(t)
  const all = (await getJson(app, '/v1/facilities?limit=500')).body.items.map((f: any) => f.slug)
  const seen: string[] = []
  let url: string | null = '/v1/facilities?limit=4'
  let pages = 0
  while (url !== null) {
    const { res, body }: { res: any, body: any } = await getJson(app, url)
    t.equal(res.headers['x-total-count'], '14')
    seen.push(...body.items.map((f: any) => f.slug))
    url = body.links.next
    if (url !== null) t.match(res.headers.link, `<${url}>; rel="next"`)
    pages++
  }
  t.equal(pages, 4)
  t.same(seen, all, 'pages concatenate to the full list')

  const first = (await getJson(app, '/v1/facilities?limit=4')).body
  const onPageOne = first.items.map((f: any) => f.slug)
  // Between the requests: a record that sorts before the cursor appears, one after it is deleted.
  insertTestFacility(app, { slug: 'aaa-test', name: 'AAA Test' })
  const victim = all[6]
  softDeleteFacility(app, seedId('facility', victim))
  const rest: string[] = []
  let next: string | null = first.links.next
  while (next !== null) {
    const { body }: { body: any } = await getJson(app, next)
    rest.push(...body.items.map((f: any) => f.slug))
    next = body.links.next
  }
  t.same([...onPageOne, ...rest], all.filter((s: string) => s !== victim), 'no duplicates, no gaps among the survivors')
  const garbage = await getJson(app, '/v1/facilities?cursor=not-a-cursor')
  t.equal(garbage.res.statusCode, 400)
  t.equal(garbage.body.type, '/problems/invalid-cursor')
  const otherSort = await getJson(app, `/v1/facilities?sort=-updatedAt&cursor=${first.links.next.split('cursor=')[1]}`)
  t.equal(otherSort.res.statusCode, 400)
  t.match(otherSort.body.detail, /sort=name/)
  // JSON reads 1e999 as Infinity: no sort key is that.
  const infinite = Buffer.from('["distance",1e999,"00000000-0000-4000-8000-000000000001"]').toString('base64url')
  const notFinite = await getJson(app, `/v1/facilities?near=52.52,13.40&cursor=${infinite}`)
  t.equal(notFinite.res.statusCode, 400, 'a cursor with a number that is not finite')
  t.equal(notFinite.body.type, '/problems/invalid-cursor')
})

t.test('GET /v1/facilities?updatedSince= lists changes with tombstones for deletes', async (t) => {
  const app = await buildTestApp(t)
  const since = new Date(Date.now() + 1000).toISOString()
  const later = new Date(Date.now() + 2000).toISOString()
  softDeleteFacility(app, seedId('facility', 'kreativhaus'), later)
  const added = insertTestFacility(app, { slug: 'test-new', name: 'Test Neu', updatedAt: later })
  const normal = await getJson(app, '/v1/facilities')
  t.notOk(slugs(normal.body).includes('kreativhaus'), 'a deleted facility disappears from normal lists')
  t.equal((await app.inject('/v1/facilities/kreativhaus')).statusCode, 404)
  const changes = await getJson(app, `/v1/facilities?updatedSince=${encodeURIComponent(since)}`)
  t.equal(changes.body.total, 2)
  t.same(changes.body.items.map((i: any) => i.id).sort(), [seedId('facility', 'kreativhaus'), added].sort())
  const tombstone = changes.body.items.find((i: any) => i.deleted)
  t.same(tombstone, { id: seedId('facility', 'kreativhaus'), deleted: true, deletedAt: later })
  const fresh = changes.body.items.find((i: any) => !i.deleted)
  t.equal(fresh.slug, 'test-new')
  const nothing = await getJson(app, `/v1/facilities?updatedSince=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)
  t.equal(nothing.body.total, 0)
})

t.test('GET /v1/facilities?include= embeds related records; fields= returns a sparse set', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson(app, '/v1/facilities?include=services,contacts,targetGroups&ortsteil=Mitte')
  const kreativhaus = body.items.find((f: any) => f.slug === 'kreativhaus')
  t.equal(kreativhaus.services.length, kreativhaus.serviceCount)
  t.equal(kreativhaus.services.length, 20)
  t.ok(kreativhaus.services.every((s: any) => s.facility.slug === 'kreativhaus'))
  t.same(kreativhaus.contacts, [], 'the Kreativhaus has no public contact')
  t.ok(kreativhaus.targetGroups.every((g: any) => typeof g.description === 'string' && g.description.length > 0))
  const plain = (await getJson(app, '/v1/facilities/kreativhaus')).body
  t.notOk('services' in plain)
  t.notOk('description' in plain.targetGroups[0], 'descriptions only with include=targetGroups')

  const sparse = await getJson(app, '/v1/facilities?fields=name,address&limit=2')
  t.same(Object.keys(sparse.body.items[0]).sort(), ['address', 'id', 'name'])
  const bad = await getJson(app, '/v1/facilities?fields=name,colour')
  t.equal(bad.res.statusCode, 400)
  t.same(bad.body.errors, [{ field: 'query.fields', message: 'colour is not a field of Facility' }])
  const badInclude = await app.inject('/v1/facilities?include=everything')
  t.equal(badInclude.statusCode, 400)
})

t.test('GET /v1/facilities?format=ndjson streams every record, one per line', async (t) => {
  const app = await readOnlyApp(t)
  const res = await app.inject('/v1/facilities?format=ndjson&limit=2')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.equal(lines.length, 14, 'all records, not a page')
  t.ok(lines.every((f) => typeof f.id === 'string' && typeof f.name === 'string'))
  const filtered = await app.inject('/v1/facilities?format=ndjson&partnershipStatus=probable&fields=slug')
  t.same(filtered.body.trimEnd().split('\n').map((line) => JSON.parse(line).slug).sort(), ['nachbarschaftsetage-fabrik-osloer-strasse', 'sprengelhaus', 'stadtschloss-moabit'])
})

t.test('GET /v1/facilities?bezirksregion= filters where a source states the region', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson(app, '/v1/facilities?bezirksregion=tiergarten%20s%C3%BCd')
  t.same(slugs(body).sort(), ['nachbarschaftstreff-stadtteilverein-tiergarten', 'villa-luetzow'])
})

t.test('wordForms (kept per word) gives exactly the folded and transliterated forms', async (t) => {
  const { fold, transliterate, wordForms } = await import('../../src/lib/search-text.ts')
  for (const word of ['Familie', 'FAMILIE', 'x1', 'Straße', 'STRASSE', 'Lützow', 'Begegnungsstätte', 'Café', 'ÄÖÜ', 'ẞ', '１２３', 'Zoë', 'Łódź']) {
    const expected = [...new Set([fold(word), transliterate(word)])]
    t.same([...new Set(wordForms(word))], expected, word)
    t.same([...new Set(wordForms(word))], expected, `${word} again (kept)`)
  }
})

t.test('GET /v1/facilities?match=all: every value of a taxonomy filter, not any (AND/OR taxonomy queries)', async (t) => {
  const app = await readOnlyApp(t)
  const ids = async (url: string) => (await getJson(app, url)).body.items.map((f: { id: string }) => f.id).sort()
  const all = (await getJson(app, '/v1/facilities?limit=500&include=services')).body.items as any[]
  const groupsOf = (f: any) => new Set([...f.targetGroups.map((g: any) => g.slug), ...f.services.flatMap((s: any) => s.targetGroups.map((g: any) => g.slug))])
  const expect = (test: (f: any) => boolean) => all.filter(test).map((f) => f.id).sort()
  for (const [a, b] of [['senioren', 'familien'], ['kinder', 'jugendliche']]) {
    const both = await ids(`/v1/facilities?targetGroup=${a}&targetGroup=${b}&match=all&limit=500`)
    const either = await ids(`/v1/facilities?targetGroup=${a}&targetGroup=${b}&limit=500`)
    t.same(both, expect((f) => groupsOf(f).has(a) && groupsOf(f).has(b)), `${a} and ${b}`)
    t.same(either, expect((f) => groupsOf(f).has(a) || groupsOf(f).has(b)), `${a} or ${b}`)
    t.same(await ids(`/v1/facilities?targetGroup=${a}&targetGroup=${b}&match=any&limit=500`), either, 'match=any is the default')
    t.ok(both.length < either.length, 'all narrows')
  }
  const categories = await ids('/v1/facilities?category=beratung&category=kultur&match=all&limit=500')
  t.same(categories, expect((f) => f.categories.includes('beratung') && f.categories.includes('kultur')), 'categories: beratung and kultur')
  t.ok(categories.length > 0)
  const types = await ids('/v1/facilities?type=familienzentrum&type=stadtteilzentrum&match=all&limit=500')
  t.same(types, expect((f) => f.types.includes('familienzentrum') && f.types.includes('stadtteilzentrum')), 'types: both')
  t.same(await ids('/v1/facilities?targetGroup=senioren&match=all&limit=500'), await ids('/v1/facilities?targetGroup=senioren&limit=500'), 'one value: the same either way')
  const bad = await getJson(app, '/v1/facilities?match=some')
  t.equal(bad.res.statusCode, 400)
  t.same(bad.body.errors.map((e: { field: string }) => e.field), ['query.match'])
})

t.test('match=all: 400 where it has nothing to apply to; its category clause starts from the facility\'s services (query plan)', async (t) => {
  const app = await buildTestApp(t)
  for (const [url, field] of [['/v1/facilities?match=all', 'query.match'], ['/v1/facilities?ortsteil=Moabit&match=all', 'query.match'],
    ['/v1/services?match=all', 'query.match'], ['/v1/services?category=beratung&category=kultur&match=all', 'query.match']] as const) {
    const { res, body } = await getJson(app, url)
    t.equal(res.statusCode, 400, url)
    t.same(body.errors.map((e: { field: string }) => e.field), [field])
  }
  t.equal((await app.inject('/v1/services?category=beratung&targetGroup=senioren&match=all')).statusCode, 200, 'one category with match=all is fine')
  // The SQL the list runs, caught as it is prepared, and how SQLite would run it: the services
  // of each facility by their facility index, never every service of a category per facility.
  const sqlite = app.db.$client
  const prepared: string[] = []
  const prepare = sqlite.prepare.bind(sqlite)
  sqlite.prepare = ((text: string) => { prepared.push(text); return prepare(text) }) as typeof sqlite.prepare
  t.teardown(() => { sqlite.prepare = prepare as typeof sqlite.prepare })
  for (const match of ['all', 'any']) {
    prepared.length = 0
    t.equal((await app.inject({ url: `/v1/facilities?category=beratung&category=kultur&match=${match}`, headers: { 'cache-control': 'no-cache' } })).statusCode, 200)
    const statements = prepared.filter((text) => text.includes('categories c'))
    t.ok(statements.length > 0, `${match}: the category clause was prepared`)
    for (const text of statements) {
      const plan = (prepare(`EXPLAIN QUERY PLAN ${text}`).all(...Array(prepare(text).source.split('?').length - 1).fill(null)) as { detail: string }[]).map((row) => row.detail).join('\n')
      t.match(plan, /SEARCH s USING INDEX services_facility_idx/, `${match}: services by facility`)
      t.notMatch(plan, /services_category_idx/, `${match}: not every service of a category`)
    }
  }
})

t.test('GET /v1/facilities?operator= names live organisations only (a facility left pointing at a deleted one is not its)', async (t) => {
  const app = await buildTestApp(t)
  const before = (await getJson(app, '/v1/facilities?operator=stadtteilverein-tiergarten')).body.total
  t.ok(before > 0)
  // As a db:seed run after the organisation's delete leaves it (the facility still names it).
  app.db.$client.prepare("UPDATE organisations SET deleted_at = '2026-05-01T00:00:00.000Z' WHERE slug = 'stadtteilverein-tiergarten'").run()
  const { body } = await getJson(app, '/v1/facilities?operator=stadtteilverein-tiergarten')
  t.equal(body.total, 0)
  t.same(body.items, [])
})

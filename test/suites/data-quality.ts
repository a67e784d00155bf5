import t from 'tap'
import { buildTestApp, getJson, readOnlyApp } from '../helper.ts'
import { dataQualityReport, dataQualityValidUntil, facilityGaps } from '../../src/repositories/data-quality.ts'

t.test('GET /v1/data-quality (200) lists the gaps of every facility', async (t) => {
  const app = await readOnlyApp(t)
  const { res, body } = await getJson(app, '/v1/data-quality')
  t.equal(res.statusCode, 200)
  t.equal(body.summary.facilities, 14)
  t.equal(body.summary.facilitiesWithGaps, 14)
  t.equal(body.summary.missingByField.geo, 14, 'no source gives coordinates')
  t.equal(body.summary.missingByField['openingHours.osm'], 14)
  t.equal(body.summary.verificationDue, 14, 'nobody has verified a record yet')
  const mehrMitte = body.facilities.find((f: any) => f.facility.slug === 'begegnungsstaette-mehr-mitte')
  t.same(mehrMitte.missing, ['address.street', 'address.postcode', 'address.ortsteil', 'geo', 'openingHours.osm', 'openingHours.note', 'phone', 'email', 'website', 'contactChannel', 'operator', 'services'])
  t.equal(mehrMitte.partnershipStatus, 'participant')
  const watt = body.facilities.find((f: any) => f.facility.slug === 'familienzentrum-wattstrasse')
  t.ok(watt.missing.includes('address.postcode'))
  t.notOk(watt.missing.includes('address.street'))
  t.notOk(watt.missing.includes('contactChannel'), 'it has a website')
})

t.test('GET /v1/data-quality (200) compares known partners with the declared counts', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson(app, '/v1/data-quality')
  t.equal(body.agreements.length, 1)
  const coverage = body.agreements[0]
  t.equal(coverage.agreement.slug, 'kooperationsvereinbarung-2018')
  t.same(coverage.unknownByName, [
    { declared: 19, knownByName: 9, missing: 10 },
    { declared: 17, knownByName: 9, missing: 8 }
  ])
  t.equal(coverage.evidence.length, 12)
  t.equal(coverage.evidence.filter((e: any) => e.confirmation === 'probable').length, 3)
  t.ok(coverage.evidence.every((e: any) => e.evidence.length > 20))
})

t.test('facilityGaps and the 12-month verification rule are pure functions', async (t) => {
  const app = await readOnlyApp(t)
  const kreativhaus = (await getJson(app, '/v1/facilities/kreativhaus')).body
  t.same(facilityGaps(kreativhaus), ['geo', 'openingHours.osm', 'openingHours.note', 'email'])
  const now = new Date('2026-11-21T00:00:00Z')
  const verified = { ...kreativhaus, verifiedAt: '2026-06-01T00:00:00.000Z' }
  const stale = { ...kreativhaus, id: 'x', verifiedAt: '2025-06-01T00:00:00.000Z' }
  const report = dataQualityReport([verified, stale], [], now)
  t.same(report.facilities.map((f) => f.verificationDue), [false, true])
  t.equal(report.summary.verificationDue, 1)
  t.equal(report.generatedAt, '2026-11-21T00:00:00.000Z')
})

t.test('dataQualityValidUntil: the report stays true until the next verification becomes due', async (t) => {
  const app = await readOnlyApp(t)
  const kreativhaus = (await getJson(app, '/v1/facilities/kreativhaus')).body
  const now = new Date('2026-11-21T00:00:00Z')
  const at = (verifiedAt: string | null, id = verifiedAt ?? 'none') => ({ ...kreativhaus, id, verifiedAt })
  t.equal(dataQualityValidUntil([at(null)], now), null, 'unverified records are due for good')
  t.equal(dataQualityValidUntil([at('2025-06-01T00:00:00.000Z')], now), null, 'due records stay due')
  const until = dataQualityValidUntil([at('2026-06-01T00:00:00.000Z'), at('2026-03-01T00:00:00.000Z'), at(null)], now)!
  t.equal(until.toISOString(), '2027-03-01T00:00:00.001Z', 'the earliest of the records not yet due, one millisecond after its period')
  const verified = at('2026-03-01T00:00:00.000Z')
  t.same(dataQualityReport([verified], [], new Date(until.getTime() - 1)).facilities.map((f) => f.verificationDue), [false], 'not due just before')
  t.same(dataQualityReport([verified], [], until).facilities.map((f) => f.verificationDue), [true], 'due from that moment')
})

t.test('GET /v1/data-quality is cached until the next write or the moment a verification becomes due', async (t) => {
  const app = await buildTestApp(t)
  const YEAR_MS = 365 * 24 * 60 * 60 * 1000
  const verify = (slug: string, verifiedAt: string) => app.db.$client.prepare('update facilities set verified_at = ? where slug = ?').run(verifiedAt, slug)
  const dueOf = (body: any, slug: string) => body.facilities.find((f: any) => f.facility.slug === slug).verificationDue
  // The app's clock, set by the test: no waiting, nothing depends on how fast the machine is.
  let now = Date.parse('2026-06-01T12:00:00.000Z')
  app.clock.now = () => now
  // kreativhaus becomes due 1.5 s from now, the others never change.
  const flip = now + 1500
  verify('kreativhaus', new Date(flip - YEAR_MS).toISOString())
  const first = await app.inject('/v1/data-quality')
  t.equal(dueOf(first.json(), 'kreativhaus'), false)
  const second = await app.inject('/v1/data-quality')
  t.equal(second.headers['x-cache'], 'hit', 'the same answer from the cache')
  t.equal(second.body, first.body)
  t.equal(second.headers['last-modified'], first.headers['last-modified'], 'last modified when it was built')
  now = flip - 1
  t.equal((await app.inject('/v1/data-quality')).headers['x-cache'], 'hit', 'kept up to the moment it is due')
  now = flip + 20
  const after = await app.inject('/v1/data-quality')
  t.equal(after.headers['x-cache'], undefined, 'rebuilt once the verification is due')
  t.equal(dueOf(after.json(), 'kreativhaus'), true)
  t.not(after.headers.etag, first.headers.etag)
  const revalidated = await app.inject({ url: '/v1/data-quality', headers: { 'if-none-match': first.headers.etag as string } })
  t.equal(revalidated.statusCode, 200, 'the old ETag does not revalidate')
  // A write drops it at once.
  t.equal((await app.inject('/v1/data-quality')).headers['x-cache'], 'hit')
  verify('kreativhaus', new Date(now).toISOString())
  const written = await app.inject('/v1/data-quality')
  t.equal(written.headers['x-cache'], undefined)
  t.equal(dueOf(written.json(), 'kreativhaus'), false)
})

import t from 'tap'
import { buildTestApp, getJson } from '../helper.ts'
import { dataQualityReport, facilityGaps } from '../../src/repositories/data-quality.ts'

t.test('GET /v1/data-quality (200) lists the gaps of every facility', async (t) => {
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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

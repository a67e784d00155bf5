import t from 'tap'
import { check } from '@placemarkio/check-geojson'
import type { Facility } from '../../src/schemas/facilities.ts'
import type { Tombstone } from '../../src/schemas/common.ts'
import { GEOJSON_MEDIA_TYPE, facilitiesFeatureCollection, facilityFeature } from '../../src/formats/geojson.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { getJson, readOnlyApp } from '../helper.ts'

const KREATIVHAUS_ID = seedId('facility', 'kreativhaus')
const SHK_ID = seedId('facility', 'shk-mitte')

// The exported text is checked and parsed by check-geojson, as a client receives it.
const roundTrip = (value: unknown) => check(JSON.stringify(value)) as unknown as {
  type: string
  features: { type: string, id: string, geometry: { type: string, coordinates: number[] } | null, properties: Record<string, unknown> }[]
}

t.test('the real facilities: valid GeoJSON with null geometry, facts in the properties', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<{ total: number, items: Facility[] }>(app, '/v1/facilities?limit=500')
  t.ok(body.total > 0)
  const parsed = roundTrip(facilitiesFeatureCollection(body.items))

  t.equal(parsed.type, 'FeatureCollection')
  t.equal(parsed.features.length, body.total)
  t.ok(parsed.features.every((feature) => feature.type === 'Feature' && feature.geometry === null), 'no source gives coordinates: no geometry is invented')
  t.same(parsed.features.map((feature) => feature.id), body.items.map((facility) => facility.id))

  const kreativhaus = parsed.features.find((feature) => feature.id === KREATIVHAUS_ID)
  t.match(kreativhaus?.properties, {
    slug: 'kreativhaus',
    name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)',
    street: 'Fischerinsel 3',
    postcode: '10179',
    city: 'Berlin',
    ortsteil: 'Mitte',
    bezirksregion: null,
    phone: '030 / 238 09 13',
    fax: null,
    email: null,
    website: 'https://www.kreativhaus-berlin.de/',
    operator: 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)',
    partnershipStatus: 'participant',
    openingHours: null,
    openingHoursNote: null,
    url: `/v1/facilities/${KREATIVHAUS_ID}`
  })
  t.ok((kreativhaus?.properties.types as string[]).includes('stadtteilzentrum'))
  t.ok((kreativhaus?.properties.targetGroups as string[]).includes('senioren'))
  t.ok((kreativhaus?.properties.categories as string[]).includes('beratung'))

  const shk = parsed.features.find((feature) => feature.id === SHK_ID)
  t.match(shk?.properties, {
    street: 'Perleberger Str. 44',
    postcode: '10559',
    city: 'Berlin',
    ortsteil: 'Moabit',
    email: 'kontakt@stadtrand-berlin.de',
    website: 'www.stadtrand-berlin.de',
    operator: 'StadtRand gGmbH'
  })

  const wattstrasse = parsed.features.find((feature) => feature.properties.slug === 'familienzentrum-wattstrasse')
  t.equal(wattstrasse?.properties.name, 'Familienzentrum Wattstraße', 'umlauts and ß survive')
  t.equal(wattstrasse?.properties.postcode, null, 'an unknown postcode stays null')
  t.match(wattstrasse?.properties.openingHoursNote, /Mo, Di und Fr 9–12 und 14–17 Uhr/)
  t.equal(GEOJSON_MEDIA_TYPE, 'application/geo+json')
})

t.test('known coordinates become a Point in [longitude, latitude] order', async (t) => {
  const app = await readOnlyApp(t)
  const { body: real } = await getJson<Facility>(app, '/v1/facilities/kreativhaus')
  // Synthetic coordinates on a synthetic copy: no source gives the real ones.
  const located: Facility = { ...real, id: seedId('test-facility', 'located'), slug: 'testort', name: 'Testort Grünstraße – „Nachbarschaft“', geo: { lat: 52.5219, lon: 13.4132 } }
  const feature = facilityFeature(located)
  t.same(feature.geometry, { type: 'Point', coordinates: [13.4132, 52.5219] })

  const parsed = roundTrip(facilitiesFeatureCollection([real, located]))
  t.equal(parsed.features[0]?.geometry, null)
  t.same(parsed.features[1]?.geometry, { type: 'Point', coordinates: [13.4132, 52.5219] })
  t.equal(parsed.features[1]?.properties.name, 'Testort Grünstraße – „Nachbarschaft“')

  // The validator does catch what a writer could get wrong.
  t.throws(() => check(JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [13.4] }, properties: {} }] })))
  t.throws(() => check(JSON.stringify({ type: 'Feature', geometry: null })), 'a feature needs properties')
})

t.test('tombstones of deleted facilities', async (t) => {
  const app = await readOnlyApp(t)
  const { body: real } = await getJson<Facility>(app, '/v1/facilities/shk-mitte')
  const tombstone: Tombstone = { id: seedId('test-facility', 'deleted'), deleted: true, deletedAt: '2026-11-21T10:00:00.000Z' }
  const parsed = roundTrip(facilitiesFeatureCollection([real, tombstone]))
  t.same(parsed.features[1], { type: 'Feature', id: tombstone.id, geometry: null, properties: { deleted: true, deletedAt: '2026-11-21T10:00:00.000Z' } })
  t.equal(parsed.features[0]?.properties.deleted, undefined)
})

t.test('text with line breaks survives', async (t) => {
  const app = await readOnlyApp(t)
  const { body: real } = await getJson<Facility>(app, '/v1/facilities/kreativhaus')
  const note = 'Mo–Fr 9–17 Uhr\nSa nach Absprache; Feiertage geschlossen – „Grüße“'
  const parsed = roundTrip(facilitiesFeatureCollection([{ ...real, openingHours: { osm: null, note } }]))
  t.equal(parsed.features[0]?.properties.openingHoursNote, note)
  t.equal(facilitiesFeatureCollection([]).features.length, 0)
  t.same(roundTrip(facilitiesFeatureCollection([])), { type: 'FeatureCollection', features: [] }, 'an empty collection is valid')
})

t.test('with near, each feature has its distance in metres, as in JSON', async (t) => {
  const { buildTestApp, insertTestFacility } = await import('../helper.ts')
  const app = await buildTestApp(t)
  // Synthetic facilities with synthetic coordinates: no source gives the real ones.
  insertTestFacility(app, { slug: 'test-nah', name: 'Test nah', lat: 52.5219, lon: 13.4132 })
  insertTestFacility(app, { slug: 'test-fern', name: 'Test fern', lat: 52.5300, lon: 13.4000 })
  const json = (await getJson(app, '/v1/facilities?near=52.5219,13.4132&radius=3000')).body.items as { slug: string, distance: number }[]
  t.same(json.map((f) => f.slug), ['test-nah', 'test-fern'])
  const res = await app.inject('/v1/facilities?near=52.5219,13.4132&radius=3000&format=geojson')
  const parsed = roundTrip(res.json())
  t.same(parsed.features.map((f) => [f.properties.slug, f.properties.distance]), json.map((f) => [f.slug, f.distance]))
  const plain = roundTrip((await app.inject('/v1/facilities?format=geojson')).json())
  t.ok(plain.features.every((f) => !('distance' in f.properties)), 'without near, no distance')
})

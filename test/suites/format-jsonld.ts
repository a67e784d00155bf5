import t, { type Test } from 'tap'
import jsonld from 'jsonld'
import type { Contact } from '../../src/schemas/contacts.ts'
import type { Facility } from '../../src/schemas/facilities.ts'
import { JSONLD_MEDIA_TYPE, OSM_OPENING_HOURS_KEY, facilityJsonLd, openingHoursSpecification } from '../../src/formats/jsonld.ts'
import { isOpenAt, validateOpeningHours } from '../../src/lib/opening-hours.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { getJson, readOnlyApp } from '../helper.ts'

const KREATIVHAUS_ID = seedId('facility', 'kreativhaus')
const FIPP_ID = seedId('organisation', 'fipp')
const S = 'http://schema.org/'

// The network is not available to tests, so https://schema.org resolves to a local stand-in: the
// terms this writer uses, as the schema.org context (https://schema.org/docs/jsonldcontext.jsonld)
// defines them (vocabulary http://schema.org/, `url` an IRI). Any other remote document fails.
const SCHEMA_ORG_CONTEXT = {
  '@context': {
    '@vocab': S,
    schema: S,
    url: { '@id': 'schema:url', '@type': '@id' }
  }
}
const loaded: string[] = []
async function documentLoader (url: string) {
  loaded.push(url)
  if (url === 'https://schema.org' || url === 'https://schema.org/') return { contextUrl: undefined, documentUrl: url, document: SCHEMA_ORG_CONTEXT }
  throw new Error(`offline: ${url}`)
}

type Expanded = Record<string, { '@value'?: unknown, '@id'?: string, '@type'?: string[] }[]> & { '@id'?: string, '@type'?: string[] }

async function expand (document: unknown): Promise<Expanded> {
  const expanded = await jsonld.expand(JSON.parse(JSON.stringify(document)), { documentLoader }) as Expanded[]
  if (expanded.length !== 1 || expanded[0] === undefined) throw new Error(`expected one node, got ${expanded.length}`)
  return expanded[0]
}

const values = (node: Expanded | undefined, term: string) => (node?.[S + term] ?? []).map((v) => v['@value'] ?? v['@id'])
const value = (node: Expanded | undefined, term: string) => values(node, term)[0]
const child = (node: Expanded | undefined, term: string) => node?.[S + term]?.[0] as Expanded | undefined

// As the list returns it with its public contacts embedded.
async function facility (t: Test, slug: string): Promise<Facility> {
  const app = await readOnlyApp(t)
  const { body } = await getJson<{ items: Facility[] }>(app, '/v1/facilities?include=contacts&limit=500')
  const found = body.items.find((f) => f.slug === slug)
  if (found === undefined) throw new Error(`no facility ${slug}`)
  return found
}

t.test('Kreativhaus: real facts in the expanded form', async (t) => {
  const kreativhaus = await facility(t, 'kreativhaus')
  const document = facilityJsonLd(kreativhaus)
  t.equal(document['@context'], 'https://schema.org')
  const node = await expand(document)
  t.ok(loaded.includes('https://schema.org'), 'the context was resolved (locally)')

  t.equal(node['@id'], `urn:uuid:${KREATIVHAUS_ID}`)
  t.same(node['@type'], [`${S}Place`, `${S}Organization`])
  t.equal(value(node, 'name'), 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)')
  t.ok(values(node, 'alternateName').includes('Kreativhaus auf der Fischerinsel'))
  t.ok(values(node, 'alternateName').includes('Familienzentrum Fischerinsel (FZF)'))
  t.match(value(node, 'description'), /Stadtteilzentrum auf der Fischerinsel.*Theater- und Spielpädagogik/)
  t.equal(value(node, 'telephone'), '030 / 238 09 13')
  t.equal(value(node, 'url'), 'https://www.kreativhaus-berlin.de/')
  t.equal(node[`${S}url`]?.[0]?.['@id'], 'https://www.kreativhaus-berlin.de/', 'the website is an IRI, not text')
  t.equal(value(node, 'identifier'), 'kreativhaus')

  const address = child(node, 'address')
  t.same(address?.['@type'], [`${S}PostalAddress`])
  t.equal(value(address, 'streetAddress'), 'Fischerinsel 3')
  t.equal(value(address, 'postalCode'), '10179')
  t.equal(value(address, 'addressLocality'), 'Berlin')
  t.equal(value(address, 'addressCountry'), 'DE')
  t.same(values(address, 'addressRegion'), [], 'no region is added')
  t.equal(value(child(node, 'containedInPlace'), 'name'), 'Mitte')

  const operator = child(node, 'parentOrganization')
  t.equal(operator?.['@id'], `urn:uuid:${FIPP_ID}`)
  t.equal(value(operator, 'name'), 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)')

  // Unknown facts are absent, not empty.
  for (const term of ['geo', 'email', 'faxNumber', 'contactPoint', 'openingHoursSpecification', 'additionalProperty', 'openingHours']) {
    t.notOk(`${S}${term}` in node, `no ${term}`)
  }
  t.equal(JSONLD_MEDIA_TYPE, 'application/ld+json')
})

t.test('SHK Mitte: e-mail, fax and a website printed without a scheme', async (t) => {
  const shk = await facility(t, 'shk-mitte')
  const node = await expand(facilityJsonLd(shk, { baseUrl: 'https://partner.example.org/api' }))
  t.equal(node['@id'], `https://partner.example.org/api/v1/facilities/${shk.id}`)
  t.equal(value(node, 'email'), 'kontakt@stadtrand-berlin.de')
  t.equal(value(node, 'faxNumber'), '(030) 394 64 85')
  t.equal(value(node, 'url'), 'http://www.stadtrand-berlin.de')
  t.equal(value(child(node, 'address'), 'streetAddress'), 'Perleberger Str. 44')
  t.equal(value(child(node, 'address'), 'postalCode'), '10559')
  t.equal(child(node, 'parentOrganization')?.['@id'], `https://partner.example.org/api/v1/organisations/${seedId('organisation', 'stadtrand')}`)
  t.equal(value(child(node, 'parentOrganization'), 'name'), 'StadtRand gGmbH')
})

t.test('all real facilities expand, with umlauts and line breaks intact', async (t) => {
  const app = await readOnlyApp(t)
  const { body } = await getJson<{ items: Facility[] }>(app, '/v1/facilities?limit=500')
  for (const f of body.items) {
    const node = await expand(facilityJsonLd(f))
    t.equal(value(node, 'name'), f.name)
    t.notOk(`${S}geo` in node, `${f.slug}: no coordinates are invented`)
  }
  const wattstrasse = body.items.find((f) => f.slug === 'familienzentrum-wattstrasse')
  if (wattstrasse === undefined) throw new Error('no Familienzentrum Wattstraße')
  const node = await expand(facilityJsonLd(wattstrasse))
  t.equal(value(node, 'name'), 'Familienzentrum Wattstraße')
  t.same(values(child(node, 'address'), 'postalCode'), [], 'an unknown postcode is absent')
  // Only a free-text note is known: kept as a property value, never turned into hours.
  t.notOk(`${S}openingHoursSpecification` in node)
  const note = child(node, 'additionalProperty')
  t.equal(value(note, 'name'), 'openingHours.note')
  t.match(value(note, 'value'), /Mo, Di und Fr 9–12 und 14–17 Uhr/)

  const withBreaks = { ...wattstrasse, description: 'Erste Zeile: Begegnungsstätte für Groß und Klein.\nZweite Zeile – „Grüße“.' }
  t.equal(value(await expand(facilityJsonLd(withBreaks)), 'description'), withBreaks.description)
})

t.test('coordinates and public contacts, where known', async (t) => {
  const real = await facility(t, 'kreativhaus')
  t.same(real.contacts, [], 'no public contact is linked to the facility')
  // Synthetic copies: no source gives coordinates or a contact person of the facility.
  const located = { ...real, geo: { lat: 52.5107, lon: 13.4093 } }
  const geo = child(await expand(facilityJsonLd(located)), 'geo')
  t.same(geo?.['@type'], [`${S}GeoCoordinates`])
  t.equal(value(geo, 'latitude'), 52.5107)
  t.equal(value(geo, 'longitude'), 13.4093)

  const contact = (name: string, visibility: Contact['visibility']): Contact => ({
    id: seedId('test-contact', name),
    name,
    role: 'Koordinatorin für Öffentlichkeitsarbeit (Testdatensatz)',
    organisation: null,
    facility: { id: real.id, slug: real.slug, name: real.name },
    phone: '030 000000',
    email: null,
    visibility,
    asOf: '2026',
    sources: [],
    createdAt: real.createdAt,
    updatedAt: real.updatedAt
  })
  const node = await expand(facilityJsonLd(real, { contacts: [contact('Erika Müßig', 'public'), contact('Interne Person', 'internal')] }))
  const points = node[`${S}contactPoint`] as unknown as Expanded[]
  t.equal(points.length, 1, 'internal contacts are never published')
  t.same(points[0]?.['@type'], [`${S}ContactPoint`])
  t.equal(value(points[0], 'name'), 'Erika Müßig')
  t.equal(value(points[0], 'contactType'), 'Koordinatorin für Öffentlichkeitsarbeit (Testdatensatz)')
  t.equal(value(points[0], 'telephone'), '030 000000')
  t.same(values(points[0], 'email'), [])

  const embedded = await expand(facilityJsonLd({ ...real, contacts: [contact('Erika Müßig', 'public')] }))
  t.equal(value(child(embedded, 'contactPoint'), 'name'), 'Erika Müßig', 'embedded contacts are used by default')
})

t.test('structured opening hours only where they convert without loss', async (t) => {
  const real = await facility(t, 'kreativhaus')
  const node = await expand(facilityJsonLd({ ...real, openingHours: { osm: 'Mo-Fr 09:00-17:00', note: null } }))
  const spec = child(node, 'openingHoursSpecification')
  t.same(spec?.['@type'], [`${S}OpeningHoursSpecification`])
  t.same(values(spec, 'dayOfWeek'), ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'].map((day) => `https://schema.org/${day}`))
  t.equal(value(spec, 'opens'), '09:00:00')
  t.equal(value(spec, 'closes'), '17:00:00')
  const osm = child(node, 'additionalProperty')
  t.equal(value(osm, 'propertyID'), OSM_OPENING_HOURS_KEY)
  t.equal(value(osm, 'value'), 'Mo-Fr 09:00-17:00', 'the OSM value is kept as written')

  for (const osmValue of ['Mo-Fr 09:00-17:00; PH off', 'Mo-Fr 09:00-17:00; SH off', 'Mo-Fr 22:00-02:00', 'Mo-Fr 09:00+', 'Jan-Mar Mo 10:00-12:00', 'Mo-Fr sunrise-sunset', '24/7', 'Mo 10:00-12:00 "nach Absprache"', 'Mo 10:00-12:00 || Tu 10:00-12:00']) {
    t.equal(openingHoursSpecification(osmValue), null, `${osmValue}: not convertible`)
    const withHours = await expand(facilityJsonLd({ ...real, openingHours: { osm: osmValue, note: null } }))
    t.notOk(`${S}openingHoursSpecification` in withHours)
    t.equal(value(child(withHours, 'additionalProperty'), 'value'), osmValue)
  }
})

// The conversion agrees with the OSM evaluator of the API (opening_hours) at every quarter hour of
// a week without public holidays, including rules that replace earlier ones.
t.test('converted hours agree with the opening_hours evaluator', async (t) => {
  const cases = [
    'Mo-Fr 09:00-17:00',
    'Mo-Fr 09:00-12:00,13:00-17:00; We 09:00-12:00',
    'Mo,We,Fr 10:00-12:00; Tu 14:00-18:30',
    'Sa-Mo 10:00-11:00; Su off',
    'Mo-Su 08:00-20:00; Sa,Su 10:00-14:00',
    '10:00-12:00',
    'Mo - Fr 09:00 - 17:00'
  ]
  const dayNames = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
  for (const osm of cases) {
    t.same(validateOpeningHours(osm), { ok: true }, `${osm} is valid OSM syntax`)
    const specs = openingHoursSpecification(osm)
    if (specs === null) {
      t.fail(`${osm} should convert`)
      continue
    }
    const mismatches: string[] = []
    // Monday 9 March 2026, 00:00 in Berlin (CET, +01:00); the week has no Berlin public holiday.
    const monday = Date.parse('2026-03-09T00:00:00+01:00')
    for (let minute = 0; minute < 7 * 24 * 60; minute += 15) {
      const day = dayNames[Math.floor(minute / (24 * 60))]
      const time = `${String(Math.floor((minute % (24 * 60)) / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00`
      const fromSpecs = specs.some((spec) => (spec.dayOfWeek as string[]).includes(`https://schema.org/${day}`) &&
        (spec.opens as string) <= time && time < (spec.closes as string))
      if (fromSpecs !== isOpenAt(osm, new Date(monday + minute * 60_000))) mismatches.push(`${day} ${time}`)
    }
    t.same(mismatches, [], `${osm}: same hours as the OSM evaluator`)
  }
})

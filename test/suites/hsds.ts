import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import * as formats from 'ajv-formats'
import {
  CATEGORY_TAXONOMY_ID, TARGET_GROUP_TAXONOMY_ID, createHsdsDirectory, hsdsPage, matchesSearch, serviceAtLocationIdOf, webAddress
} from '../../src/formats/hsds.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROBLEM_JSON, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

// --- The HSDS 3.0 JSON Schemas ------------------------------------------------------------------

const FIXTURES = new URL('../fixtures/hsds-3.0/', import.meta.url)
// The HSDS files refer to each other by file name ("$ref": "phone.json"); with this base every
// such reference resolves to the loaded copy, never to the network.
const BASE = 'https://hsds.invalid/schema/'
const OBJECTS = [
  'accessibility', 'address', 'attribute', 'contact', 'cost_option', 'funding', 'language', 'location', 'metadata',
  'organization', 'organization_identifier', 'phone', 'program', 'required_document', 'schedule', 'service',
  'service_area', 'service_at_location', 'taxonomy', 'taxonomy_term'
]
const LISTS = ['service_list', 'service_at_location_list', 'organization_list']

const readFixture = (path: string) => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as Record<string, any>

// HSDS schemas carry non-JSON-Schema annotations (name, constraints, core, datapackage_metadata…),
// so Ajv runs non-strict, as in suites/openapi.ts.
const ajv = new Ajv2020({ strict: false, allErrors: true })
// ajv-formats is CommonJS; its function is the default export's default under ESM.
const addFormats = ((formats as { default: unknown }).default as { default?: unknown }).default ?? (formats as { default: unknown }).default
;(addFormats as (ajv: Ajv2020) => void)(ajv)
for (const name of OBJECTS) ajv.addSchema({ ...readFixture(`${name}.json`), $id: `${BASE}${name}.json` })
for (const name of LISTS) ajv.addSchema({ ...readFixture(`compiled/${name}.json`), $id: `${BASE}compiled/${name}.json` })

const openapi = readFixture('openapi.json')
const PAGE_FIELDS = ['total_items', 'total_pages', 'page_number', 'size', 'first_page', 'last_page', 'empty']

const validators = new Map<string, ValidateFunction>()
function validatorOf (ref: string): ValidateFunction {
  let validate = validators.get(ref)
  if (validate === undefined) {
    validate = ref === 'root'
      ? ajv.compile({ ...openapi.paths['/'].get.responses['200'].content['application/json'].schema, required: ['version', 'profile', 'openapi_url'] })
      : ref.startsWith('page:')
        // The API reference says a list "must include" every Page property.
        ? ajv.compile({
          allOf: [openapi.components.schemas.Page],
          required: [...PAGE_FIELDS, 'contents'],
          properties: { contents: { type: 'array', items: { $ref: `${BASE}${ref.slice(5)}` } } }
        })
        : ajv.getSchema(`${BASE}${ref}`)!
    validators.set(ref, validate)
  }
  return validate
}

// Asserts that a document validates against an HSDS schema: `service.json`,
// `compiled/service_list.json`, `page:<schema>` (a page of such items) or `root`.
function assertHsds (t: Test, document: unknown, ref: string, what: string) {
  const validate = validatorOf(ref)
  const valid = validate(document)
  t.ok(valid, `${what} is valid against ${ref}${valid ? '' : `: ${ajv.errorsText(validate.errors, { separator: '\n' })}`}`)
}

interface Page<T = any> {
  total_items: number
  total_pages: number
  page_number: number
  size: number
  first_page: boolean
  last_page: boolean
  empty: boolean
  contents: T[]
}

const KREATIVHAUS_ID = seedId('facility', 'kreativhaus')
const SHK_ID = seedId('facility', 'shk-mitte')
const MOABIT_OST_ID = seedId('facility', 'familienzentrum-moabit-ost')
const ALL_SERVICES = 114

async function page<T = any> (t: Test, app: FastifyInstance, url: string, items: string): Promise<Page<T>> {
  const { res, body } = await getJson<Page<T>>(app, url)
  t.equal(res.statusCode, 200, `${url} answers 200`)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  assertHsds(t, body, `page:${items}`, url)
  return body
}

async function item<T = any> (t: Test, app: FastifyInstance, url: string, schema: string): Promise<T> {
  const { res, body } = await getJson<T>(app, url)
  t.equal(res.statusCode, 200, `${url} answers 200`)
  assertHsds(t, body, schema, url)
  return body
}

async function all<T = any> (app: FastifyInstance, url: string): Promise<T[]> {
  const separator = url.includes('?') ? '&' : '?'
  return (await getJson<Page<T>>(app, `${url}${separator}per_page=500`)).body.contents
}

async function nativeTotal (app: FastifyInstance, url: string): Promise<number> {
  return (await getJson<{ total: number }>(app, url)).body.total
}

// --- Conformance: every response against the HSDS 3.0 schemas ------------------------------------

t.test('GET /hsds/ names HSDS 3.0, the profile and the OpenAPI document with absolute URLs', async (t) => {
  const app = await readOnlyApp(t)
  for (const url of ['/hsds/', '/hsds']) {
    const body = await item<{ version: string, profile: string, openapi_url: string }>(t, app, url, 'root')
    t.equal(body.version, '3.0')
    t.equal(body.profile, 'http://localhost:80/hsds/profile')
    t.equal(body.openapi_url, 'http://localhost:80/openapi.json')
  }
  const other = await getJson(app, '/hsds/', { headers: { host: 'verzeichnis.example.org' } })
  t.equal(other.body.profile, 'http://verzeichnis.example.org/hsds/profile', 'the host the client asked, never a cached answer for another host')

  const profile = await getJson(app, '/hsds/profile')
  t.equal(profile.res.statusCode, 200)
  t.equal(profile.body.hsds_version, '3.0')
  t.ok(profile.body.extensions.some((e: { field: string }) => e.field === 'partnership'), 'documents the partnership extension')
  t.ok(profile.body.extensions.some((e: { field: string }) => e.field === 'sources'), 'documents the sources extension')
  t.match(profile.body.agreements, [{ id: seedId('agreement', 'kooperationsvereinbarung-2018'), signed_date: '2018-06-27', url: '/v1/agreements/kooperationsvereinbarung-2018' }])
  t.match(JSON.stringify(profile.body.mapping), new RegExp(TARGET_GROUP_TAXONOMY_ID), 'names the taxonomy ids')

  const doc = await getJson(app, '/openapi.json')
  for (const path of ['/hsds/', '/hsds/profile', '/hsds/services', '/hsds/services/{id}', '/hsds/organizations', '/hsds/organizations/{id}', '/hsds/service_at_locations', '/hsds/service_at_locations/{id}', '/hsds/taxonomies', '/hsds/taxonomy_terms']) {
    t.ok(doc.body.paths[path]?.get, `the OpenAPI document describes GET ${path}`)
    t.same(doc.body.paths[path]?.get.tags, ['hsds'])
  }
})

t.test('every service, in every shape, is a valid HSDS service', async (t) => {
  const app = await readOnlyApp(t)
  const list = await page(t, app, '/hsds/services?per_page=500', 'compiled/service_list.json')
  t.equal(list.total_items, ALL_SERVICES)
  for (const s of list.contents) assertHsds(t, s, 'service.json', `list item ${s.name}`)

  const full = await page(t, app, '/hsds/services?per_page=500&full=true', 'service.json')
  t.equal(full.total_items, ALL_SERVICES)
  t.ok(full.contents.every((s) => s.service_at_locations.length === 1 && s.attributes.length >= 1), 'full services nest their location and their category')

  const minimal = await page(t, app, '/hsds/services?per_page=500&minimal=true', 'compiled/service_list.json')
  for (const s of minimal.contents) {
    t.same(Object.keys(s).sort(), Object.keys(s).filter((k) => ['id', 'organization_id', 'name', 'description', 'url', 'email', 'status', 'eligibility_description', 'last_modified'].includes(k)).sort(), `${s.name}: core fields only`)
  }

  // Every service is validated in the lists above; the item route is checked on every tenth.
  for (const s of list.contents.filter((_, i) => i % 10 === 0)) {
    const one = await item(t, app, `/hsds/services/${s.id}`, 'service.json')
    t.same(one, full.contents.find((f) => f.id === s.id), `${s.name}: the item is the full list entry`)
    assertHsds(t, one.organization, 'organization.json', `${s.name}: its organization`)
    for (const link of one.service_at_locations) assertHsds(t, link.location, 'location.json', `${s.name}: its location`)
  }
})

t.test('every service_at_location, organization, taxonomy and term is valid HSDS', async (t) => {
  const app = await readOnlyApp(t)
  const links = await page(t, app, '/hsds/service_at_locations?per_page=500', 'compiled/service_at_location_list.json')
  t.equal(links.total_items, ALL_SERVICES, 'one per service')
  await page(t, app, '/hsds/service_at_locations?per_page=500&minimal=true', 'compiled/service_at_location_list.json')
  const full = await page(t, app, '/hsds/service_at_locations?per_page=500&full=true', 'service_at_location.json')
  for (const link of full.contents) {
    assertHsds(t, link.service, 'service.json', `${link.id}: its service`)
    t.equal(link.service.service_at_locations, undefined, 'the service does not repeat the link')
  }
  for (const link of links.contents.filter((_, i) => i % 10 === 0)) {
    const one = await item(t, app, `/hsds/service_at_locations/${link.id}`, 'service_at_location.json')
    assertHsds(t, one.service, 'service.json', `${link.id}: its service`)
    t.equal(one.id, serviceAtLocationIdOf(one.service_id))
  }

  const organizations = await page(t, app, '/hsds/organizations?per_page=500', 'compiled/organization_list.json')
  t.equal(organizations.total_items, 10 + 3, 'the ten organisations and one for each of the three facilities without a known operator')
  await page(t, app, '/hsds/organizations?per_page=500&minimal=true', 'compiled/organization_list.json')
  for (const query of ['full=true', 'full=true&full_service=true']) {
    const nested = await page(t, app, `/hsds/organizations?per_page=500&${query}`, 'organization.json')
    for (const o of nested.contents) {
      for (const s of o.services) assertHsds(t, s, 'service.json', `${o.name} (${query}): service ${s.name}`)
    }
  }
  for (const o of organizations.contents) {
    for (const url of [`/hsds/organizations/${o.id}`, `/hsds/organizations/${o.id}?full_service=true`]) {
      const one = await item(t, app, url, 'organization.json')
      for (const s of one.services) assertHsds(t, s, 'service.json', `${url}: service ${s.name}`)
    }
  }

  const taxonomies = await page(t, app, '/hsds/taxonomies', 'taxonomy.json')
  t.same(taxonomies.contents.map((x) => x.id), [TARGET_GROUP_TAXONOMY_ID, CATEGORY_TAXONOMY_ID])
  for (const x of taxonomies.contents) await item(t, app, `/hsds/taxonomies/${x.id}`, 'taxonomy.json')

  const terms = await page(t, app, '/hsds/taxonomy_terms?per_page=500', 'taxonomy_term.json')
  const targetGroups = await nativeTotal(app, '/v1/target-groups')
  const categories = await nativeTotal(app, '/v1/categories')
  t.equal(terms.total_items, targetGroups + categories, 'every target group and category')
  for (const term of terms.contents) {
    const one = await item(t, app, `/hsds/taxonomy_terms/${term.id}`, 'taxonomy_term.json')
    t.equal(one.taxonomy_detail.id, term.taxonomy_id)
  }
})

t.test('format=ndjson streams every object of a list, one valid HSDS object per line', async (t) => {
  const app = await readOnlyApp(t)
  const cases = [
    ['/hsds/services?format=ndjson&per_page=1', 'compiled/service_list.json', ALL_SERVICES],
    ['/hsds/services?format=ndjson&full=true', 'service.json', ALL_SERVICES],
    ['/hsds/service_at_locations?format=ndjson', 'compiled/service_at_location_list.json', ALL_SERVICES],
    ['/hsds/organizations?format=ndjson', 'compiled/organization_list.json', 13],
    ['/hsds/taxonomies?format=ndjson', 'taxonomy.json', 2]
  ] as const
  for (const [url, schema, count] of cases) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8')
    const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line))
    t.equal(lines.length, count, `${url}: every object, no pages`)
    for (const line of lines) assertHsds(t, line, schema, `${url} line`)
  }
  const accept = await app.inject({ url: '/hsds/taxonomy_terms', headers: { accept: 'application/x-ndjson' } })
  t.equal(accept.headers['content-type'], 'application/x-ndjson; charset=utf-8', 'Accept asks for it too')
})

// --- Real facts ----------------------------------------------------------------------------------

t.test('Kreativhaus as an HSDS location: address, phone, operator, partnership', async (t) => {
  const app = await readOnlyApp(t)
  const services = await all(app, `/hsds/service_at_locations?full=true&organization_id=${seedId('organisation', 'fipp')}`)
  const location = services.map((link) => link.location).find((l) => l.id === KREATIVHAUS_ID)
  t.ok(location, 'the Kreativhaus runs services of FiPP e.V.')
  t.equal(location.name, 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)')
  t.equal(location.organization_id, seedId('organisation', 'fipp'))
  t.match(location.addresses, [{ address_1: 'Fischerinsel 3', postal_code: '10179', city: 'Berlin', state_province: 'Berlin', country: 'DE', region: 'Mitte', address_type: 'physical' }])
  t.match(location.phones, [{ number: '030 / 238 09 13', location_id: KREATIVHAUS_ID }])
  t.equal(location.url, 'https://www.kreativhaus-berlin.de/')
  t.equal(location.partnership.status, 'participant')
  t.ok(location.sources.length > 0, 'with its sources')
  t.notOk('latitude' in location, 'no source gives coordinates, so there are none')
  t.ok(location.attributes.some((a: any) => a.link_type === 'audience' && a.taxonomy_term.code === 'senioren'), 'its target groups as attributes')
})

t.test('SHK Mitte: its selbsthilfe services, address, email, fax; umlauts survive', async (t) => {
  const app = await readOnlyApp(t)
  const stadtrand = (await getJson(app, '/v1/organisations/stadtrand')).body.id as string
  const terms = await all(app, '/hsds/taxonomy_terms?search=selbsthilfe')
  t.same(terms.map((term) => term.code), ['selbsthilfe'])
  const selbsthilfe = terms[0]!.id
  t.equal(selbsthilfe, seedId('category', 'selbsthilfe'), 'the term keeps the category id')

  const body = await page(t, app, `/hsds/services?organization_id=${stadtrand}&taxonomy_term_id=${selbsthilfe}&full=true`, 'service.json')
  t.equal(body.total_items, await nativeTotal(app, '/v1/services?facility=shk-mitte&category=selbsthilfe'))
  t.equal(body.total_items, 7)
  t.ok(body.contents.some((s) => s.name === 'Räume für Selbsthilfegruppen'), 'with its umlaut')
  for (const s of body.contents) {
    t.match(s.attributes.filter((a: any) => a.link_type === 'category'), [{ link_entity: 'service', link_id: s.id, taxonomy_term_id: selbsthilfe, taxonomy_term: { code: 'selbsthilfe', name: 'Selbsthilfe' } }])
    t.equal(s.organization.name, (await getJson(app, '/v1/organisations/stadtrand')).body.name)
  }
  const migration = body.contents.find((s) => s.name === 'Selbsthilfe und Migration')
  t.ok(migration.attributes.some((a: any) => a.link_type === 'audience' && a.taxonomy_term.code === 'menschen-mit-migrationsgeschichte' && typeof a.value === 'string'),
    'its target group with the source\'s wording')

  const location = migration.service_at_locations[0].location
  t.equal(location.id, SHK_ID)
  t.match(location.addresses, [{ address_1: 'Perleberger Str. 44', postal_code: '10559', city: 'Berlin', region: 'Moabit' }])
  t.match(location.contacts, [{ email: 'kontakt@stadtrand-berlin.de', location_id: SHK_ID }])
  t.match(location.phones, [{ number: '(030) 394 63 64' }, { number: '(030) 394 64 85', type: 'fax' }])

  const org = await item(t, app, `/hsds/organizations/${stadtrand}`, 'organization.json')
  t.equal(org.website, 'http://www.stadtrand-berlin.de', 'the printed www. address as a URI')
  t.equal(org.email, 'kontakt@stadtrand-berlin.de')
  t.equal(org.legal_status, 'gGmbH')
  t.same(org.locations.map((l: any) => l.id), [SHK_ID])
  t.equal(org.services.length, await nativeTotal(app, '/v1/services?facility=shk-mitte'))
})

t.test('contacts, sites and unknown facts', async (t) => {
  const app = await readOnlyApp(t)
  const bezirksamt = await item(t, app, `/hsds/organizations/${seedId('organisation', 'bezirksamt-mitte')}`, 'organization.json')
  t.match(bezirksamt.contacts, [{ name: 'Ephraim Gothe' }, { name: 'Petra Patz-Drüke', phones: [{ number: '(030) 9018-42390' }], as_of: '2020' }])
  t.equal(bezirksamt.kind, 'district_office')

  const jobcenter = await item(t, app, `/hsds/organizations/${seedId('organisation', 'jobcenter-berlin-mitte')}`, 'organization.json')
  const spittelmarkt = jobcenter.locations.find((l: any) => l.name === 'Standort Spittelmarkt')
  t.match(spittelmarkt.addresses, [{ address_1: 'Seydelstr. 2-5', postal_code: '10117', city: 'Berlin' }])
  t.same(jobcenter.services, [], 'the JobCenter offers no services in the directory')

  // Unknown is absent, or an empty string where HSDS requires the field: never a guess.
  const wattstrasse = (await all(app, `/hsds/service_at_locations?full=true&organization_id=${seedId('organisation', 'pfefferwerk')}`))
    .map((link) => link.location).find((l) => l.id === seedId('facility', 'familienzentrum-wattstrasse'))
  t.match(wattstrasse.addresses, [{ address_1: 'Wattstraße 16', postal_code: '', city: 'Berlin' }])
  t.match(wattstrasse.addresses[0].note, /Postleitzahl/)

  const moabitOst = await item(t, app, `/hsds/organizations/${MOABIT_OST_ID}`, 'organization.json')
  t.equal(moabitOst.name, 'Familienzentrum Moabit-Ost', 'a facility without a known operator stands for itself')
  t.equal(moabitOst.kind, 'facility')
  for (const field of ['email', 'website', 'legal_status', 'alternate_name']) t.notOk(field in moabitOst, `no ${field} is invented`)
  t.same(moabitOst.locations.map((l: any) => l.id), [MOABIT_OST_ID])
  t.equal(moabitOst.services.length, 1)
  t.equal(moabitOst.services[0].organization_id, MOABIT_OST_ID)

  const mehrMitte = (await getJson(app, `/hsds/organizations/${seedId('facility', 'begegnungsstaette-mehr-mitte')}`)).body
  t.same(mehrMitte.locations[0].addresses, [], 'no source gives an address')
  t.same(mehrMitte.services, [])

  const internet = (await all(app, '/hsds/services?search=Internetzugang'))[0]
  t.equal(internet.status, 'inactive', 'documented for 2009 only: not claimed to run')
  t.equal(internet.directory_status, 'unverified')
  t.equal(internet.as_of, '2009')
})

// --- Parameters ----------------------------------------------------------------------------------

t.test('paging: 1-based pages, HSDS wrapper arithmetic, pages past the end are empty', async (t) => {
  const app = await readOnlyApp(t)
  const seen: string[] = []
  for (let number = 1; number <= 12; number++) {
    const body = await page(t, app, `/hsds/services?per_page=10&page=${number}`, 'compiled/service_list.json')
    t.match(body, { total_items: ALL_SERVICES, total_pages: 12, page_number: number, first_page: number === 1, last_page: number === 12, empty: false })
    t.equal(body.size, number === 12 ? ALL_SERVICES - 110 : 10)
    t.equal(body.contents.length, body.size)
    seen.push(...body.contents.map((s) => s.id))
  }
  t.equal(new Set(seen).size, ALL_SERVICES, 'the pages hold every service once')
  const past = await page(t, app, '/hsds/services?per_page=10&page=13', 'compiled/service_list.json')
  t.match(past, { total_items: ALL_SERVICES, total_pages: 12, page_number: 13, size: 0, first_page: false, last_page: true, empty: true, contents: [] })
  const defaults = await page(t, app, '/hsds/services', 'compiled/service_list.json')
  t.match(defaults, { page_number: 1, size: 50, total_pages: 3 })
  const none = await page(t, app, '/hsds/services?search=xyzzyquux', 'compiled/service_list.json')
  t.match(none, { total_items: 0, total_pages: 0, page_number: 1, size: 0, first_page: true, last_page: true, empty: true })
})

t.test('search uses the directory\'s full-text search', async (t) => {
  const app = await readOnlyApp(t)
  const body = await page(t, app, '/hsds/services?search=selbsthil&per_page=500', 'compiled/service_list.json')
  const native = (await getJson(app, '/v1/services?q=selbsthil&limit=500')).body
  t.equal(body.total_items, native.total)
  t.same(body.contents.map((s) => s.id), native.items.map((s: { id: string }) => s.id), 'in the same (relevance) order')
  t.ok(body.total_items >= 7)
  t.ok(body.contents.every((s) => /selbsthil/i.test(JSON.stringify(native.items.find((n: { id: string }) => n.id === s.id)))))
  const links = await page(t, app, '/hsds/service_at_locations?search=selbsthil&per_page=500', 'compiled/service_at_location_list.json')
  t.same(links.contents.map((l) => l.service_id), body.contents.map((s) => s.id))

  const umlauts = await page(t, app, '/hsds/organizations?search=Lutzow', 'compiled/organization_list.json')
  t.ok(umlauts.contents.some((o) => o.id === seedId('organisation', 'fipp')), 'FiPP e.V. coordinates the Villa Lützow (umlaut-insensitive)')
  const fipp = await page(t, app, '/hsds/organizations?search=padagogische%20Fortbildungs', 'compiled/organization_list.json')
  t.same(fipp.contents.map((o) => o.id), [seedId('organisation', 'fipp')], 'umlaut-insensitive, every word a prefix')
  const terms = await page(t, app, '/hsds/taxonomy_terms?search=aeltere', 'taxonomy_term.json')
  t.ok(terms.contents.some((term) => term.code === 'senioren'), 'transliterated umlauts match')
})

t.test('modified_after compares last_modified, which includes the records a service embeds', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await page(t, app, '/hsds/services?modified_after=2000-01-01T00:00:00Z', 'compiled/service_list.json')).total_items, ALL_SERVICES)
  t.equal((await page(t, app, '/hsds/services?modified_after=2999-01-01T00:00:00Z', 'compiled/service_list.json')).total_items, 0)

  const raum = (await all(app, '/hsds/services?search=Räume%20für%20Selbsthilfegruppen'))[0]
  app.db.$client.prepare('update services set updated_at = ? where id = ?').run('2031-01-01T00:00:00.000Z', raum.id)
  const changed = await page(t, app, '/hsds/services?modified_after=2030-12-31T23:00:00Z', 'compiled/service_list.json')
  t.same(changed.contents.map((s) => s.id), [raum.id])
  t.equal(changed.contents[0].last_modified, '2031-01-01T00:00:00.000Z')

  // A change of the operator changes every service that embeds it.
  app.db.$client.prepare('update organisations set updated_at = ? where slug = ?').run('2032-01-01T00:00:00.000Z', 'stadtrand')
  const byOperator = await page(t, app, '/hsds/service_at_locations?modified_after=2031-12-31T23:00:00%2B01:00&per_page=500', 'compiled/service_at_location_list.json')
  t.equal(byOperator.total_items, await nativeTotal(app, '/v1/services?facility=shk-mitte'))
  t.ok(byOperator.contents.every((l) => l.location_id === SHK_ID))

  // A public contact of a facility that is deleted, made internal or moved no longer shows in its
  // services: they changed then, though nothing live is newer. A time only, never who: edits of an
  // internal contact do not move it.
  const kreativhausIds = new Set((await getJson<{ items: Array<{ id: string }> }>(app, '/v1/services?facility=kreativhaus&limit=500')).body.items.map((s) => s.id))
  const kreativhausServices = async (after: string) => (await all(app, `/hsds/services?modified_after=${after}`)).filter((s) => kreativhausIds.has(s.id))
  const removedAt = () => app.db.$client.prepare('select removed_at from facility_contact_removals where facility_id = ?').pluck().get(seedId('facility', 'kreativhaus')) as string | undefined
  const insert = app.db.$client.prepare(`insert into contacts (id, name, role, organisation_id, facility_id, visibility, sources, created_at, updated_at)
    values (?, 'Testperson', 'Test', null, ?, 'public', '[]', ?, ?)`)
  const contactId = '00000000-0000-4000-8000-0000000000c1'
  insert.run(contactId, seedId('facility', 'kreativhaus'), '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')
  t.equal(removedAt(), undefined)
  const before = new Date().toISOString()
  app.db.$client.prepare('update contacts set facility_id = ?, updated_at = ? where id = ?').run(seedId('facility', 'villa-luetzow'), '2020-01-02T00:00:00.000Z', contactId)
  const moved = removedAt()
  t.ok(moved !== undefined && moved >= before, 'moving it away counts as a removal at the Kreativhaus')
  t.equal((await kreativhausServices(before)).length, kreativhausIds.size, 'every Kreativhaus service is modified after it')
  t.ok((await kreativhausServices(before)).every((s) => s.last_modified === moved))
  const gaertner = seedId('contact', 'angela-gaertner')
  app.db.$client.prepare("update contacts set phone = '030 1', updated_at = ? where id = ?").run(new Date().toISOString(), gaertner)
  t.equal(removedAt(), moved, 'an edit of an internal contact moves nothing a public reader sees')
})

t.test('the directory follows writes the change feed does not show (SQL to a link table)', async (t) => {
  const app = await buildTestApp(t)
  const link = app.db.$client.prepare('select service_id AS serviceId, target_group_id AS targetGroupId from service_target_groups order by service_id limit 1').get() as { serviceId: string, targetGroupId: string }
  const termsOf = async () => {
    const r = await getJson<Record<string, any>>(app, `/hsds/services/${link.serviceId}`)
    t.equal(r.res.statusCode, 200)
    return (r.body.attributes as Array<{ taxonomy_term_id: string }>).map((a) => a.taxonomy_term_id)
  }
  t.ok((await termsOf()).includes(link.targetGroupId), 'the target group is a term of the service')
  const seq = app.dataVersion().seq
  // No change trigger on link tables: the feed does not move, the directory must still notice.
  app.db.$client.prepare('delete from service_target_groups where service_id = ?').run(link.serviceId)
  t.equal(app.dataVersion().seq, seq, 'the change feed did not move')
  t.same((await getJson<{ targetGroups: unknown[] }>(app, `/v1/services/${link.serviceId}`)).body.targetGroups, [])
  t.notOk((await termsOf()).includes(link.targetGroupId), 'HSDS shows the service without it')
})

t.test('taxonomy_term_id, taxonomy_id and organization_id filter; repeating means OR, different ones AND', async (t) => {
  const app = await readOnlyApp(t)
  const senioren = seedId('target-group', 'senioren')
  const beratung = seedId('category', 'beratung')
  t.equal((await getJson(app, `/hsds/taxonomy_terms/${senioren}`)).res.statusCode, 200, 'target group ids are term ids')
  const seniorenTotal = (await page(t, app, `/hsds/services?taxonomy_term_id=${senioren}`, 'compiled/service_list.json')).total_items
  t.equal(seniorenTotal, await nativeTotal(app, '/v1/services?targetGroup=senioren'))
  const either = (await page(t, app, `/hsds/services?taxonomy_term_id=${senioren}&taxonomy_term_id=${beratung}`, 'compiled/service_list.json')).total_items
  const both = await all(app, `/hsds/services?taxonomy_term_id=${senioren}&full=true`)
  const beratungTotal = await nativeTotal(app, '/v1/services?category=beratung')
  const overlap = both.filter((s) => s.attributes.some((a: any) => a.taxonomy_term_id === beratung)).length
  t.equal(either, seniorenTotal + beratungTotal - overlap, 'OR')

  const fipp = seedId('organisation', 'fipp')
  const fippServices = await all(app, `/hsds/services?organization_id=${fipp}`)
  t.equal(fippServices.length, await nativeTotal(app, '/v1/services?facility=kreativhaus&facility=villa-luetzow'))
  t.ok(fippServices.every((s) => s.organization_id === fipp && s.organization.id === fipp))
  const fippSenioren = await all(app, `/hsds/services?organization_id=${fipp}&taxonomy_term_id=${senioren}`)
  t.equal(fippSenioren.length, await nativeTotal(app, '/v1/services?facility=kreativhaus&facility=villa-luetzow&targetGroup=senioren'), 'AND')
  t.equal((await all(app, `/hsds/services?organization_id=${MOABIT_OST_ID}`)).length, 1, 'the organization of a facility without a known operator')

  t.equal((await page(t, app, `/hsds/services?taxonomy_id=${CATEGORY_TAXONOMY_ID}`, 'compiled/service_list.json')).total_items, ALL_SERVICES, 'every service has a category')
  const withGroups = await nativeTotal(app, '/v1/services?' + (await getJson(app, '/v1/target-groups?limit=500')).body.items.map((g: { slug: string }) => `targetGroup=${g.slug}`).join('&'))
  t.equal((await page(t, app, `/hsds/services?taxonomy_id=${TARGET_GROUP_TAXONOMY_ID}`, 'compiled/service_list.json')).total_items, withGroups)

  const categoryTerms = await page(t, app, `/hsds/taxonomy_terms?taxonomy_id=${CATEGORY_TAXONOMY_ID}&per_page=500`, 'taxonomy_term.json')
  t.equal(categoryTerms.total_items, await nativeTotal(app, '/v1/categories'))
  t.equal((await page(t, app, `/hsds/taxonomy_terms?parent_id=${beratung}`, 'taxonomy_term.json')).total_items, 0, 'flat taxonomies: no children')
  t.equal((await page(t, app, '/hsds/taxonomy_terms?top_only=true&per_page=500', 'taxonomy_term.json')).total_items, categoryTerms.total_items + await nativeTotal(app, '/v1/target-groups'))
})

t.test('unknown ids are 404 and bad parameters 400, as problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const unknown = '00000000-0000-4000-8000-000000000000'
  for (const path of ['services', 'service_at_locations', 'organizations', 'taxonomies', 'taxonomy_terms']) {
    const { res, body } = await getJson(app, `/hsds/${path}/${unknown}`)
    t.equal(res.statusCode, 404, `${path}/{unknown}`)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.match(body, { type: '/problems/not-found', status: 404, detail: new RegExp(unknown) })
  }
  t.equal((await getJson(app, `/hsds/services/${serviceAtLocationIdOf(seedId('service', 'kreativhaus/seniorenangebote'))}`)).res.statusCode, 404, 'a service_at_location id is no service id')
  for (const query of ['page=0', 'page=-1', 'page=abc', 'per_page=0', 'per_page=501', 'modified_after=yesterday', 'full=maybe', 'unknown=1', 'full=true&minimal=true']) {
    const { res, body } = await getJson(app, `/hsds/services?${query}`)
    t.equal(res.statusCode, 400, query)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(body.status, 400)
    t.ok(body.errors.length > 0, `${query}: names the failing field`)
  }
  t.equal((await getJson(app, '/hsds/taxonomy_terms?per_page=1000')).res.statusCode, 400)
  t.equal((await getJson(app, '/hsds/services?format=csv')).res.statusCode, 406)
})

// --- The mapping as pure functions ---------------------------------------------------------------

t.test('hsdsPage, webAddress and matchesSearch', async (t) => {
  t.same(hsdsPage([], 1, 10, (x) => x), { total_items: 0, total_pages: 0, page_number: 1, size: 0, first_page: true, last_page: true, empty: true, contents: [] })
  t.match(hsdsPage([1, 2, 3], 2, 2, (x) => x * 10), { total_pages: 2, size: 1, first_page: false, last_page: true, contents: [30] })
  t.equal(webAddress('www.stadtrand-berlin.de'), 'http://www.stadtrand-berlin.de')
  t.equal(webAddress('https://www.kreativhaus-berlin.de/'), 'https://www.kreativhaus-berlin.de/')
  t.equal(webAddress(null), undefined)
  t.equal(webAddress('keine Angabe'), undefined)
  t.ok(matchesSearch('lutzowstrasse 28', ['Lützowstraße 28']))
  t.ok(matchesSearch('Luetzow', ['Lützowstraße 28']))
  t.notOk(matchesSearch('tzow', ['Lützowstraße 28']), 'prefixes only')
})

t.test('line breaks and umlauts survive the mapping', async (t) => {
  const app = await readOnlyApp(t)
  const records = {
    facilities: (await getJson(app, '/v1/facilities?limit=500')).body.items,
    services: (await getJson(app, '/v1/services?limit=500')).body.items,
    organisations: (await getJson(app, '/v1/organisations?limit=500')).body.items,
    targetGroups: (await getJson(app, '/v1/target-groups?limit=500')).body.items,
    categories: (await getJson(app, '/v1/categories?limit=500')).body.items,
    contacts: (await getJson(app, '/v1/contacts?limit=500')).body.items
  }
  const kreativhaus = records.facilities.find((f: { id: string }) => f.id === KREATIVHAUS_ID)
  // A line break as a client could write one (the seed has none).
  kreativhaus.openingHours = { osm: null, note: 'Büro: Mo–Fr\nKurse: nach Aushang' }
  const directory = createHsdsDirectory(records)
  const service = records.services.find((s: { facility: { id: string } }) => s.facility.id === KREATIVHAUS_ID)
  const hsds = directory.service(service.id, 'full')!
  const location = hsds.service_at_locations![0]!.location!
  t.equal(location.schedules![0]!.description, 'Büro: Mo–Fr\nKurse: nach Aushang')
  t.equal(JSON.parse(JSON.stringify(location)).schedules[0].description, 'Büro: Mo–Fr\nKurse: nach Aushang', 'as JSON too')
  t.equal(directory.organization(seedId('organisation', 'fipp'), 'list')!.name, 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)')
  assertHsds(t, hsds, 'service.json', 'the mapped service')
})

t.test('the responses are the mapping, field for field (the serializer drops nothing), and publish public contacts only', async (t) => {
  const app = await readOnlyApp(t)
  const records = {
    facilities: (await getJson(app, '/v1/facilities?limit=500')).body.items,
    services: (await getJson(app, '/v1/services?limit=500')).body.items,
    organisations: (await getJson(app, '/v1/organisations?limit=500')).body.items,
    targetGroups: (await getJson(app, '/v1/target-groups?limit=500')).body.items,
    categories: (await getJson(app, '/v1/categories?limit=500')).body.items,
    contacts: (await getJson(app, '/v1/contacts?limit=500')).body.items
  }
  const sites = new Map<string, any[]>()
  for (const o of records.organisations) sites.set(o.id, (await getJson(app, `/v1/organisations/${o.id}`)).body.sites)
  const directory = createHsdsDirectory({ ...records, sites })
  const sample = records.services.filter((s: { facility: { id: string } }) => [KREATIVHAUS_ID, SHK_ID, MOABIT_OST_ID].includes(s.facility.id))
  t.ok(sample.length > 20)
  for (const s of sample) {
    t.same((await getJson(app, `/hsds/services/${s.id}`)).body, JSON.parse(JSON.stringify(directory.service(s.id, 'full'))), `service ${s.name}`)
  }
  const link = serviceAtLocationIdOf(seedId('service', 'kreativhaus/seniorenangebote'))
  t.same((await getJson(app, `/hsds/service_at_locations/${link}`)).body, JSON.parse(JSON.stringify(directory.serviceAtLocation(link, 'full'))))
  for (const id of directory.organizationIds()) {
    t.same((await getJson(app, `/hsds/organizations/${id}?full_service=true`)).body, JSON.parse(JSON.stringify(directory.organization(id, 'full', true))), `organization ${id}`)
  }

  const publicIds = new Set(records.contacts.map((c: { id: string }) => c.id))
  const organizations = (await getJson(app, '/hsds/organizations?full=true&per_page=500')).body.contents
  const named = organizations.flatMap((o: any) => [...o.contacts, ...o.locations.flatMap((l: any) => l.contacts)]).filter((c: any) => c.name !== undefined)
  t.ok(named.length >= 4)
  t.ok(named.every((c: any) => publicIds.has(c.id)), 'every named contact is a public one')
  const internal = app.db.$client.prepare("select id from contacts where visibility = 'internal'").pluck().all() as string[]
  t.ok(internal.length > 0, 'the seed has internal contacts')
  const everything = JSON.stringify(organizations)
  t.ok(internal.every((id) => !everything.includes(id)), 'no internal contact appears')
})

import type { Source } from '../schemas/common.ts'
import type { Contact } from '../schemas/contacts.ts'
import type { Facility } from '../schemas/facilities.ts'
import type { Organisation, OrganisationSite } from '../schemas/organisations.ts'
import type { Service } from '../schemas/services.ts'
import type { VocabularyTerm } from '../schemas/vocabularies.ts'
import { fold, queryTokens, transliterate } from '../lib/search-text.ts'
import { uuidV5 } from '../lib/uuid.ts'

// Open Referral HSDS 3.0 objects built from the records the JSON API serves. Facilities are HSDS
// locations; each facility's operator is the organization of its services; a service runs at one
// facility, so it has exactly one service_at_location; target groups and categories are two
// taxonomies whose terms keep our ids, linked to services and locations by attributes.
//
// HSDS has no null: a fact no source states is left out. Where HSDS requires a string that no
// source gives (an address's postcode, an organization's description) it is the empty string,
// never a guess. What HSDS has no field for (partnership with the 2018 agreement, sources,
// notes, the directory's own status) is added under names the profile (`hsdsProfile`) lists.

export const HSDS_VERSION = '3.0'

// Ids of records that exist only in the HSDS view (taxonomies, addresses, phones, schedules,
// attributes, service_at_location) are name-based UUIDs of the record they come from, so they
// stay the same across requests and reseeds.
// Name-based, so the same parts always give the same id; kept, as HSDS answers are built again
// after every write from the same parts (bounded for large directories).
const hsdsIds = new Map<string, string>()
const hsdsId = (...parts: string[]): string => {
  const name = `hsds:${parts.join(':')}`
  let id = hsdsIds.get(name)
  if (id === undefined) {
    if (hsdsIds.size >= 100_000) hsdsIds.clear()
    hsdsIds.set(name, id = uuidV5(name))
  }
  return id
}

export const TARGET_GROUP_TAXONOMY_ID = hsdsId('taxonomy', 'target-groups')
export const CATEGORY_TAXONOMY_ID = hsdsId('taxonomy', 'categories')

export const serviceAtLocationIdOf = (serviceId: string) => hsdsId('service_at_location', serviceId)

// How much of an object to build: `minimal` only HSDS core fields, `list` the one-to-one fields
// (what HSDS lists show), `full` with every nested array.
export type HsdsDetail = 'minimal' | 'list' | 'full'

export interface HsdsTaxonomy {
  id: string
  name: string
  description: string
}

export interface HsdsTaxonomyTerm {
  id: string
  code: string
  name: string
  description: string
  taxonomy: string
  taxonomy_id: string
  language: string
  label_en: string
  taxonomy_detail?: HsdsTaxonomy
}

export interface HsdsAttribute {
  id: string
  link_id: string
  link_type: 'audience' | 'category'
  link_entity: 'service' | 'location'
  taxonomy_term_id: string
  value?: string
  taxonomy_term: HsdsTaxonomyTerm
}

export interface HsdsPhone {
  id: string
  location_id?: string
  organization_id?: string
  contact_id?: string
  number: string
  type?: 'fax'
}

export interface HsdsAddress {
  id: string
  location_id: string
  address_1: string
  city: string
  region?: string
  state_province: string
  postal_code: string
  country: string
  address_type: 'physical'
  bezirksregion?: string
  note?: string
}

export interface HsdsSchedule {
  id: string
  location_id?: string
  service_id?: string
  description?: string
  opening_hours?: string
}

export interface HsdsContact {
  id: string
  organization_id?: string
  location_id?: string
  name?: string
  title?: string
  email?: string
  phones: HsdsPhone[]
  as_of?: string
  sources: Source[]
}

export interface HsdsPartnership {
  status: string
  evidence: string
}

export interface HsdsLocation {
  id: string
  location_type: 'physical'
  url?: string
  organization_id?: string
  name: string
  alternate_name?: string
  description?: string
  latitude?: number
  longitude?: number
  directory_status?: string
  partnership?: HsdsPartnership
  operator_note?: string
  notes?: string[]
  sources?: Source[]
  addresses?: HsdsAddress[]
  phones?: HsdsPhone[]
  contacts?: HsdsContact[]
  schedules?: HsdsSchedule[]
  attributes?: HsdsAttribute[]
}

export interface HsdsOrganization {
  id: string
  name: string
  alternate_name?: string
  description: string
  email?: string
  website?: string
  legal_status?: string
  kind?: string
  notes?: string[]
  sources?: Source[]
  phones?: HsdsPhone[]
  contacts?: HsdsContact[]
  locations?: HsdsLocation[]
  services?: HsdsService[]
}

export interface HsdsServiceAtLocation {
  id: string
  service_id: string
  location_id: string
  location?: HsdsLocation
  service?: HsdsService
}

export interface HsdsService {
  id: string
  organization_id?: string
  name: string
  description?: string
  url?: string
  email?: string
  status: 'active' | 'inactive' | 'defunct' | 'temporarily closed'
  eligibility_description?: string
  fees_description?: string
  last_modified: string
  directory_status?: string
  as_of?: string
  sources?: Source[]
  organization?: HsdsOrganization
  service_at_locations?: HsdsServiceAtLocation[]
  schedules?: HsdsSchedule[]
  attributes?: HsdsAttribute[]
}

export interface HsdsPage<T> {
  total_items: number
  total_pages: number
  page_number: number
  size: number
  first_page: boolean
  last_page: boolean
  empty: boolean
  contents: T[]
}

export interface HsdsRoot {
  version: string
  profile: string
  openapi_url: string
}

// HSDS asks for a page wrapper on every list. `page_number` is 1-based; `size` is the number of
// objects on this page; a page past the last one is empty, not an error.
export function hsdsPage<K, T> (keys: readonly K[], page: number, perPage: number, render: (key: K) => T): HsdsPage<T> {
  const totalPages = Math.ceil(keys.length / perPage)
  const contents = keys.slice((page - 1) * perPage, page * perPage).map(render)
  return {
    total_items: keys.length,
    total_pages: totalPages,
    page_number: page,
    size: contents.length,
    first_page: page === 1,
    last_page: page >= totalPages,
    empty: contents.length === 0,
    contents
  }
}

// `origin` is the scheme and authority the client used, e.g. `https://api.example.org`: HSDS
// wants absolute URIs here.
export function hsdsRoot (origin: string): HsdsRoot {
  return { version: HSDS_VERSION, profile: `${origin}/hsds/profile`, openapi_url: `${origin}/openapi.json` }
}

// Sources sometimes print a web address without a scheme (`www.example.de`); HSDS wants a URI, and
// a bare address means http. Anything that is not a web address is left out.
export function webAddress (value: string | null): string | undefined {
  if (value === null) return undefined
  if (/^https?:\/\/\S+$/i.test(value)) return value
  if (/^[^\s/:]+\.[^\s]+$/.test(value)) return `http://${value}`
  return undefined
}

const defined = <T extends object>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== null)) as T

const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value)
const joined = (values: string[]) => (values.length === 0 ? undefined : values.join('; '))
// The directory's timestamps are ISO 8601 in UTC with milliseconds, so they order as strings.
const latest = (...timestamps: string[]) => timestamps.reduce((a, b) => (b > a ? b : a))
const pick = <T extends object>(record: T, keys: readonly string[]): T =>
  Object.fromEntries(Object.entries(record).filter(([key]) => keys.includes(key))) as T

// HSDS "core" fields (marked `core: Y` in its schemas), plus `last_modified`, which the HSDS API
// names for `minimal` service lists.
export const SERVICE_CORE_FIELDS = ['id', 'organization_id', 'name', 'description', 'url', 'email', 'status', 'eligibility_description', 'last_modified'] as const
export const ORGANIZATION_CORE_FIELDS = ['id', 'name', 'alternate_name', 'description', 'email', 'website'] as const

// HSDS has no "unverified": a service no recent source confirms (planned, or documented only for
// an old year) is not claimed to run; one a source describes for a past period only has ended.
// `directory_status` keeps the directory's own value.
const SERVICE_STATUS: Record<Service['status'], HsdsService['status']> = {
  active: 'active',
  unverified: 'inactive',
  historic: 'defunct'
}

export interface HsdsRecords {
  facilities: Facility[]
  // In the order lists should show them; filters and search keep this order.
  services: Service[]
  organisations: Organisation[]
  // Live vocabulary entries (their counts are not part of HSDS).
  targetGroups: VocabularyTerm[]
  categories: VocabularyTerm[]
  // Public contacts only: whatever is passed here is published.
  contacts: Contact[]
  // Sites of organisations (organisation id → sites), shown as locations of full organizations.
  sites?: ReadonlyMap<string, OrganisationSite[]>
  // Facility id → when a public contact there last stopped being served (deleted, made internal,
  // moved): the facility's services changed then too (they no longer show it), which
  // modified_after must see.
  contactsRemovedAt?: ReadonlyMap<string, string>
}

export interface HsdsServiceFilters {
  taxonomyTermIds?: string[]
  taxonomyIds?: string[]
  organizationIds?: string[]
  // ISO 8601; services whose last_modified is at or after it.
  modifiedAfter?: string
}

export interface HsdsDirectory {
  taxonomies: () => HsdsTaxonomy[]
  taxonomy: (id: string) => HsdsTaxonomy | undefined
  taxonomyTermIds: () => string[]
  taxonomyTerm: (id: string, withTaxonomy?: boolean) => HsdsTaxonomyTerm | undefined
  organizationIds: () => string[]
  organization: (id: string, detail: HsdsDetail, fullServices?: boolean) => HsdsOrganization | undefined
  serviceIds: () => string[]
  service: (id: string, detail: HsdsDetail) => HsdsService | undefined
  serviceAtLocation: (id: string, detail: HsdsDetail) => HsdsServiceAtLocation | undefined
  matchesServiceFilters: (serviceId: string, filters: HsdsServiceFilters) => boolean
  // Texts a search over organizations, taxonomies and terms looks at.
  searchTexts: (id: string) => string[]
}

// Case-, umlaut- and ß-insensitive; every word of the query must begin a word of the texts, as
// in the directory's full-text search.
export function matchesSearch (query: string, texts: string[]): boolean {
  const tokens = queryTokens(query)
  if (tokens.length === 0) return true
  const words = new Set(texts.flatMap((text) => [
    ...(fold(text).match(/[\p{L}\p{N}]+/gu) ?? []),
    ...(transliterate(text).match(/[\p{L}\p{N}]+/gu) ?? [])
  ]))
  return tokens.every((token) => [...words].some((word) => word.startsWith(token)))
}

export function createHsdsDirectory (records: HsdsRecords): HsdsDirectory {
  const facilities = new Map(records.facilities.map((f) => [f.id, f]))
  const services = new Map(records.services.map((s) => [s.id, s]))
  const organisations = new Map(records.organisations.map((o) => [o.id, o]))
  const servicesByFacility = new Map<string, Service[]>()
  for (const s of records.services) servicesByFacility.set(s.facility.id, [...(servicesByFacility.get(s.facility.id) ?? []), s])
  const serviceAtLocations = new Map(records.services.map((s) => [serviceAtLocationIdOf(s.id), s.id]))

  const taxonomies: HsdsTaxonomy[] = [
    {
      id: TARGET_GROUP_TAXONOMY_ID,
      name: 'Zielgruppen',
      description: 'Zielgruppen des Mitte Partner Directory (kontrolliertes Vokabular). Die Formulierung der Quelle steht im `value` des jeweiligen attribute.'
    },
    {
      id: CATEGORY_TAXONOMY_ID,
      name: 'Angebotskategorien',
      description: 'Kategorien der Angebote des Mitte Partner Directory (kontrolliertes Vokabular).'
    }
  ]
  const taxonomyById = new Map(taxonomies.map((t) => [t.id, t]))
  const term = (entry: VocabularyTerm, taxonomy: HsdsTaxonomy): HsdsTaxonomyTerm => ({
    id: entry.id,
    code: entry.slug,
    name: entry.labelDe,
    description: entry.description,
    taxonomy: taxonomy.name,
    taxonomy_id: taxonomy.id,
    language: 'de',
    label_en: entry.labelEn
  })
  const terms = new Map<string, HsdsTaxonomyTerm>([
    ...records.targetGroups.map((g) => [g.id, term(g, taxonomies[0]!)] as const),
    ...records.categories.map((c) => [c.id, term(c, taxonomies[1]!)] as const)
  ])
  // A link to an entry the vocabulary lists no longer (deleted meanwhile) still names it.
  const termOf = (entry: { id: string, slug: string, labelDe: string, labelEn: string }, taxonomy: HsdsTaxonomy) =>
    terms.get(entry.id) ?? term({ ...entry, description: '' }, taxonomy)

  // A facility whose operator no source names stands for itself as the organization of its
  // services (HSDS gives every service an organization); it has the facility's id and name only.
  const ownOrganizations = new Map(records.facilities.filter((f) => f.operator === null).map((f) => [f.id, f]))
  const organizationIdOf = (facility: { id: string }) => facilities.get(facility.id)?.operator?.id ?? facility.id

  const contactsOfFacility = new Map<string, Contact[]>()
  const contactsOfOrganisation = new Map<string, Contact[]>()
  for (const c of records.contacts) {
    if (c.facility !== null) contactsOfFacility.set(c.facility.id, [...(contactsOfFacility.get(c.facility.id) ?? []), c])
    if (c.organisation !== null) contactsOfOrganisation.set(c.organisation.id, [...(contactsOfOrganisation.get(c.organisation.id) ?? []), c])
  }

  function contact (c: Contact): HsdsContact {
    return defined({
      id: c.id,
      organization_id: c.organisation?.id,
      location_id: c.facility?.id,
      name: c.name,
      title: c.role,
      email: orUndefined(c.email),
      phones: c.phone === null ? [] : [{ id: hsdsId('phone', 'contact', c.id), contact_id: c.id, number: c.phone }],
      as_of: orUndefined(c.asOf),
      sources: c.sources
    })
  }

  function address (ownerId: string, a: { street: string | null, postcode: string | null, city: string | null, ortsteil: string | null, bezirksregion?: string | null, note?: string | null }): HsdsAddress[] {
    if (a.street === null && a.postcode === null) return []
    // Berlin is a city-state: an address in the city Berlin is in the state Berlin, in Germany.
    const inBerlin = a.city === 'Berlin'
    return [defined({
      id: hsdsId('address', ownerId),
      location_id: ownerId,
      address_1: a.street ?? '',
      city: a.city ?? '',
      region: orUndefined(a.ortsteil),
      state_province: inBerlin ? 'Berlin' : '',
      postal_code: a.postcode ?? '',
      country: inBerlin ? 'DE' : '',
      address_type: 'physical' as const,
      bezirksregion: orUndefined(a.bezirksregion ?? null),
      note: orUndefined(a.note ?? null)
    })]
  }

  function attributes (linkEntity: 'service' | 'location', linkId: string, groups: Service['targetGroups'], category?: Service['category']): HsdsAttribute[] {
    const result: HsdsAttribute[] = groups.map((g) => ({
      id: hsdsId('attribute', linkEntity, linkId, g.id),
      link_id: linkId,
      link_type: 'audience',
      link_entity: linkEntity,
      taxonomy_term_id: g.id,
      value: g.originalWording,
      taxonomy_term: termOf(g, taxonomies[0]!)
    }))
    if (category !== undefined) {
      result.push({
        id: hsdsId('attribute', linkEntity, linkId, category.id),
        link_id: linkId,
        link_type: 'category',
        link_entity: linkEntity,
        taxonomy_term_id: category.id,
        taxonomy_term: termOf(category, taxonomies[1]!)
      })
    }
    return result
  }

  function location (f: Facility, detail: HsdsDetail): HsdsLocation {
    const base: HsdsLocation = defined({
      id: f.id,
      location_type: 'physical' as const,
      url: webAddress(f.website),
      organization_id: organizationIdOf(f),
      name: f.name,
      alternate_name: joined(f.alternateNames),
      description: orUndefined(f.description),
      latitude: f.geo?.lat,
      longitude: f.geo?.lon
    })
    if (detail === 'minimal') return base
    const withExtensions: HsdsLocation = {
      ...base,
      directory_status: f.status,
      partnership: { status: f.partnership.status, evidence: f.partnership.evidence },
      ...(f.operatorNote === null ? {} : { operator_note: f.operatorNote }),
      notes: f.notes,
      sources: f.sources
    }
    if (detail === 'list') return withExtensions
    const phones: HsdsPhone[] = []
    if (f.phone !== null) phones.push({ id: hsdsId('phone', 'location', f.id), location_id: f.id, number: f.phone })
    if (f.fax !== null) phones.push({ id: hsdsId('fax', 'location', f.id), location_id: f.id, number: f.fax, type: 'fax' })
    // HSDS locations have no email; the facility's email address is a contact without a name.
    const contacts: HsdsContact[] = f.email === null ? [] : [{ id: hsdsId('contact', 'location', f.id), location_id: f.id, email: f.email, phones: [], sources: f.sources }]
    contacts.push(...(contactsOfFacility.get(f.id) ?? []).map(contact))
    const { osm, note } = f.openingHours
    const schedules: HsdsSchedule[] = osm === null && note === null
      ? []
      : [defined({ id: hsdsId('schedule', 'location', f.id), location_id: f.id, description: orUndefined(note), opening_hours: orUndefined(osm) })]
    return {
      ...withExtensions,
      addresses: address(f.id, f.address),
      phones,
      contacts,
      schedules,
      attributes: attributes('location', f.id, f.targetGroups)
    }
  }

  function siteLocation (organisationId: string, site: OrganisationSite, detail: HsdsDetail): HsdsLocation {
    const base: HsdsLocation = defined({
      id: site.id,
      location_type: 'physical' as const,
      organization_id: organisationId,
      name: site.name,
      description: orUndefined(site.description),
      latitude: site.geo?.lat,
      longitude: site.geo?.lon
    })
    if (detail === 'minimal') return base
    const withExtensions = { ...base, directory_status: site.status, notes: site.notes, sources: site.sources }
    if (detail === 'list') return withExtensions
    return { ...withExtensions, addresses: address(site.id, site.address), phones: [], contacts: [], schedules: [], attributes: [] }
  }

  function serviceLastModified (s: Service): string {
    const facility = facilities.get(s.facility.id)
    const operator = facility?.operator === null || facility?.operator === undefined ? undefined : organisations.get(facility.operator.id)
    return latest(
      s.updatedAt,
      ...(facility === undefined ? [] : [facility.updatedAt]),
      ...(operator === undefined ? [] : [operator.updatedAt]),
      ...(contactsOfFacility.get(s.facility.id) ?? []).map((c) => c.updatedAt),
      ...(records.contactsRemovedAt?.get(s.facility.id) === undefined ? [] : [records.contactsRemovedAt.get(s.facility.id)!])
    )
  }

  function service (s: Service, detail: HsdsDetail, options: { withOrganization?: boolean, withServiceAtLocations?: boolean } = {}): HsdsService {
    const base: HsdsService = defined({
      id: s.id,
      organization_id: organizationIdOf(s.facility),
      name: s.name,
      description: orUndefined(s.description),
      status: SERVICE_STATUS[s.status],
      fees_description: orUndefined(s.feeNote),
      last_modified: serviceLastModified(s)
    })
    if (detail === 'minimal') return pick(base, SERVICE_CORE_FIELDS)
    const result: HsdsService = defined({ ...base, directory_status: s.status, as_of: orUndefined(s.asOf), sources: s.sources })
    if (options.withOrganization ?? true) {
      const organization = organizationById(organizationIdOf(s.facility), 'list')
      if (organization !== undefined) result.organization = organization
    }
    if (detail === 'list') return result
    const facility = facilities.get(s.facility.id)
    if (options.withServiceAtLocations ?? true) {
      result.service_at_locations = facility === undefined
        ? []
        : [{ id: serviceAtLocationIdOf(s.id), service_id: s.id, location_id: facility.id, location: location(facility, 'full') }]
    }
    result.schedules = s.scheduleNote === null ? [] : [{ id: hsdsId('schedule', 'service', s.id), service_id: s.id, description: s.scheduleNote }]
    result.attributes = attributes('service', s.id, s.targetGroups, s.category)
    return result
  }

  function organizationById (id: string, detail: HsdsDetail, fullServices = false): HsdsOrganization | undefined {
    const o = organisations.get(id)
    const own = o === undefined ? ownOrganizations.get(id) : undefined
    if (o === undefined && own === undefined) return undefined
    const base: HsdsOrganization = o !== undefined
      ? defined({
        id: o.id,
        name: o.name,
        alternate_name: joined(o.alternateNames),
        description: o.description ?? '',
        email: orUndefined(o.email),
        website: webAddress(o.website),
        legal_status: orUndefined(o.legalForm)
      })
      : {
          id: own!.id,
          name: own!.name,
          description: 'Das Verzeichnis kennt den Träger dieser Einrichtung nicht. Dieser Eintrag steht als Organisation für die Einrichtung selbst (mit der id ihres location-Eintrags), weil HSDS jedes Angebot einer Organisation zuordnet; über Träger und Rechtsform sagt er nichts.'
        }
    if (detail === 'minimal') return pick(base, ORGANIZATION_CORE_FIELDS)
    const withExtensions: HsdsOrganization = o !== undefined
      ? { ...base, kind: o.kind, notes: o.notes, sources: o.sources }
      : { ...base, kind: 'facility', notes: [], sources: own!.sources }
    if (detail === 'list') return withExtensions
    const operated = o !== undefined ? records.facilities.filter((f) => f.operator?.id === o.id) : [own!]
    const operatedServices = operated.flatMap((f) => servicesByFacility.get(f.id) ?? [])
    return {
      ...withExtensions,
      phones: o === undefined || o.phone === null ? [] : [{ id: hsdsId('phone', 'organization', o.id), organization_id: o.id, number: o.phone }],
      contacts: (contactsOfOrganisation.get(id) ?? []).map(contact),
      locations: [
        ...operated.map((f) => location(f, 'full')),
        ...(records.sites?.get(id) ?? []).map((site) => siteLocation(id, site, 'full'))
      ],
      services: operatedServices.map((s) => service(s, fullServices ? 'full' : 'list', { withOrganization: false }))
    }
  }

  const byName = (a: { name: string, id: string }, b: { name: string, id: string }) =>
    fold(a.name).localeCompare(fold(b.name), 'de') || (a.id < b.id ? -1 : 1)
  const organizationOrder = [
    ...records.organisations.map((o) => ({ id: o.id, name: o.name })),
    ...[...ownOrganizations.values()].map((f) => ({ id: f.id, name: f.name }))
  ].sort(byName).map((o) => o.id)

  function matchesServiceFilters (serviceId: string, filters: HsdsServiceFilters): boolean {
    const s = services.get(serviceId)
    if (s === undefined) return false
    const termIds = [...s.targetGroups.map((g) => g.id), s.category.id]
    if (filters.taxonomyTermIds?.length && !filters.taxonomyTermIds.some((id) => termIds.includes(id))) return false
    if (filters.taxonomyIds?.length) {
      const taxonomyIds = [...(s.targetGroups.length > 0 ? [TARGET_GROUP_TAXONOMY_ID] : []), CATEGORY_TAXONOMY_ID]
      if (!filters.taxonomyIds.some((id) => taxonomyIds.includes(id))) return false
    }
    if (filters.organizationIds?.length && !filters.organizationIds.includes(organizationIdOf(s.facility))) return false
    if (filters.modifiedAfter !== undefined && Date.parse(serviceLastModified(s)) < Date.parse(filters.modifiedAfter)) return false
    return true
  }

  function searchTexts (id: string): string[] {
    const o = organisations.get(id)
    if (o !== undefined) return [o.name, ...o.alternateNames, o.description ?? '']
    const own = ownOrganizations.get(id)
    if (own !== undefined) return [own.name, ...own.alternateNames]
    const t = taxonomyById.get(id)
    if (t !== undefined) return [t.name, t.description]
    const entry = terms.get(id)
    if (entry !== undefined) return [entry.code, entry.name, entry.label_en, entry.description]
    return []
  }

  return {
    taxonomies: () => taxonomies,
    taxonomy: (id) => taxonomyById.get(id),
    taxonomyTermIds: () => [...terms.keys()],
    taxonomyTerm (id, withTaxonomy = false) {
      const entry = terms.get(id)
      if (entry === undefined || !withTaxonomy) return entry
      return { ...entry, taxonomy_detail: taxonomyById.get(entry.taxonomy_id)! }
    },
    organizationIds: () => organizationOrder,
    organization: organizationById,
    serviceIds: () => records.services.map((s) => s.id),
    service (id, detail) {
      const s = services.get(id)
      return s === undefined ? undefined : service(s, detail)
    },
    serviceAtLocation (id, detail) {
      const serviceId = serviceAtLocations.get(id)
      const s = serviceId === undefined ? undefined : services.get(serviceId)
      const facility = s === undefined ? undefined : facilities.get(s.facility.id)
      if (s === undefined || facility === undefined) return undefined
      const link: HsdsServiceAtLocation = { id, service_id: s.id, location_id: facility.id }
      if (detail === 'minimal') return link
      return {
        ...link,
        location: location(facility, detail),
        service: service(s, detail, { withServiceAtLocations: false })
      }
    },
    matchesServiceFilters,
    searchTexts
  }
}

// The HSDS profile of this API: what it adds to HSDS 3.0 and how the directory maps onto it.
export interface HsdsProfileAgreement {
  id: string
  slug: string
  title: string
  signedDate: string | null
}

export function hsdsProfile (agreements: HsdsProfileAgreement[]) {
  return {
    name: 'Mitte Partner Directory – HSDS 3.0 profile',
    hsds_version: HSDS_VERSION,
    description: 'The partners of the Kooperationsvereinbarung of 27 June 2018 between Bezirksamt Mitte, JobCenter Berlin Mitte and the Nachbarschaftseinrichtungen in Berlin-Mitte, served as Open Referral HSDS 3.0 under /hsds. Content is German. Every object validates against the HSDS 3.0 JSON Schemas; the fields listed under `extensions` are additions of this profile.',
    specification: 'https://docs.openreferral.org/en/latest/',
    native_api: '/v1',
    mapping: [
      { hsds: 'organization', from: '/v1/organisations', rule: 'Every organisation (district office, JobCenter, operators) with its id. A facility whose operator no source names is represented by an organization with the facility\'s id and name (kind `facility`); it states nothing else.' },
      { hsds: 'location', from: '/v1/facilities', rule: 'Every facility, with its id; `organization_id` is its operator (or its own organization). Full organizations also list the sites of the organisation (e.g. the JobCenter\'s sites) as locations.' },
      { hsds: 'service', from: '/v1/services', rule: 'Every service (offer), with its id; its organization is the operator of its facility.' },
      { hsds: 'service_at_location', from: '/v1/services', rule: 'A service runs at exactly one facility, so each service has one service_at_location (id derived from the service id).' },
      { hsds: 'taxonomy, taxonomy_term', from: '/v1/target-groups, /v1/categories', rule: `Two taxonomies: Zielgruppen (${TARGET_GROUP_TAXONOMY_ID}) and Angebotskategorien (${CATEGORY_TAXONOMY_ID}). Terms keep the ids of the vocabulary entries; \`code\` is the slug, \`name\` the German label.` },
      { hsds: 'attribute', from: 'targetGroups and category of services, targetGroups of facilities', rule: 'link_type `audience` links a target group (value: the source\'s own wording), link_type `category` a service category; link_entity is `service` or `location`.' },
      { hsds: 'address', from: 'address of facilities and sites', rule: 'Given where a street or postcode is known. region is the Ortsteil; state_province `Berlin` and country `DE` follow from the city Berlin (a city-state).' },
      { hsds: 'phone', from: 'phone and fax of facilities, organisations and contacts', rule: 'Numbers as published; a fax has type `fax`.' },
      { hsds: 'contact', from: '/v1/contacts (public only) and the email of facilities', rule: 'Public contacts with their role as title. HSDS locations have no email, so a facility\'s email is a contact without a name.' },
      { hsds: 'schedule', from: 'openingHours of facilities, scheduleNote of services', rule: 'Free text in `description` as the source gives it; structured hours in OpenStreetMap syntax in `opening_hours`.' }
    ],
    extensions: [
      { object: 'location', field: 'partnership', description: 'Relation of the facility to the 2018 agreement: `status` participant (a source names it among the facilities at the partners’ meeting of 11 March 2020; that it signed is implied, not stated), probable (inferred, no source names it) or unknown, and `evidence`.' },
      { object: 'location, service', field: 'directory_status', description: 'The record\'s status in the directory. For services HSDS `status` is derived from it: active → active, unverified (no recent source confirms it) → inactive, historic (a source describes it for a past period only) → defunct.' },
      { object: 'organization, location, service, contact', field: 'sources', description: 'The public sources of the record\'s facts: `url`, `title` and the `facts` each supports (provenance).' },
      { object: 'location', field: 'operator_note', description: 'Operator history or shared operation of the facility as sources state it.' },
      { object: 'organization, location', field: 'notes', description: 'What the sources say beyond the fields, e.g. contradictions or former addresses.' },
      { object: 'organization', field: 'kind', description: '`district_office`, `jobcenter`, `operator`, or `facility` for the organization that stands for a facility without a known operator.' },
      { object: 'service, contact', field: 'as_of', description: 'Year (or span of years) the source describes the offer or the contact data for.' },
      { object: 'address', field: 'note', description: 'What the sources say about the address, e.g. that no source gives the postcode.' },
      { object: 'address', field: 'bezirksregion', description: 'Bezirksregion (planning region) where a source states it.' },
      { object: 'schedule', field: 'opening_hours', description: 'Opening hours in OpenStreetMap `opening_hours` syntax (Europe/Berlin, Berlin public holidays).' },
      { object: 'taxonomy_term', field: 'label_en', description: 'English label of the term.' },
      { object: 'organization', field: 'services', description: 'The services of the organization (HSDS API: /organizations/{id}); full services with `full_service=true`.' }
    ],
    conventions: [
      'Unknown facts are left out (HSDS has no null). Where HSDS requires a string no source gives (an address\'s postal_code, an organization\'s description) it is the empty string, never a guess.',
      'Web addresses printed without a scheme (www.…) are given with http://, the scheme a bare address stands for; /v1 keeps them as printed.',
      'Page wrapper: page_number is 1-based, size is the number of objects in contents, a page past the last one is empty. per_page is 1–500 (default 50).',
      'Filters combine with AND; repeating one (taxonomy_term_id, taxonomy_id, organization_id) means OR. search is the directory\'s full-text search: case-, umlaut- and ß-insensitive, every word a prefix.',
      'minimal returns HSDS core fields only; full nests every related object. Lists without either return the one-to-one fields, services with their organization.',
      'HSDS has no delete signal and no change history: deleted records simply disappear here; /v1/changes and /v1/{resource}/{id}/history have both. Errors are application/problem+json (RFC 9457).'
    ],
    agreements: agreements.map((a) => ({
      id: a.id,
      title: a.title,
      signed_date: a.signedDate,
      url: `/v1/agreements/${a.slug}`,
      description: 'The cooperation agreement as data: parties with roles and evidence, declared and known partner counts, aims, commitments and events. The partnership of each facility with it is the `partnership` of its location.'
    }))
  }
}

export type HsdsProfile = ReturnType<typeof hsdsProfile>

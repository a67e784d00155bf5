import type { Contact } from '../schemas/contacts.ts'
import type { Facility } from '../schemas/facilities.ts'

// JSON-LD with the schema.org vocabulary, for search engines and linked-data tools. A facility is
// typed both `Place` (a house with an address, coordinates and opening hours) and `Organization`
// (it has phone, e-mail, contacts and an operator): neither alone carries all of its facts, and
// `LocalBusiness` (the common Place-and-Organization type) would call a non-profit neighbourhood
// centre a business. The operator (Träger) is the `parentOrganization`. Only known facts appear:
// no `geo` without coordinates, no empty address parts; `addressCountry` `DE` only for a Berlin
// address. Opening hours become `openingHoursSpecification` only when the OSM value lies entirely
// within the subset that converts without loss (see openingHoursSpecification); the OSM value and
// the free-text note are always kept as `additionalProperty` values, never rewritten as hours.

export const JSONLD_MEDIA_TYPE = 'application/ld+json'
export const SCHEMA_ORG_CONTEXT = 'https://schema.org'
export const OSM_OPENING_HOURS_KEY = 'https://wiki.openstreetmap.org/wiki/Key:opening_hours'

export interface JsonLdOptions {
  // Absolute base address of this API: records are then identified by their API URL
  // (`<baseUrl>/v1/facilities/<id>`); without it by `urn:uuid:<id>`.
  baseUrl?: string
  // Contacts to publish as `contactPoint`; by default the facility's embedded `contacts`
  // (`include=contacts`). Only public ones are ever written.
  contacts?: Contact[]
}

export type JsonLdNode = { [key: string]: unknown }

export function facilityJsonLd (f: Facility, options: JsonLdOptions = {}): JsonLdNode {
  const identify = identifier(options.baseUrl)
  const contacts = (options.contacts ?? f.contacts ?? []).filter((contact) => contact.visibility === 'public')
  const hours = f.openingHours.osm === null ? null : openingHoursSpecification(f.openingHours.osm)
  return compact({
    '@context': SCHEMA_ORG_CONTEXT,
    '@type': ['Place', 'Organization'],
    '@id': identify('facilities', f.id),
    identifier: f.slug,
    name: f.name,
    alternateName: f.alternateNames.length === 0 ? null : f.alternateNames,
    description: f.description,
    url: f.website === null ? null : webAddress(f.website),
    address: postalAddress(f.address),
    containedInPlace: f.address.ortsteil === null ? null : { '@type': 'AdministrativeArea', name: f.address.ortsteil },
    geo: f.geo === null ? null : { '@type': 'GeoCoordinates', latitude: f.geo.lat, longitude: f.geo.lon },
    telephone: f.phone,
    faxNumber: f.fax,
    email: f.email,
    contactPoint: contacts.length === 0 ? null : contacts.map(contactPoint),
    parentOrganization: f.operator === null
      ? null
      : { '@type': 'Organization', '@id': identify('organisations', f.operator.id), name: f.operator.name },
    openingHoursSpecification: hours,
    additionalProperty: openingHoursProperties(f.openingHours)
  })
}

function identifier (baseUrl: string | undefined): (collection: string, id: string) => string {
  if (baseUrl === undefined) return (_collection, id) => `urn:uuid:${id}`
  const base = new URL(baseUrl)
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`The JSON-LD base URL must be http(s): ${baseUrl}`)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return (collection, id) => new URL(`v1/${collection}/${encodeURIComponent(id)}`, base).href
}

// Sources sometimes print a web address without a scheme (`www.stadtrand-berlin.de`); as a URL
// it is the http address every browser opens for it (no https is claimed).
function webAddress (website: string): string {
  return /^https?:\/\//i.test(website) ? website : `http://${website}`
}

function postalAddress (address: Facility['address']): JsonLdNode | null {
  const node = compact({
    streetAddress: address.street,
    postalCode: address.postcode,
    addressLocality: address.city,
    addressCountry: address.city === 'Berlin' ? 'DE' : null
  })
  return Object.keys(node).length === 0 ? null : { '@type': 'PostalAddress', ...node }
}

function contactPoint (contact: Contact): JsonLdNode {
  return compact({
    '@type': 'ContactPoint',
    name: contact.name,
    contactType: contact.role,
    telephone: contact.phone,
    email: contact.email
  })
}

function openingHoursProperties (hours: Facility['openingHours']): JsonLdNode[] | null {
  const properties: JsonLdNode[] = []
  if (hours.osm !== null) {
    properties.push({ '@type': 'PropertyValue', propertyID: OSM_OPENING_HOURS_KEY, name: 'openingHours.osm', value: hours.osm })
  }
  if (hours.note !== null) {
    properties.push({ '@type': 'PropertyValue', name: 'openingHours.note', value: hours.note })
  }
  return properties.length === 0 ? null : properties
}

const DAYS = ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'] as const
const DAY_IRIS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'].map((day) => `https://schema.org/${day}`)
const DAY_SELECTOR = /^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$/
const TIME_RANGE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/

// The OSM opening_hours subset that schema.org can state without loss: rules `<days> <times>`,
// `<days> off` or `<times>` (every day), separated by `;`, where days are Mo…Su, ranges (also
// across Sunday) and lists, and times are `HH:MM-HH:MM` lists within one day. As in OSM, a later
// rule replaces the hours of the days it names. Anything else (public or school holidays, months,
// weeks, dates, sunrise, open ends, times past midnight, comments, fallback rules) returns null:
// schema.org cannot say it, and leaving it out would state hours the facility does not keep.
export function openingHoursSpecification (osm: string): JsonLdNode[] | null {
  const week: ([string, string][] | null)[] = DAYS.map(() => null)
  const rules = osm.split(';').map((rule) => rule.trim().replace(/\s*([,-])\s*/g, '$1'))
  if (rules.every((rule) => rule === '')) return null
  for (const rule of rules) {
    if (rule === '') continue
    const parsed = parseRule(rule)
    if (parsed === null) return null
    for (const day of parsed.days) week[day] = parsed.times
  }
  // One specification per time range, listing every day that has it, in week order.
  const byRange = new Map<string, { opens: string, closes: string, days: number[] }>()
  week.forEach((times, day) => {
    for (const [opens, closes] of times ?? []) {
      const key = `${opens}-${closes}`
      const entry = byRange.get(key) ?? { opens, closes, days: [] }
      entry.days.push(day)
      byRange.set(key, entry)
    }
  })
  return [...byRange.values()].map(({ opens, closes, days }) => ({
    '@type': 'OpeningHoursSpecification',
    dayOfWeek: days.map((day) => DAY_IRIS[day]),
    opens: `${opens}:00`,
    closes: `${closes}:00`
  }))
}

function parseRule (rule: string): { days: number[], times: [string, string][] } | null {
  const parts = rule.split(/\s+/)
  if (parts.length > 2) return null
  const [first = '', second] = parts
  const daysPart = second === undefined ? null : first
  const timesPart = second ?? first
  const days = daysPart === null ? DAYS.map((_, day) => day) : parseDays(daysPart)
  if (days === null) return null
  if (timesPart === 'off' || timesPart === 'closed') return daysPart === null ? null : { days, times: [] }
  const times: [string, string][] = []
  for (const range of timesPart.split(',')) {
    const match = TIME_RANGE.exec(range)
    if (match === null) return null
    const [, openHour, openMinute, closeHour, closeMinute] = match as unknown as [string, string, string, string, string]
    const opens = `${openHour}:${openMinute}`
    const closes = `${closeHour}:${closeMinute}`
    if (closes <= opens) return null
    times.push([opens, closes])
  }
  return { days, times }
}

function parseDays (selector: string): number[] | null {
  const days = new Set<number>()
  for (const item of selector.split(',')) {
    const match = DAY_SELECTOR.exec(item)
    if (match === null) return null
    const from = DAYS.indexOf(match[1] as typeof DAYS[number])
    const to = match[2] === undefined ? from : DAYS.indexOf(match[2] as typeof DAYS[number])
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day)
      if (day === to) break
    }
  }
  return [...days]
}

// Drops members whose value is null, so that unknown facts are absent rather than stated empty.
function compact (node: { [key: string]: unknown }): JsonLdNode {
  return Object.fromEntries(Object.entries(node).filter(([, value]) => value !== null && value !== undefined))
}

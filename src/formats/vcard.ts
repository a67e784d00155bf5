import type { Tombstone } from '../schemas/common.ts'
import type { Contact } from '../schemas/contacts.ts'
import type { Facility } from '../schemas/facilities.ts'
import type { Organisation } from '../schemas/organisations.ts'

// vCard 4.0 (RFC 6350) exports for address books: people as KIND:individual, facilities and
// organisations as KIND:org. UID is `urn:uuid:<record id>`, so a re-import updates the card
// instead of adding a second one; REV is the record's updatedAt. Only published facts are written:
// a property whose value is unknown (null) is left out, and an address only carries its known parts.
// - N splits the name at its last space (family name last, as German names are written):
//   `Petra Patz-Drüke` → `N:Patz-Drüke;Petra;;;`. Titles and particles (Dr., von) are not
//   recognised; FN always carries the full name as published.
// - TEL is text exactly as published (`030 / 238 09 13`), not a `tel:` URI: turning it into one
//   would mean rewriting digits and guessing extensions.
// - URL is the website as published; some sources print it without a scheme (`www.…`).
// - NOTE lists the public sources of the record.

export const VCARD_MEDIA_TYPE = 'text/vcard; charset=utf-8'

// Every record in this directory is in Berlin.
const COUNTRY = 'Deutschland'
const CRLF = '\r\n'
const MAX_LINE_OCTETS = 75

interface Property {
  name: string
  params?: string
  // A string is one text value; a list is the fields of a compound value (N, ADR, ORG).
  value: string | readonly (string | null)[]
  // URIs and timestamps are not text and must not be escaped.
  raw?: boolean
}

interface Address { street: string | null, postcode: string | null, city: string | null }
interface Sourced { sources: readonly { url: string }[] }

export function contactVcard (contact: Contact): string {
  const organisation = contact.organisation?.name ?? null
  const facility = contact.facility?.name ?? null
  // ORG is the organisation with the facility as its unit, or the one of them that is known.
  const org = [organisation ?? facility, organisation === null ? null : facility].filter((part) => part !== null)
  return card(contact.id, 'individual', contact.updatedAt, [
    { name: 'FN', value: contact.name },
    { name: 'N', value: nameFields(contact.name) },
    org.length > 0 ? { name: 'ORG', value: org } : null,
    { name: 'TITLE', value: contact.role },
    contact.phone === null ? null : { name: 'TEL', params: 'VALUE=text;TYPE=work,voice', value: contact.phone },
    contact.email === null ? null : { name: 'EMAIL', params: 'TYPE=work', value: contact.email },
    sourceNote(contact, contact.asOf)
  ])
}

export function facilityVcard (facility: Facility): string {
  return card(facility.id, 'org', facility.updatedAt, [
    { name: 'FN', value: facility.name },
    { name: 'ORG', value: [facility.name] },
    address(facility.address),
    facility.phone === null ? null : { name: 'TEL', params: 'VALUE=text;TYPE=work,voice', value: facility.phone },
    facility.fax === null ? null : { name: 'TEL', params: 'VALUE=text;TYPE=work,fax', value: facility.fax },
    facility.email === null ? null : { name: 'EMAIL', params: 'TYPE=work', value: facility.email },
    facility.website === null ? null : { name: 'URL', value: facility.website, raw: true },
    facility.geo === null ? null : { name: 'GEO', value: `geo:${facility.geo.lat},${facility.geo.lon}`, raw: true },
    sourceNote(facility, null)
  ])
}

export function organisationVcard (organisation: Organisation): string {
  return card(organisation.id, 'org', organisation.updatedAt, [
    { name: 'FN', value: organisation.name },
    { name: 'ORG', value: [organisation.name] },
    address(organisation.address),
    organisation.phone === null ? null : { name: 'TEL', params: 'VALUE=text;TYPE=work,voice', value: organisation.phone },
    organisation.email === null ? null : { name: 'EMAIL', params: 'TYPE=work', value: organisation.email },
    organisation.website === null ? null : { name: 'URL', value: organisation.website, raw: true },
    sourceNote(organisation, null)
  ])
}

// Many cards in one response. Tombstones (lists with `updatedSince`) are left out: vCard has no
// way to say that a card was deleted.
export function vcards (records: readonly (Contact | Facility | Organisation | Tombstone)[]): string {
  return records.map((record) => {
    if ('deleted' in record) return ''
    if ('role' in record) return contactVcard(record)
    if ('types' in record) return facilityVcard(record)
    return organisationVcard(record)
  }).join('')
}

function card (id: string, kind: 'individual' | 'org', updatedAt: string, properties: readonly (Property | null)[]): string {
  const lines = [
    'BEGIN:VCARD',
    'VERSION:4.0',
    `UID:urn:uuid:${id}`,
    `KIND:${kind}`,
    ...properties.filter((property) => property !== null).map(line),
    `REV:${timestamp(updatedAt)}`,
    'END:VCARD'
  ]
  return lines.map(fold).join(CRLF) + CRLF
}

function line ({ name, params, value, raw }: Property): string {
  const text = typeof value === 'string'
    ? (raw === true ? uri(value) : escape(value))
    : value.map((field) => escape(field ?? '').replaceAll(';', '\\;')).join(';')
  return `${name}${params === undefined ? '' : `;${params}`}:${text}`
}

// RFC 6350 §3.4: backslash, comma and line breaks in every text value. A semicolon is escaped only
// inside the fields of a compound value (N, ADR, ORG), where the RFC requires it: elsewhere it
// may stay, and readers such as ical.js keep a `\;` there verbatim.
function escape (text: string): string {
  return text.replace(/[\\,]/g, (char) => `\\${char}`).replace(/\r\n|\r|\n/g, '\\n')
}

// A line break in a URI would end the property and let the rest be read as new properties; in a
// URI it is only valid percent-encoded.
function uri (value: string): string {
  return value.replace(/[\r\n]/g, (char) => (char === '\r' ? '%0D' : '%0A'))
}

// `Petra Patz-Drüke` → family `Patz-Drüke`, given `Petra`; family;given;additional;prefixes;suffixes.
function nameFields (name: string): string[] {
  const words = name.trim().split(/\s+/)
  const family = words.pop() ?? ''
  return [family, words.join(' '), '', '', '']
}

function address ({ street, postcode, city }: Address): Property | null {
  if (street === null && postcode === null && city === null) return null
  // PO box; extended address; street; locality; region; postal code; country.
  return { name: 'ADR', params: 'TYPE=work', value: [null, null, street, city, null, postcode, COUNTRY] }
}

function sourceNote (record: Sourced, asOf: string | null): Property | null {
  if (record.sources.length === 0) return null
  const heading = asOf === null ? 'Angaben laut öffentlichen Quellen:' : `Angaben laut öffentlichen Quellen (Stand ${asOf}):`
  return { name: 'NOTE', value: [heading, ...record.sources.map((source) => source.url)].join('\n') }
}

// `2026-11-21T09:00:00.000Z` → `20261121T090000Z` (RFC 6350 timestamp, UTC).
function timestamp (iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
}

// RFC 6350 §3.2: lines of at most 75 octets; a continuation line starts with a space. Cuts fall
// between characters, never inside a UTF-8 multi-byte sequence, and not inside an escape such as
// `\n` (the RFC would allow it, but simple readers unescape line by line).
function fold (text: string): string {
  const lines: string[] = []
  let current = ''
  let octets = 0
  for (const [unit] of text.matchAll(/\\.|./gsu)) {
    const size = Buffer.byteLength(unit, 'utf8')
    if (octets + size > MAX_LINE_OCTETS) {
      lines.push(current)
      current = ' '
      octets = 1
    }
    current += unit
    octets += size
  }
  lines.push(current)
  return lines.join(CRLF)
}

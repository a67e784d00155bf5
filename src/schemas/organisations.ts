import { Type, type Static } from 'typebox'
import { ORGANISATION_KINDS, ORGANISATION_UNIT_KINDS, SITE_STATUSES } from '../domain/vocabulary.ts'
import {
  FacilityRefSchema, Id, Nullable, Pagination, Slug, Sources, SyncQuery, Timestamp, Vocabulary, listItemSchema, many,
  mergePatchSchema, pageSchema, ref,
  InputText, SourceInputSchema
} from './common.ts'
import { GeoSchema } from './facilities.ts'
import { ContactSchema } from './contacts.ts'

export const OrganisationKindSchema = Vocabulary(ORGANISATION_KINDS, {
  description: '`district_office`: Bezirksamt; `jobcenter`: JobCenter; `operator`: Träger of facilities.'
})

export const OrganisationAddressSchema = Type.Object({
  street: Nullable(Type.String()),
  postcode: Nullable(Type.String()),
  city: Nullable(Type.String()),
  ortsteil: Nullable(Type.String({ description: 'Ortsteil (locality) of Bezirk Mitte.' }))
}, { $id: 'OrganisationAddress', description: 'Postal address of an organisation or one of its sites; unknown parts are null.', examples: [{ street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null }] })

const pm067 = {
  url: 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php',
  title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020: Veranstaltung „Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen“'
}
const siteDescription = 'Hauptstandort und Zentrale des JobCenters, nahe dem U-Bahnhof Spittelmarkt. Laut Berliner Woche (um 2012) betreut er vor allem Arbeitslose aus Mitte, Tiergarten und Moabit; am 11.03.2020 fand hier das Kennenlerntreffen mit den Nachbarschaftseinrichtungen statt.'
const jobcenterExample = {
  id: '06b7a5a2-b876-5fc0-878f-2247f67162d9',
  slug: 'jobcenter-berlin-mitte',
  kind: 'jobcenter',
  name: 'JobCenter Berlin Mitte',
  alternateNames: ['JobCenter Mitte', 'Jobcenter Berlin-Mitte'],
  description: 'Jobcenter für den Bezirk Mitte mit mehreren Standorten und Partner der Kooperationsvereinbarung von 2018, nach der seine Kundinnen und Kunden die Angebote der Nachbarschaftseinrichtungen stärker nutzen sollen. Seit 2023 ist es ständiges Mitglied im Arbeitskreis Stadtteilarbeit in Mitte.',
  legalForm: 'gemeinsame Einrichtung der Agentur für Arbeit und des Bezirksamtes',
  website: 'https://www.berlin.de/jobcenter-mitte/',
  email: null,
  phone: null,
  address: { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null },
  notes: ['Die Anschrift ist die des Hauptstandorts am Spittelmarkt, der laut Berliner Woche seit etwa 2012 die Zentrale ist.'],
  facilityCount: 0,
  sources: [{ ...pm067, facts: ['name', 'address of site Spittelmarkt', 'signed the agreement on 27.6.2018'] }],
  createdAt: '2026-11-21T09:00:00.000Z',
  updatedAt: '2026-11-21T09:00:00.000Z'
}

const organisationProperties = {
  id: Id,
  slug: Slug,
  kind: OrganisationKindSchema,
  name: Type.String(),
  alternateNames: Type.Array(Type.String(), { description: 'Other names the sources use.' }),
  description: Nullable(Type.String()),
  legalForm: Nullable(Type.String({ description: 'Legal form as the sources state it, e.g. `e.V.` or `gGmbH`.' })),
  website: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  address: ref(OrganisationAddressSchema),
  notes: Type.Array(Type.String()),
  facilityCount: Type.Integer({ minimum: 0, description: 'Number of facilities in the directory this organisation operates.' }),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Timestamp
}

export const OrganisationSchema = Type.Object(organisationProperties, {
  $id: 'Organisation',
  description: 'A party of the cooperation: the Bezirksamt, the JobCenter or an operator (Träger) of facilities.',
  examples: [jobcenterExample]
})
export type Organisation = Static<typeof OrganisationSchema>

export const OrganisationUnitSchema = Type.Object({
  id: Id,
  slug: Slug,
  kind: Vocabulary(ORGANISATION_UNIT_KINDS, { description: 'Kind of unit: department, unit, programme or working group.' }),
  name: Type.String(),
  description: Nullable(Type.String()),
  website: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  notes: Type.Array(Type.String()),
  sources: Sources
}, {
  $id: 'OrganisationUnit',
  description: 'A department, unit, programme or working group of an organisation.',
  examples: [{
    id: 'd86b4525-bfea-5824-ae08-e2adfa1fe34c',
    slug: 'sozialraumorientierte-planungskoordination',
    kind: 'unit',
    name: 'Sozialraumorientierte Planungskoordination (SPK)',
    description: 'Organisationseinheit des Bezirksamts für die sozialräumlich ausgerichtete Planung, die auch die Stadtteilkoordination leitet. Ihre Leiterin war 2020 Ansprechpartnerin des Bezirksamts für das Kennenlerntreffen von JobCenter und Nachbarschaftseinrichtungen.',
    website: null,
    phone: '(030) 9018-42393',
    notes: ['Die Beschlüsse des Bezirksamts zur Sozialraumorientierung und zur Einrichtung der Organisationseinheit SPK stammen aus dem Jahr 2011.'],
    sources: [{ ...pm067, facts: ['head of unit as contact for the event 11.03.2020'] }]
  }]
})
export type OrganisationUnit = Static<typeof OrganisationUnitSchema>

export const OrganisationSiteSchema = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String(),
  status: Vocabulary(SITE_STATUSES, { description: '`active`: in use; `unverified`: not confirmed by a current source; `historic`: given up.' }),
  address: ref(OrganisationAddressSchema),
  geo: Nullable(ref(GeoSchema)),
  description: Nullable(Type.String()),
  notes: Type.Array(Type.String()),
  sources: Sources
}, {
  $id: 'OrganisationSite',
  description: 'A location (Standort) of an organisation.',
  examples: [{
    id: 'c067ff05-1bc0-529b-aac4-c277aa3717e0',
    slug: 'jobcenter-spittelmarkt',
    name: 'Standort Spittelmarkt',
    status: 'active',
    address: { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null },
    geo: null,
    description: siteDescription,
    notes: ['Die Quellen sprechen von „am Spittelmarkt“; einen Ortsteil nennen sie nicht.'],
    sources: [{ ...pm067, facts: ['street', 'postcode', 'venue of the event 11.03.2020'] }]
  }]
})
export type OrganisationSite = Static<typeof OrganisationSiteSchema>

export const OrganisationDetailSchema = Type.Object({
  ...organisationProperties,
  units: Type.Array(ref(OrganisationUnitSchema), { description: 'Departments, units, programmes and working groups, sorted by name.' }),
  sites: Type.Array(ref(OrganisationSiteSchema), { description: 'Locations, active ones first, then by name.' }),
  contacts: Type.Array(ref(ContactSchema), { description: 'Public contacts of the organisation, sorted by name. Internal contacts are not listed.' }),
  facilities: Type.Array(ref(FacilityRefSchema), { description: 'Facilities the organisation operates, sorted by name.' })
}, {
  $id: 'OrganisationDetail',
  description: 'An organisation with its units, sites, public contacts and the facilities it operates.',
  examples: [{
    ...jobcenterExample,
    units: [],
    sites: [{
      id: 'c067ff05-1bc0-529b-aac4-c277aa3717e0',
      slug: 'jobcenter-spittelmarkt',
      name: 'Standort Spittelmarkt',
      status: 'active',
      address: { street: 'Seydelstr. 2-5', postcode: '10117', city: 'Berlin', ortsteil: null },
      geo: null,
      description: siteDescription,
      notes: [],
      sources: [{ ...pm067, facts: ['street', 'postcode', 'venue of the event 11.03.2020'] }]
    }],
    contacts: [{
      id: '87de74bb-9d32-55f5-88b8-9ea9d22c7164',
      name: 'Lutz Mania',
      role: 'Geschäftsführer JobCenter Berlin Mitte',
      organisation: { id: '06b7a5a2-b876-5fc0-878f-2247f67162d9', slug: 'jobcenter-berlin-mitte', name: 'JobCenter Berlin Mitte', kind: 'jobcenter' },
      facility: null,
      phone: '(030) 5555 45-1010',
      email: null,
      visibility: 'public',
      asOf: '2023',
      sources: [{
        url: 'https://wertheim24.de/zusammenarbeit-jobcenter-mitte-bezirksamt-mitte-und-die-nachbarschaftseinrichtungen-im-bezirk',
        title: 'Republication (wertheim24.de) of BA Mitte Pressemitteilung Nr. 158/2023 vom 03.07.2023: Zusammenarbeit JobCenter Mitte, Bezirksamt Mitte und die Nachbarschaftseinrichtungen im Bezirk (original berlin.de page not available)',
        facts: ['role', 'phone']
      }],
      createdAt: '2026-11-21T09:00:00.000Z',
      updatedAt: '2026-11-21T09:00:00.000Z'
    }],
    facilities: []
  }]
})
export type OrganisationDetail = Static<typeof OrganisationDetailSchema>

export const ORGANISATION_SORTS = ['name', '-name', 'updatedAt', '-updatedAt'] as const

export const OrganisationListQuery = Type.Object({
  kind: Type.Optional(many(OrganisationKindSchema, 'Organisation kind.')),
  sort: Type.Optional(Vocabulary(ORGANISATION_SORTS, { description: 'Sort order; a leading `-` is descending. `id` is always the final tie-break, so the order is stable. Default: `updatedAt` with `updatedSince`, else `name`.' })),
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type OrganisationListQuery = Static<typeof OrganisationListQuery>

export const OrganisationListItemSchema = listItemSchema(OrganisationSchema, 'OrganisationListItem')

export const OrganisationListSchema = pageSchema(OrganisationListItemSchema, 'A page of organisations, by default sorted by name.')

export const organisationSchemas = [
  OrganisationAddressSchema, OrganisationSchema, OrganisationUnitSchema, OrganisationSiteSchema, OrganisationDetailSchema,
  OrganisationListItemSchema
]

// --- Writes ------------------------------------------------------------------------------------

// Units and sites are not part of it: they stay read-only through the API.
export const OrganisationInputSchema = Type.Object({
  slug: Slug,
  kind: OrganisationKindSchema,
  name: InputText(300),
  alternateNames: Type.Array(InputText(300), { maxItems: 50, default: [] }),
  description: Nullable(InputText(5000)),
  legalForm: Nullable(InputText(200, 'Legal form as the sources state it, e.g. `e.V.` or `gGmbH`.')),
  // Sources sometimes print a web address without a scheme (www.example.de); it is kept as printed.
  website: Nullable(Type.String({ pattern: '^(https?://)?[^\\s/]+\\.[^\\s]+$', maxLength: 2000, description: 'Web address; `https://` recommended, a bare `www.…` is kept as a source printed it.' })),
  email: Nullable(Type.String({ format: 'email', maxLength: 254 })),
  phone: Nullable(InputText(100)),
  address: Type.Object({
    street: Nullable(InputText(200)),
    postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
    city: Nullable(InputText(100)),
    ortsteil: Nullable(InputText(100))
  }, { additionalProperties: false }),
  notes: Type.Array(InputText(2000), { maxItems: 50 }),
  sources: Type.Array(SourceInputSchema, { maxItems: 100 })
}, {
  $id: 'OrganisationInput',
  additionalProperties: false,
  description: 'An organisation as written by clients (without its units and sites, which are read-only). Unknown facts are null; `sources` says where the facts come from.',
  examples: [{
    slug: 'nachbarschaftsverein-beispielkiez',
    kind: 'operator',
    name: 'Nachbarschaftsverein Beispielkiez e.V.',
    alternateNames: ['Beispielkiez-Verein'],
    description: 'Träger eines Nachbarschaftstreffs in Moabit.',
    legalForm: 'e.V.',
    website: 'https://example.org',
    email: null,
    phone: null,
    address: { street: 'Beispielstraße 1', postcode: '10551', city: 'Berlin', ortsteil: 'Moabit' },
    notes: [],
    sources: [{ url: 'https://example.org/quelle', title: 'Beispielquelle', facts: ['name', 'legalForm'] }]
  }]
})
export type OrganisationInput = Static<typeof OrganisationInputSchema>

export const OrganisationPatchSchema = mergePatchSchema(OrganisationInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of an OrganisationInput: only the members to change; `null` clears a member, nested objects merge, arrays are replaced. The merged record is validated as a whole (422).')

export const organisationWriteSchemas = [OrganisationInputSchema]

import { readFileSync } from 'node:fs'
import { Type, type Static } from 'typebox'
import { projectPath } from '../lib/paths.ts'
import { FACILITY_STATUSES, FACILITY_TYPE_LABELS, FACILITY_TYPES, PARTNERSHIP_STATUSES } from '../domain/vocabulary.ts'
import {
  Id, Nullable, OrganisationRefSchema, Pagination, Slug, Sources, SyncQuery, TargetGroupLinkSchema, Timestamp,
  Vocabulary, listItemSchema, many, mergePatchSchema, pageSchema, ref, InputText, TaxonomyMatchSchema, SourceInputSchema, TargetGroupLinkInputSchema
} from './common.ts'
import { ServiceSchema } from './services.ts'
import { ContactSchema } from './contacts.ts'

export const FacilityTypeSchema = Vocabulary(FACILITY_TYPES, {
  description: `Facility type (controlled list): ${FACILITY_TYPES.map((type) => `\`${type}\` (${FACILITY_TYPE_LABELS[type]})`).join(', ')}.`
})
export const PartnershipStatusSchema = Vocabulary(PARTNERSHIP_STATUSES, {
  description: '`participant`: a source names it among the facilities taking part in the partners’ meeting of 11 March 2020 (PM 067/2020; that it signed the agreement is implied, not stated); `probable`: inferred, no source names it; `unknown`: no link to the agreement found.'
})

export const AddressSchema = Type.Object({
  street: Nullable(Type.String()),
  postcode: Nullable(Type.String()),
  city: Nullable(Type.String()),
  ortsteil: Nullable(Type.String({ description: 'Ortsteil (locality) of Bezirk Mitte.' })),
  bezirksregion: Nullable(Type.String({ description: 'Bezirksregion (planning region) where a source states it.' })),
  note: Nullable(Type.String({ description: 'What the sources say beyond the fields, e.g. former addresses.' }))
}, {
  $id: 'Address',
  description: 'Postal address as far as sources state it; unknown parts are null.',
  examples: [{ street: 'Wattstraße 16', postcode: null, city: 'Berlin', ortsteil: 'Gesundbrunnen', bezirksregion: null, note: 'Im Brunnenviertel; die Postleitzahl nennt keine Quelle.' }]
})

export const GeoSchema = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lon: Type.Number({ minimum: -180, maximum: 180 })
}, { $id: 'Geo', description: 'WGS 84 coordinates (null wherever no source gives them, which is every seeded facility).', examples: [{ lat: 52.5219, lon: 13.4132 }] })

export const MatchSchema = Type.Object({
  fields: Type.Array(Type.String(), { description: 'Fields that contain a search word.' }),
  snippet: Nullable(Type.String({ description: 'The first matching place in its original spelling.' }))
}, { $id: 'SearchMatch', description: 'Why a record matched the search `q`.', examples: [{ fields: ['name', 'alternateNames'], snippet: 'Familienzentrum Wattstraße' }] })

export const FacilitySchema = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String(),
  alternateNames: Type.Array(Type.String(), { description: 'Other names the sources use.' }),
  types: Type.Array(FacilityTypeSchema),
  operator: Nullable(ref(OrganisationRefSchema)),
  operatorNote: Nullable(Type.String({ description: 'Operator history or shared operation as stated by sources.' })),
  address: ref(AddressSchema),
  geo: Nullable(ref(GeoSchema)),
  phone: Nullable(Type.String()),
  fax: Nullable(Type.String()),
  email: Nullable(Type.String()),
  website: Nullable(Type.String()),
  openingHours: Type.Object({
    osm: Nullable(Type.String({ description: 'Structured hours in OpenStreetMap `opening_hours` syntax (evaluated in Europe/Berlin with Berlin public holidays); null where no source gives hours precise enough.', examples: ['Mo-Fr 09:00-17:00; PH off'] })),
    note: Nullable(Type.String({ description: 'Opening hours as a source gives them, with their date.' }))
  }, { description: 'Opening hours. Where they are unknown the facility is never reported open.' }),
  description: Nullable(Type.String()),
  partnership: Type.Object({
    status: PartnershipStatusSchema,
    evidence: Type.String({ description: 'What the evidence for the status is.' })
  }, { description: 'Relation to the 2018 cooperation agreement.' }),
  status: Vocabulary(FACILITY_STATUSES, { description: 'Operating status.' }),
  notes: Type.Array(Type.String()),
  targetGroups: Type.Array(ref(TargetGroupLinkSchema)),
  categories: Type.Array(Slug, { description: 'Categories of the facility\'s services.' }),
  serviceCount: Type.Integer({ minimum: 0 }),
  verifiedAt: Nullable(Timestamp),
  verifiedBy: Nullable(Type.String()),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  distance: Type.Optional(Type.Number({ minimum: 0, description: 'With `near`: distance in metres.' })),
  match: Type.Optional(ref(MatchSchema)),
  services: Type.Optional(Type.Array(ref(ServiceSchema), { description: 'With `include=services`.' })),
  contacts: Type.Optional(Type.Array(ref(ContactSchema), { description: 'With `include=contacts`: public contacts (internal ones too for keys with `contacts:read-internal`).' }))
}, {
  $id: 'Facility',
  description: 'A neighbourhood facility (Nachbarschaftseinrichtung) in Berlin-Mitte.',
  examples: [JSON.parse(readFileSync(projectPath('src', 'schemas', 'examples', 'facility.json'), 'utf8'))]
})
export type Facility = Static<typeof FacilitySchema>

export const FACILITY_SORTS = ['name', '-name', 'updatedAt', '-updatedAt', 'distance', 'relevance'] as const
export const FACILITY_INCLUDES = ['services', 'contacts', 'targetGroups'] as const
export const FACILITY_FIELDS = Object.keys(FacilitySchema.properties) as (keyof Facility)[]

const COORDINATE = '-?[0-9]{1,3}(?:\\.[0-9]{1,12})?'

export const FacilityListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Full-text search over names, alternate names, descriptions, services, target groups and categories; case-, umlaut- and ß-insensitive, every word as a prefix (`begegnungs`, `Wattstrasse`). Any text is allowed.', examples: ['Familienzentrum Wattstrasse'] })),
  type: Type.Optional(many(FacilityTypeSchema, 'Facility type.', true)),
  ortsteil: Type.Optional(many(Type.String({ minLength: 1, maxLength: 100 }), 'Ortsteil, e.g. `Moabit` (ASCII letters case-insensitive: `moabit`; umlauts as written).')),
  bezirksregion: Type.Optional(many(Type.String({ minLength: 1, maxLength: 100 }), 'Bezirksregion, e.g. `Tiergarten Süd` (ASCII letters case-insensitive; umlauts as written); only where a source states it.')),
  targetGroup: Type.Optional(many(Slug, 'Target group slug, e.g. `senioren`.', true)),
  category: Type.Optional(many(Slug, 'Service category slug, e.g. `beratung`.', true)),
  partnershipStatus: Type.Optional(many(PartnershipStatusSchema, 'Partnership status.')),
  match: Type.Optional(TaxonomyMatchSchema),
  operator: Type.Optional(many(Type.String({ minLength: 1, maxLength: 200 }), 'Operator organisation id or slug.')),
  near: Type.Optional(Type.String({ pattern: `^${COORDINATE},${COORDINATE}$`, description: '`lat,lon` (WGS 84): only facilities with known coordinates, with their `distance` in metres; sorts by distance unless `sort` says otherwise.', examples: ['52.5110,13.4070'] })),
  radius: Type.Optional(Type.Number({ minimum: 1, maximum: 100000, description: 'With `near`: the maximum distance in metres.', examples: [1500] })),
  bbox: Type.Optional(Type.String({ pattern: `^${COORDINATE},${COORDINATE},${COORDINATE},${COORDINATE}$`, description: '`minLon,minLat,maxLon,maxLat` (GeoJSON order): only facilities with known coordinates inside the box.', examples: ['13.36,52.50,13.42,52.55'] })),
  openAt: Type.Optional(Type.String({ format: 'date-time', description: 'Only facilities open at this instant (evaluated in Europe/Berlin, honouring Berlin public holidays). Facilities with unknown hours are never reported open.', examples: ['2026-03-11T10:00:00+01:00'] })),
  openNow: Type.Optional(Type.Boolean({ description: '`true`: only facilities open now (see `openAt`).' })),
  include: Type.Optional(Type.String({ pattern: `^(${FACILITY_INCLUDES.join('|')})(,(${FACILITY_INCLUDES.join('|')}))*$`, description: 'Embed related records: `services`, `contacts` (public ones; internal ones too for keys with `contacts:read-internal`), `targetGroups` (full vocabulary entries with descriptions); comma-separated.', examples: ['services,contacts'] })),
  fields: Type.Optional(Type.String({ pattern: '^[a-zA-Z]+(,[a-zA-Z]+)*$', maxLength: 500, description: `Sparse fieldset: comma-separated top-level fields (\`id\` is always returned). One of: ${FACILITY_FIELDS.join(', ')}.`, examples: ['id,slug,name,address'] })),
  sort: Type.Optional(Vocabulary(FACILITY_SORTS, { description: 'Sort order; a leading `-` is descending. `id` is always the final tie-break, so the order is stable. Default: `relevance` with `q`, `distance` with `near`, `updatedAt` with `updatedSince`, else `name`.' })),
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type FacilityListQuery = Static<typeof FacilityListQuery>

export const FacilityListItemSchema = listItemSchema(FacilitySchema, 'FacilityListItem')

export const FacilityListSchema = pageSchema(FacilityListItemSchema, 'A page of facilities.')

export const facilitySchemas = [AddressSchema, GeoSchema, MatchSchema, FacilitySchema, FacilityListItemSchema]

// --- Writes ------------------------------------------------------------------------------------

export const FacilityInputSchema = Type.Object({
  slug: Slug,
  name: InputText(300),
  alternateNames: Type.Array(InputText(300), { maxItems: 50, default: [] }),
  types: Type.Array(FacilityTypeSchema, { minItems: 1, maxItems: 10, uniqueItems: true }),
  operator: Nullable(InputText(200, 'Operator organisation id or slug.')),
  operatorNote: Nullable(InputText(2000)),
  address: Type.Object({
    street: Nullable(InputText(200)),
    postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
    city: Nullable(InputText(100)),
    ortsteil: Nullable(InputText(100)),
    bezirksregion: Nullable(InputText(100)),
    note: Nullable(InputText(2000))
  }, { additionalProperties: false }),
  geo: Nullable(Type.Object({
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 })
  }, { additionalProperties: false })),
  phone: Nullable(InputText(100)),
  fax: Nullable(InputText(100)),
  email: Nullable(Type.String({ format: 'email', maxLength: 254 })),
  // Sources sometimes print a web address without a scheme (www.example.de); it is kept as printed.
  website: Nullable(Type.String({ pattern: '^(https?://)?[^\\s/]+\\.[^\\s]+$', maxLength: 2000, description: 'Web address; `https://` recommended, a bare `www.…` is kept as a source printed it.' })),
  openingHours: Type.Object({
    osm: Nullable(InputText(500, 'OpenStreetMap opening_hours syntax.')),
    note: Nullable(InputText(2000))
  }, { additionalProperties: false }),
  description: Nullable(InputText(5000)),
  partnership: Type.Object({
    status: PartnershipStatusSchema,
    evidence: InputText(2000)
  }, { additionalProperties: false }),
  status: Vocabulary(FACILITY_STATUSES, { description: 'Operating status.' }),
  notes: Type.Array(InputText(2000), { maxItems: 50 }),
  targetGroups: Type.Array(TargetGroupLinkInputSchema, { maxItems: 50 }),
  sources: Type.Array(SourceInputSchema, { maxItems: 100 })
}, {
  $id: 'FacilityInput',
  additionalProperties: false,
  description: 'A facility as written by clients. Unknown facts are null; `sources` says where the facts come from.',
  examples: [{
    slug: 'nachbarschaftstreff-beispiel',
    name: 'Nachbarschaftstreff Beispielstraße',
    alternateNames: [],
    types: ['nachbarschaftstreff'],
    operator: 'stadtteilverein-tiergarten',
    operatorNote: null,
    address: { street: 'Beispielstraße 1', postcode: '10785', city: 'Berlin', ortsteil: 'Tiergarten', bezirksregion: null, note: null },
    geo: null,
    phone: null,
    fax: null,
    email: null,
    website: null,
    openingHours: { osm: 'Mo-Fr 10:00-16:00; PH off', note: null },
    description: 'Offener Treffpunkt für die Nachbarschaft.',
    partnership: { status: 'unknown', evidence: 'Keine Quelle verbindet die Einrichtung mit der Vereinbarung.' },
    status: 'active',
    notes: [],
    targetGroups: [{ targetGroup: 'nachbarschaft', originalWording: 'Nachbar*innen' }],
    sources: [{ url: 'https://example.org/quelle', title: 'Beispielquelle', facts: ['name', 'address'] }]
  }]
})
export type FacilityInput = Static<typeof FacilityInputSchema>

export const FacilityPatchSchema = mergePatchSchema(FacilityInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of a FacilityInput: only the members to change; `null` clears a member, nested objects merge, arrays are replaced. The merged record is validated as a whole (422).')

export const VerificationInputSchema = Type.Object({
  verifiedBy: Type.Optional(InputText(200, 'Who verified the record (a role or unit; default: the API key\'s name).'))
}, { additionalProperties: false })

export const facilityWriteSchemas = [FacilityInputSchema]

import { Type, type TSchema } from 'typebox'
import { Nullable, SourceSchema, ref } from './common.ts'

// The Open Referral HSDS 3.0 objects served under /hsds. HSDS lets objects carry fields it does not
// define, and so do these schemas (no additionalProperties: false); every field the mapping in
// src/formats/hsds.ts writes is listed, because the serializer writes only listed fields. HSDS has
// no null: unknown facts are absent.

const Uuid = (description: string) => Type.String({ format: 'uuid', description })
const Text = (description: string) => Type.String({ description })
const optional = <T extends TSchema>(schema: T) => Type.Optional(schema)
// Objects that contain each other (a service's organization lists services) refer back by $id.
const backRef = (id: string) => Type.Unsafe<object>({ $ref: `${id}#` })
const Sources = Type.Array(ref(SourceSchema), { description: 'Profile extension: the public sources of the record\'s facts.' })

const SOURCE_EXAMPLE = {
  url: 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php',
  title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020: Veranstaltung „Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen“',
  facts: ['name', 'named as participant of the event 11.03.2020']
}

export const HsdsTaxonomySchema = Type.Object({
  id: Uuid('Deterministic id of the taxonomy.'),
  name: Text('Name of the taxonomy.'),
  description: Text('What the taxonomy covers.'),
  uri: optional(Type.String({ format: 'uri' })),
  version: optional(Type.String())
}, {
  $id: 'HsdsTaxonomy',
  description: 'HSDS taxonomy: the directory\'s target groups (Zielgruppen) or service categories (Angebotskategorien).',
  examples: [{
    id: '3d58eb2b-93cf-5a99-836a-f9c1bd8bd8f3',
    name: 'Zielgruppen',
    description: 'Zielgruppen des Mitte Partner Directory (kontrolliertes Vokabular). Die Formulierung der Quelle steht im `value` des jeweiligen attribute.'
  }]
})

const SELBSTHILFE_TERM = {
  id: '5add1a43-b8bb-5bde-876b-e76ccbb1c78f',
  code: 'selbsthilfe',
  name: 'Selbsthilfe',
  description: 'Selbsthilfegruppen sowie deren Vermittlung, Gründung und Unterstützung.',
  taxonomy: 'Angebotskategorien',
  taxonomy_id: '2645099c-7ef0-53e6-ae3d-21eaa9fc92a1',
  language: 'de',
  label_en: 'Self-help'
}

export const HsdsTaxonomyTermSchema = Type.Object({
  id: Uuid('The id of the target group or category in /v1.'),
  code: optional(Text('The slug of the vocabulary entry.')),
  name: Text('German label.'),
  description: Text('What the entry covers (German).'),
  parent_id: optional(Uuid('Parent term (the directory\'s taxonomies are flat, so never set).')),
  taxonomy: optional(Text('Name of the taxonomy.')),
  taxonomy_id: optional(Uuid('The taxonomy the term belongs to.')),
  language: optional(Text('Language of the term (ISO 639-1).')),
  term_uri: optional(Type.String({ format: 'uri' })),
  label_en: optional(Text('Profile extension: English label.')),
  taxonomy_detail: optional(ref(HsdsTaxonomySchema))
}, {
  $id: 'HsdsTaxonomyTerm',
  description: 'HSDS taxonomy_term: a target group or a service category of the directory, with its id.',
  examples: [SELBSTHILFE_TERM]
})

export const HsdsAttributeSchema = Type.Object({
  id: Uuid('Deterministic id of the link.'),
  link_id: optional(Uuid('The service or location the term applies to.')),
  link_type: optional(Text('`audience` (a target group) or `category` (a service category).')),
  link_entity: optional(Text('`service` or `location`.')),
  taxonomy_term_id: optional(Uuid('The term.')),
  value: optional(Text('For a target group: the source\'s own wording.')),
  taxonomy_term: optional(ref(HsdsTaxonomyTermSchema))
}, {
  $id: 'HsdsAttribute',
  description: 'HSDS attribute: links a taxonomy term to a service or location.',
  examples: [{
    id: '5c4c2060-d8e7-52b6-bae9-af3b4717987d',
    link_id: 'd2d92875-6240-5f30-bcd2-0163b0d9c5c4',
    link_type: 'category',
    link_entity: 'service',
    taxonomy_term_id: SELBSTHILFE_TERM.id,
    taxonomy_term: SELBSTHILFE_TERM
  }]
})

export const HsdsPhoneSchema = Type.Object({
  id: Uuid('Deterministic id of the number.'),
  location_id: optional(Uuid('The location (facility) of the number.')),
  service_id: optional(Uuid('The service of the number.')),
  organization_id: optional(Uuid('The organization of the number.')),
  contact_id: optional(Uuid('The contact of the number.')),
  number: Text('The number as published.'),
  type: optional(Text('`fax` for fax numbers; otherwise absent.')),
  description: optional(Type.String())
}, {
  $id: 'HsdsPhone',
  description: 'HSDS phone.',
  examples: [{ id: 'cffb39da-5633-544a-a3e4-f915e06e69b6', location_id: '645e8249-1972-5756-951a-0106b9a62b19', number: '030 / 238 09 13' }]
})

export const HsdsAddressSchema = Type.Object({
  id: Uuid('Deterministic id of the address.'),
  location_id: optional(Uuid('The location.')),
  address_1: Text('Street and house number (empty where no source gives them).'),
  address_2: optional(Type.String()),
  city: Text('City (empty where no source gives it).'),
  region: optional(Text('The Ortsteil, where a source states it.')),
  state_province: Text('`Berlin` for addresses in the city-state Berlin.'),
  postal_code: Text('Postcode (empty where no source gives it).'),
  country: Text('ISO 3166-1 country code: `DE` for addresses in Berlin.'),
  address_type: Text('Always `physical`.'),
  bezirksregion: optional(Text('Profile extension: Bezirksregion (planning region), where a source states it.')),
  note: optional(Text('Profile extension: what the sources say about the address.'))
}, {
  $id: 'HsdsAddress',
  description: 'HSDS address of a facility or site. Required parts no source gives are empty strings.',
  examples: [{
    id: '90b1bb86-a639-57bd-9ca0-983a76361eda',
    location_id: '645e8249-1972-5756-951a-0106b9a62b19',
    address_1: 'Fischerinsel 3',
    city: 'Berlin',
    region: 'Mitte',
    state_province: 'Berlin',
    postal_code: '10179',
    country: 'DE',
    address_type: 'physical'
  }]
})

export const HsdsScheduleSchema = Type.Object({
  id: Uuid('Deterministic id of the schedule.'),
  service_id: optional(Uuid('The service.')),
  location_id: optional(Uuid('The location.')),
  description: optional(Text('When, as a source gives it (free text with its date).')),
  opening_hours: optional(Text('Profile extension: opening hours in OpenStreetMap `opening_hours` syntax (Europe/Berlin).'))
}, {
  $id: 'HsdsSchedule',
  description: 'HSDS schedule: the times a source gives, as free text.',
  examples: [{ id: 'b00ddd88-5672-56d4-867c-4cf9b270d38d', service_id: '69a035a7-fc3a-5cd3-98b2-cff30469684e', description: 'dienstags und freitags (Stand 2019)' }]
})

export const HsdsContactSchema = Type.Object({
  id: Uuid('The contact\'s id in /v1, or a deterministic id for a facility\'s email.'),
  organization_id: optional(Uuid('The organization.')),
  service_id: optional(Uuid('The service.')),
  location_id: optional(Uuid('The location (facility).')),
  name: optional(Text('Name of the person.')),
  title: optional(Text('Role as the sources state it.')),
  department: optional(Type.String()),
  email: optional(Type.String({ format: 'email' })),
  phones: optional(Type.Array(ref(HsdsPhoneSchema))),
  as_of: optional(Text('Profile extension: year (or span) the contact data is stated for.')),
  sources: optional(Sources)
}, {
  $id: 'HsdsContact',
  description: 'HSDS contact: a public contact person, or the email address of a facility (without a name).',
  examples: [{
    id: '6e13e858-9d52-5cfb-ac06-a602dd95f46d',
    organization_id: 'dd483766-6cd9-555c-8e23-4b4b806bcbab',
    name: 'Petra Patz-Drüke',
    title: 'Leiterin der Sozialraumorientierten Planungskoordination, Bezirksamt Mitte; Ansprechpartnerin für die Veranstaltung am 11.03.2020',
    phones: [{ id: '3fd3cfa1-6d3d-5502-bdd7-6fe862e30679', contact_id: '6e13e858-9d52-5cfb-ac06-a602dd95f46d', number: '(030) 9018-42390' }],
    as_of: '2020',
    sources: [{ ...SOURCE_EXAMPLE, facts: ['contact for the event', 'phone'] }]
  }]
})

const KREATIVHAUS_LOCATION = {
  id: '645e8249-1972-5756-951a-0106b9a62b19',
  location_type: 'physical',
  url: 'https://www.kreativhaus-berlin.de/',
  organization_id: '85154ad5-cbb5-5eac-b040-24d421954637',
  name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)',
  alternate_name: 'Kreativhaus; Kreativhaus auf der Fischerinsel',
  directory_status: 'active',
  partnership: {
    status: 'participant',
    evidence: 'In der Pressemitteilung Nr. 067/2020 des Bezirksamts Mitte und in der Berliner Woche (2020) unter den teilnehmenden Nachbarschaftseinrichtungen des Treffens am 11.03.2020 genannt.'
  },
  notes: ['Sitz der Stadtteilkoordination für die Bezirksregionen Alexanderplatz und Regierungsviertel.'],
  sources: [SOURCE_EXAMPLE]
}

export const HsdsLocationSchema = Type.Object({
  id: Uuid('The facility\'s (or site\'s) id in /v1.'),
  location_type: Text('Always `physical`.'),
  url: optional(Type.String({ format: 'uri', description: 'The facility\'s website.' })),
  organization_id: optional(Uuid('Operator of the facility, or the organization that stands for it.')),
  name: Text('Name.'),
  alternate_name: optional(Text('Other names the sources use, separated by `; `.')),
  description: optional(Type.String()),
  latitude: optional(Type.Number()),
  longitude: optional(Type.Number()),
  directory_status: optional(Text('Profile extension: the record\'s status in the directory.')),
  partnership: optional(Type.Object({
    status: Text('`participant`, `probable` or `unknown`.'),
    evidence: Text('What the evidence for the status is.')
  }, { description: 'Profile extension: relation of the facility to the 2018 cooperation agreement.' })),
  operator_note: optional(Text('Profile extension: operator history or shared operation as sources state it.')),
  notes: optional(Type.Array(Type.String(), { description: 'Profile extension: what the sources say beyond the fields.' })),
  sources: optional(Sources),
  addresses: optional(Type.Array(ref(HsdsAddressSchema))),
  phones: optional(Type.Array(ref(HsdsPhoneSchema))),
  contacts: optional(Type.Array(ref(HsdsContactSchema))),
  schedules: optional(Type.Array(ref(HsdsScheduleSchema))),
  attributes: optional(Type.Array(ref(HsdsAttributeSchema)))
}, {
  $id: 'HsdsLocation',
  description: 'HSDS location: a facility (or a site of an organisation).',
  examples: [KREATIVHAUS_LOCATION]
})

const FIPP_ORGANIZATION = {
  id: '85154ad5-cbb5-5eac-b040-24d421954637',
  name: 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)',
  alternate_name: 'FiPP e.V.; Fortbildungsinstitut für die pädagogische Praxis',
  description: 'Freier Träger, der im Bezirk Mitte sozial-kulturelle Nachbarschafts- und Gemeinwesenarbeit leistet.',
  legal_status: 'e.V.',
  kind: 'operator',
  notes: [],
  sources: [SOURCE_EXAMPLE]
}

export const HsdsOrganizationSchema = Type.Object({
  id: Uuid('The organisation\'s id in /v1, or the facility\'s id for a facility without a known operator.'),
  name: Text('Name.'),
  alternate_name: optional(Text('Other names the sources use, separated by `; `.')),
  description: Text('Description (empty where none is known).'),
  email: optional(Type.String({ format: 'email' })),
  website: optional(Type.String({ format: 'uri' })),
  legal_status: optional(Text('Legal form as the sources state it, e.g. `e.V.`.')),
  kind: optional(Text('Profile extension: `district_office`, `jobcenter`, `operator`, or `facility` (stands for a facility without a known operator).')),
  notes: optional(Type.Array(Type.String(), { description: 'Profile extension: what the sources say beyond the fields.' })),
  sources: optional(Sources),
  phones: optional(Type.Array(ref(HsdsPhoneSchema))),
  contacts: optional(Type.Array(ref(HsdsContactSchema))),
  locations: optional(Type.Array(ref(HsdsLocationSchema), { description: 'Facilities it operates and its sites.' })),
  services: optional(Type.Array(backRef('HsdsService'), { description: 'Profile extension (HSDS API): its services; full with `full_service=true`.' }))
}, {
  $id: 'HsdsOrganization',
  description: 'HSDS organization: the district office, the JobCenter, an operator (Träger), or a facility without a known operator.',
  examples: [FIPP_ORGANIZATION]
})

const SERVICE_EXAMPLE = {
  id: 'e359187f-f16e-55f5-8244-df5dca7c6a33',
  organization_id: FIPP_ORGANIZATION.id,
  name: 'Seniorenangebote',
  description: 'Für Ältere gibt es Gymnastik, Lachyoga, Englischkurse, Chöre und Gedächtnistraining.',
  status: 'inactive',
  last_modified: '2026-11-21T09:00:00.000Z',
  directory_status: 'unverified',
  as_of: '2017',
  sources: [{ url: 'http://www.tagesspiegel.de/berlin/gemeinsame-sache-aktionstage-am-8-9-september-kreativhaus-mitte-bietet-100-verschiedene-aktivitaeten/20268014.html', title: 'Tagesspiegel (2017-08): Kreativhaus Mitte bietet 100 verschiedene Aktivitäten', facts: ['offers'] }],
  organization: FIPP_ORGANIZATION
}

export const HsdsServiceAtLocationSchema = Type.Object({
  id: Uuid('Deterministic id (from the service id).'),
  service_id: optional(Uuid('The service.')),
  location_id: optional(Uuid('The location (facility).')),
  description: optional(Type.String()),
  location: optional(ref(HsdsLocationSchema)),
  service: optional(backRef('HsdsService'))
}, {
  $id: 'HsdsServiceAtLocation',
  description: 'HSDS service_at_location: a service at its facility (each service runs at exactly one).',
  examples: [{
    id: 'd0ee29ef-10ae-52c0-b2ad-984d23127ffe',
    service_id: SERVICE_EXAMPLE.id,
    location_id: KREATIVHAUS_LOCATION.id,
    location: KREATIVHAUS_LOCATION,
    service: SERVICE_EXAMPLE
  }]
})

export const HsdsServiceSchema = Type.Object({
  id: Uuid('The service\'s id in /v1.'),
  organization_id: optional(Uuid('Operator of the service\'s facility, or the organization that stands for the facility.')),
  name: Text('Name.'),
  description: optional(Type.String()),
  url: optional(Type.String({ format: 'uri' })),
  email: optional(Type.String({ format: 'email' })),
  status: Type.Unsafe<'active' | 'inactive' | 'defunct' | 'temporarily closed'>({
    type: 'string',
    enum: ['active', 'inactive', 'defunct', 'temporarily closed'],
    description: 'From the directory status: active → active, unverified → inactive, historic → defunct.'
  }),
  eligibility_description: optional(Type.String()),
  fees_description: optional(Text('Costs or fees, as a source gives them.')),
  last_modified: Type.String({ format: 'date-time', description: 'Latest change of the service or anything it is built from (facility, operator, category, target groups, contacts).' }),
  directory_status: optional(Text('Profile extension: `active`, `unverified` or `historic`.')),
  as_of: optional(Text('Profile extension: year (or span) the source describes the offer for.')),
  sources: optional(Sources),
  organization: optional(ref(HsdsOrganizationSchema)),
  service_at_locations: optional(Type.Array(ref(HsdsServiceAtLocationSchema))),
  schedules: optional(Type.Array(ref(HsdsScheduleSchema))),
  attributes: optional(Type.Array(ref(HsdsAttributeSchema)))
}, {
  $id: 'HsdsService',
  description: 'HSDS service: an offer (Angebot) of a facility.',
  examples: [SERVICE_EXAMPLE]
})

const PAGE_EXAMPLE = { total_items: 115, total_pages: 115, page_number: 1, size: 1, first_page: true, last_page: false, empty: false }

function pageOf (item: TSchema, $id: string, what: string) {
  const examples = (item as { examples?: unknown[] }).examples ?? []
  return Type.Object({
    total_items: Type.Integer({ minimum: 0, description: 'Number of objects matching the request.' }),
    total_pages: Type.Integer({ minimum: 0, description: 'Number of pages.' }),
    page_number: Type.Integer({ minimum: 1, description: 'This page (1-based).' }),
    size: Type.Integer({ minimum: 0, description: 'Number of objects in `contents`.' }),
    first_page: Type.Boolean(),
    last_page: Type.Boolean(),
    empty: Type.Boolean({ description: 'Whether `contents` is empty.' }),
    contents: Type.Array(ref(item))
  }, {
    $id,
    description: `HSDS page of ${what}.`,
    examples: [{ ...PAGE_EXAMPLE, contents: examples.slice(0, 1) }]
  })
}

export const HsdsServicePageSchema = pageOf(HsdsServiceSchema, 'HsdsServicePage', 'services')
export const HsdsOrganizationPageSchema = pageOf(HsdsOrganizationSchema, 'HsdsOrganizationPage', 'organizations')
export const HsdsServiceAtLocationPageSchema = pageOf(HsdsServiceAtLocationSchema, 'HsdsServiceAtLocationPage', 'service_at_locations')
export const HsdsTaxonomyPageSchema = pageOf(HsdsTaxonomySchema, 'HsdsTaxonomyPage', 'taxonomies')
export const HsdsTaxonomyTermPageSchema = pageOf(HsdsTaxonomyTermSchema, 'HsdsTaxonomyTermPage', 'taxonomy_terms')

export const HsdsRootSchema = Type.Object({
  version: Text('HSDS version of this API.'),
  profile: Type.String({ format: 'uri', description: 'URL of this API\'s HSDS profile.' }),
  openapi_url: Type.String({ format: 'uri', description: 'URL of the OpenAPI document of this API.' })
}, {
  $id: 'HsdsRoot',
  description: 'HSDS API information.',
  examples: [{ version: '3.0', profile: 'http://127.0.0.1:3000/hsds/profile', openapi_url: 'http://127.0.0.1:3000/openapi.json' }]
})

export const HsdsProfileSchema = Type.Object({
  name: Type.String(),
  hsds_version: Type.String(),
  description: Type.String(),
  specification: Type.String({ description: 'The HSDS documentation.' }),
  native_api: Type.String({ description: 'The directory\'s own API, with every fact and its sources.' }),
  mapping: Type.Array(Type.Object({ hsds: Type.String(), from: Type.String(), rule: Type.String() }), { description: 'Which HSDS objects come from which records, and how.' }),
  extensions: Type.Array(Type.Object({ object: Type.String(), field: Type.String(), description: Type.String() }), { description: 'Fields this profile adds to HSDS objects.' }),
  conventions: Type.Array(Type.String(), { description: 'Rules that apply to every response.' }),
  agreements: Type.Array(Type.Object({
    id: Type.String({ format: 'uuid' }),
    title: Type.String(),
    signed_date: Nullable(Type.String({ format: 'date' })),
    url: Type.String(),
    description: Type.String()
  }), { description: 'The cooperation agreement(s) the partnership extension refers to.' })
}, {
  $id: 'HsdsProfile',
  description: 'The HSDS profile of this API: the mapping from the directory and its additions to HSDS 3.0.',
  examples: [{
    name: 'Mitte Partner Directory – HSDS 3.0 profile',
    hsds_version: '3.0',
    description: 'The partners of the Kooperationsvereinbarung of 27 June 2018, served as Open Referral HSDS 3.0 under /hsds.',
    specification: 'https://docs.openreferral.org/en/latest/',
    native_api: '/v1',
    mapping: [{ hsds: 'location', from: '/v1/facilities', rule: 'Every facility, with its id.' }],
    extensions: [{ object: 'location', field: 'partnership', description: 'Relation of the facility to the 2018 agreement.' }],
    conventions: ['Unknown facts are left out (HSDS has no null).'],
    agreements: [{
      id: '68dbae1d-4a9b-5e2e-aa5e-3da11723ef4c',
      title: 'Kooperationsvereinbarung zwischen Bezirksamt Mitte, JobCenter (Berlin) Mitte und Nachbarschaftseinrichtungen im Bezirk Mitte',
      signed_date: '2018-06-27',
      url: '/v1/agreements/kooperationsvereinbarung-2018',
      description: 'The cooperation agreement as data.'
    }]
  }]
})

// --- Parameters -------------------------------------------------------------------------------

const ids = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50, description: `${description} Repeat the parameter for OR.` })

export const HsdsPaging = {
  page: Type.Integer({ minimum: 1, maximum: 100000, default: 1, description: 'Page number (1-based).' }),
  per_page: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Objects per page (1–500).' })
}

const search = Type.Optional(Type.String({ maxLength: 200, description: 'Full-text search: case-, umlaut- and ß-insensitive, every word a prefix.', examples: ['selbsthil'] }))
const full = Type.Optional(Type.Boolean({ description: '`true`: fully nested objects.' }))
const minimal = Type.Optional(Type.Boolean({ description: '`true`: HSDS core fields only (cannot be combined with `full`).' }))

export const HsdsServiceListQuery = Type.Object({
  search,
  taxonomy_term_id: Type.Optional(ids('Only services with this taxonomy term (target group or category id).')),
  taxonomy_id: Type.Optional(ids('Only services with a term of this taxonomy.')),
  organization_id: Type.Optional(ids('Only services of this organization.')),
  modified_after: Type.Optional(Type.String({ format: 'date-time', description: 'Only services whose `last_modified` is at or after this instant.', examples: ['2026-01-01T00:00:00Z'] })),
  full,
  minimal,
  ...HsdsPaging
}, { additionalProperties: false })

export const HsdsOrganizationListQuery = Type.Object({
  search,
  full,
  full_service: Type.Optional(Type.Boolean({ description: 'With `full`: the organizations\' services fully nested.' })),
  minimal,
  ...HsdsPaging
}, { additionalProperties: false })

export const HsdsOrganizationQuery = Type.Object({
  full_service: Type.Optional(Type.Boolean({ description: '`true`: the organization\'s services fully nested.' }))
}, { additionalProperties: false })

export const HsdsTaxonomyListQuery = Type.Object({
  search,
  ...HsdsPaging
}, { additionalProperties: false })

export const HsdsTaxonomyTermListQuery = Type.Object({
  search,
  taxonomy_id: Type.Optional(ids('Only terms of this taxonomy.')),
  top_only: Type.Optional(Type.Boolean({ description: 'Only top-level terms (the directory\'s taxonomies are flat: all of them).' })),
  parent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only children of this term (the taxonomies are flat: none).' })),
  ...HsdsPaging
}, { additionalProperties: false })

export const hsdsSchemas = [
  HsdsTaxonomySchema,
  HsdsTaxonomyTermSchema,
  HsdsAttributeSchema,
  HsdsPhoneSchema,
  HsdsAddressSchema,
  HsdsScheduleSchema,
  HsdsContactSchema,
  HsdsLocationSchema,
  HsdsOrganizationSchema,
  HsdsServiceAtLocationSchema,
  HsdsServiceSchema,
  HsdsServicePageSchema,
  HsdsOrganizationPageSchema,
  HsdsServiceAtLocationPageSchema,
  HsdsTaxonomyPageSchema,
  HsdsTaxonomyTermPageSchema,
  HsdsRootSchema,
  HsdsProfileSchema
]

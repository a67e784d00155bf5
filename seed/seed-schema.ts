import { Type, type Static, type TUnsafe } from 'typebox'
import {
  CONTACT_VISIBILITIES, FACILITY_STATUSES, FACILITY_TYPES, ORGANISATION_KINDS, ORGANISATION_UNIT_KINDS,
  PARTNERSHIP_STATUSES, PARTY_CONFIRMATIONS, PARTY_ROLES, SERVICE_STATUSES, SITE_STATUSES
} from '../src/domain/vocabulary.ts'

// The seed files in seed/data/ are written by hand from ../shared/data/partners-research.json and
// ../shared/sources/. Records refer to each other by slug; seed.ts derives the UUIDs.

const Slug = Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })
const Text = Type.String({ minLength: 1 })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const Vocab = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnsafe<T[number]>

// A reference into seed/data/sources.json plus the facts that source supports for this record.
export const SeedSourceRef = Type.Object({
  source: Slug,
  facts: Type.Array(Text, { minItems: 1 })
}, { additionalProperties: false })

const Sources = Type.Array(SeedSourceRef, { minItems: 1 })

export const SeedSourceCatalogue = Type.Record(Type.String(), Type.Object({
  url: Type.String({ pattern: '^https?://' }),
  title: Text
}, { additionalProperties: false }))

export const SeedVocabularyEntry = Type.Object({
  slug: Slug,
  labelDe: Text,
  labelEn: Text,
  description: Text
}, { additionalProperties: false })

const TargetGroupLink = Type.Object({
  targetGroup: Slug,
  originalWording: Text
}, { additionalProperties: false })

export const SeedOrganisation = Type.Object({
  slug: Slug,
  kind: Vocab(ORGANISATION_KINDS),
  name: Text,
  alternateNames: Type.Array(Text),
  description: Nullable(Text),
  legalForm: Nullable(Text),
  website: Nullable(Text),
  email: Nullable(Text),
  phone: Nullable(Text),
  street: Nullable(Text),
  postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
  city: Nullable(Text),
  ortsteil: Nullable(Text),
  notes: Type.Array(Text),
  sources: Sources,
  units: Type.Array(Type.Object({
    slug: Slug,
    kind: Vocab(ORGANISATION_UNIT_KINDS),
    name: Text,
    description: Nullable(Text),
    website: Nullable(Text),
    phone: Nullable(Text),
    notes: Type.Array(Text),
    sources: Sources
  }, { additionalProperties: false })),
  sites: Type.Array(Type.Object({
    slug: Slug,
    name: Text,
    status: Vocab(SITE_STATUSES),
    street: Nullable(Text),
    postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
    city: Nullable(Text),
    ortsteil: Nullable(Text),
    geo: Type.Null(),
    description: Nullable(Text),
    notes: Type.Array(Text),
    sources: Sources
  }, { additionalProperties: false }))
}, { additionalProperties: false })

export const SeedService = Type.Object({
  key: Slug,
  name: Text,
  description: Nullable(Text),
  category: Slug,
  scheduleNote: Nullable(Text),
  feeNote: Nullable(Text),
  asOf: Nullable(Type.String({ pattern: '^[0-9]{4}(/[0-9]{4})?$' })),
  status: Vocab(SERVICE_STATUSES),
  targetGroups: Type.Array(TargetGroupLink),
  sources: Sources
}, { additionalProperties: false })

export const SeedFacility = Type.Object({
  slug: Slug,
  name: Text,
  alternateNames: Type.Array(Text),
  types: Type.Array(Vocab(FACILITY_TYPES), { minItems: 1 }),
  operator: Nullable(Slug),
  operatorNote: Nullable(Text),
  address: Type.Object({
    street: Nullable(Text),
    postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
    city: Nullable(Text),
    ortsteil: Nullable(Text),
    bezirksregion: Nullable(Text),
    note: Nullable(Text)
  }, { additionalProperties: false }),
  geo: Type.Null(),
  phone: Nullable(Text),
  fax: Nullable(Text),
  email: Nullable(Text),
  website: Nullable(Text),
  openingHoursNote: Nullable(Text),
  description: Text,
  partnership: Type.Object({
    status: Vocab(PARTNERSHIP_STATUSES),
    evidence: Text
  }, { additionalProperties: false }),
  status: Vocab(FACILITY_STATUSES),
  notes: Type.Array(Text),
  sources: Sources,
  targetGroups: Type.Array(TargetGroupLink),
  services: Type.Array(SeedService)
}, { additionalProperties: false })

export const SeedContact = Type.Object({
  key: Slug,
  name: Text,
  role: Text,
  organisation: Nullable(Slug),
  facility: Nullable(Slug),
  phone: Nullable(Text),
  email: Nullable(Text),
  visibility: Vocab(CONTACT_VISIBILITIES),
  asOf: Nullable(Type.String({ pattern: '^[0-9]{4}(/[0-9]{4})?$' })),
  sources: Sources
}, { additionalProperties: false })

export const SeedAgreement = Type.Object({
  slug: Slug,
  title: Text,
  titleNote: Nullable(Text),
  summary: Text,
  announcedOn: Nullable(Type.String({ format: 'date' })),
  announcementNote: Nullable(Text),
  signedOn: Nullable(Type.String({ format: 'date' })),
  signedTime: Nullable(Type.String({ pattern: '^[0-2][0-9]:[0-5][0-9]$' })),
  signedPlace: Nullable(Text),
  signedNote: Nullable(Text),
  declaredPartnerCounts: Type.Array(Type.Object({
    value: Type.Integer({ minimum: 0 }),
    note: Text,
    sources: Sources
  }, { additionalProperties: false })),
  partnerCountNote: Nullable(Text),
  aims: Type.Array(Text),
  commitments: Type.Array(Text),
  rationale: Type.Array(Text),
  outcome: Nullable(Type.Object({
    date: Type.String({ format: 'date' }),
    summary: Text,
    sources: Sources
  }, { additionalProperties: false })),
  statusNotes: Type.Array(Text),
  documentTextFound: Type.Boolean(),
  signatoryListFound: Type.Boolean(),
  sources: Sources,
  parties: Type.Array(Type.Object({
    key: Slug,
    role: Vocab(PARTY_ROLES),
    organisation: Nullable(Slug),
    facility: Nullable(Slug),
    name: Text,
    confirmation: Vocab(PARTY_CONFIRMATIONS),
    evidence: Text,
    sources: Sources
  }, { additionalProperties: false })),
  events: Type.Array(Type.Object({
    slug: Slug,
    title: Text,
    description: Nullable(Text),
    // ISO 8601 with the Europe/Berlin offset in force on that day, e.g. 2020-03-11T09:00:00+01:00
    startsAt: Type.String({ format: 'date-time' }),
    endsAt: Nullable(Type.String({ format: 'date-time' })),
    timeZone: Type.Literal('Europe/Berlin'),
    locationName: Nullable(Text),
    street: Nullable(Text),
    postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
    city: Nullable(Text),
    site: Nullable(Slug),
    sources: Sources,
    participants: Type.Array(Type.Object({
      name: Text,
      organisation: Nullable(Slug),
      facility: Nullable(Slug)
    }, { additionalProperties: false }))
  }, { additionalProperties: false }))
}, { additionalProperties: false })

export type SeedSourceCatalogue = Static<typeof SeedSourceCatalogue>
export type SeedVocabularyEntry = Static<typeof SeedVocabularyEntry>
export type SeedOrganisation = Static<typeof SeedOrganisation>
export type SeedFacility = Static<typeof SeedFacility>
export type SeedService = Static<typeof SeedService>
export type SeedContact = Static<typeof SeedContact>
export type SeedAgreement = Static<typeof SeedAgreement>

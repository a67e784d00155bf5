import { Type, type Static } from 'typebox'
import { FACILITY_STATUSES, FACILITY_TYPES, PARTNERSHIP_STATUSES } from '../domain/vocabulary.ts'
import {
  Id, ListMeta, Nullable, OrganisationRefSchema, Pagination, Slug, Sources, TargetGroupLinkSchema, Timestamp,
  Vocabulary, ref
} from './common.ts'

export const FacilityTypeSchema = Vocabulary(FACILITY_TYPES, { description: 'Facility type (controlled list).' })
export const PartnershipStatusSchema = Vocabulary(PARTNERSHIP_STATUSES, {
  description: '`participant`: a source names it as a partner facility; `probable`: inferred, no source names it; `unknown`: no link to the agreement found.'
})

export const AddressSchema = Type.Object({
  street: Nullable(Type.String()),
  postcode: Nullable(Type.String()),
  city: Nullable(Type.String()),
  ortsteil: Nullable(Type.String({ description: 'Ortsteil (locality) of Bezirk Mitte.' })),
  bezirksregion: Nullable(Type.String({ description: 'Bezirksregion (planning region) where a source states it.' })),
  note: Nullable(Type.String({ description: 'What the sources say beyond the fields, e.g. former addresses.' }))
}, { $id: 'Address', description: 'Postal address as far as sources state it; unknown parts are null.' })

export const GeoSchema = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lon: Type.Number({ minimum: -180, maximum: 180 })
}, { $id: 'Geo', description: 'WGS 84 coordinates.' })

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
    note: Nullable(Type.String({ description: 'Opening hours as a source gives them, with their date.' }))
  }),
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
  updatedAt: Timestamp
}, {
  $id: 'Facility',
  description: 'A neighbourhood facility (Nachbarschaftseinrichtung) in Berlin-Mitte.'
})
export type Facility = Static<typeof FacilitySchema>

const many = <T extends Parameters<typeof Type.Array>[0]>(item: T, description: string) =>
  Type.Array(item, { description: `${description} Repeat the parameter for OR.`, maxItems: 50 })

export const FacilityListQuery = Type.Object({
  type: Type.Optional(many(FacilityTypeSchema, 'Facility type.')),
  ortsteil: Type.Optional(many(Type.String({ minLength: 1, maxLength: 100 }), 'Ortsteil, e.g. `Moabit` (case-insensitive).')),
  targetGroup: Type.Optional(many(Slug, 'Target group slug, e.g. `senioren`.')),
  category: Type.Optional(many(Slug, 'Service category slug, e.g. `beratung`.')),
  partnershipStatus: Type.Optional(many(PartnershipStatusSchema, 'Partnership status.')),
  operator: Type.Optional(many(Type.String({ minLength: 1, maxLength: 200 }), 'Operator organisation id or slug.')),
  ...Pagination
}, { additionalProperties: false })
export type FacilityListQuery = Static<typeof FacilityListQuery>

export const FacilityListSchema = Type.Object({
  ...ListMeta,
  items: Type.Array(ref(FacilitySchema))
}, { description: 'A page of facilities, sorted by name.' })

export const facilitySchemas = [AddressSchema, GeoSchema, FacilitySchema]

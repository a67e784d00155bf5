import { Type, type Static } from 'typebox'
import {
  CategoryRefSchema, FacilityRefSchema, Id, Nullable, Pagination, Slug, SyncQuery, Timestamp, Vocabulary, listItemSchema,
  mergePatchSchema, pageSchema, ref,
  InputText
} from './common.ts'

const vocabularyEntry = {
  id: Id,
  slug: Slug,
  labelDe: Type.String({ description: 'German label.' }),
  labelEn: Type.String({ description: 'English label.' }),
  description: Type.String({ description: 'What the entry covers (German).' })
}

const targetGroupProperties = {
  ...vocabularyEntry,
  facilityCount: Type.Integer({
    minimum: 0,
    description: 'Facilities serving the group: those naming it themselves plus those with a service naming it, each counted once. Equals the `total` of `GET /v1/facilities?targetGroup={slug}`.'
  }),
  serviceCount: Type.Integer({
    minimum: 0,
    description: 'Services naming the group. Equals the `total` of `GET /v1/services?targetGroup={slug}`.'
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}

export const TargetGroupSchema = Type.Object(targetGroupProperties, {
  $id: 'TargetGroup',
  description: 'A target group of the controlled vocabulary. Sources\' own wordings (e.g. „Menschen mit Migrationshintergrund“) are mapped onto these entries; the wording is kept on each link.',
  examples: [{
    id: '61c226f7-9c35-5a3d-889e-50bf7ea6be13',
    slug: 'eltern',
    labelDe: 'Eltern',
    labelEn: 'Parents',
    description: 'Mütter und Väter in ihrer Rolle als Eltern.',
    facilityCount: 2,
    serviceCount: 3,
    createdAt: '2026-11-21T09:00:00.000Z',
    updatedAt: '2026-11-21T09:00:00.000Z'
  }]
})
export type TargetGroup = Static<typeof TargetGroupSchema>

export const TargetGroupListItemSchema = listItemSchema(TargetGroupSchema, 'TargetGroupListItem')

export const TargetGroupListSchema = pageSchema(TargetGroupListItemSchema, 'A page of the target-group vocabulary, by default sorted by slug.')

export const TargetGroupLinkVia = Vocabulary(['facility', 'service'] as const, {
  description: '`facility`: the facility names the group itself; `service`: at least one of its services names it.'
})

// The examples use real seed records so the docs show what the API really returns.
const wattstrasse = { id: '6a9ca614-7b87-5a36-8cd1-8c35a287a55f', slug: 'familienzentrum-wattstrasse', name: 'Familienzentrum Wattstraße' }
const begegnung = { id: 'f939e12b-c872-50e4-8c1e-136b47612d93', slug: 'begegnung', labelDe: 'Begegnung', labelEn: 'Meeting and socialising' }
const familie = { id: 'e760e6ae-a2f3-5de1-880d-1a33f710ff00', slug: 'familie', labelDe: 'Familie', labelEn: 'Family' }

export const TargetGroupFacilitySchema = Type.Object({
  facility: ref(FacilityRefSchema),
  via: Type.Array(TargetGroupLinkVia, { minItems: 1, maxItems: 2, description: 'How the facility is linked to the group.' }),
  originalWording: Nullable(Type.String({
    description: 'The facility\'s own wording for the group; null when only its services name it (see their wording under `services`).'
  })),
  serviceCount: Type.Integer({ minimum: 0, description: 'How many of its services name the group; they are listed under `services`.' })
}, {
  $id: 'TargetGroupFacility',
  description: 'A facility serving a target group, directly or through its services.',
  examples: [{ facility: wattstrasse, via: ['facility', 'service'], originalWording: 'Eltern/Mütter; Väter', serviceCount: 3 }]
})

export const TargetGroupServiceSchema = Type.Object({
  id: Id,
  name: Type.String(),
  category: ref(CategoryRefSchema),
  facility: ref(FacilityRefSchema),
  originalWording: Type.String({ description: 'The source\'s wording for the group in this service.' })
}, {
  $id: 'TargetGroupService',
  description: 'A service naming a target group. The full record is at `/v1/services/{id}`.',
  examples: [{ id: '1f6c72d7-4b13-5ac0-b198-dc1d01012725', name: 'Vätergruppe', category: familie, facility: wattstrasse, originalWording: 'Vätergruppe' }]
})

export const TargetGroupDetailSchema = Type.Object({
  ...targetGroupProperties,
  facilities: Type.Array(ref(TargetGroupFacilitySchema), { description: 'Facilities serving the group, sorted by name.' }),
  services: Type.Array(ref(TargetGroupServiceSchema), { description: 'Services naming the group, sorted by facility name, category slug and name.' })
}, {
  $id: 'TargetGroupDetail',
  description: 'A target group with the facilities and services serving it and the sources\' original wording.',
  examples: [{
    id: '61c226f7-9c35-5a3d-889e-50bf7ea6be13',
    slug: 'eltern',
    labelDe: 'Eltern',
    labelEn: 'Parents',
    description: 'Mütter und Väter in ihrer Rolle als Eltern.',
    facilityCount: 2,
    serviceCount: 3,
    createdAt: '2026-11-21T09:00:00.000Z',
    updatedAt: '2026-11-21T09:00:00.000Z',
    facilities: [
      {
        facility: wattstrasse,
        via: ['facility', 'service'],
        originalWording: 'Eltern/Mütter; Väter',
        serviceCount: 3
      },
      {
        facility: {
          id: 'ef752e41-9a09-5aca-a3c8-1a1d98486750',
          slug: 'sprengelhaus',
          name: 'SprengelHaus – Interkulturelles Gemeinwesenzentrum / Treffpunkt SprengelHaus'
        },
        via: ['facility'],
        originalWording: 'Eltern',
        serviceCount: 0
      }
    ],
    services: [
      { id: 'f4e6ecdb-aa39-5808-b0c8-02367ee5fd97', name: 'Elterncafés / Begegnungscafé', category: begegnung, facility: wattstrasse, originalWording: 'Elterncafés' },
      { id: '266374b8-34b3-51b6-9ba3-4460c6c8305f', name: 'Elternworkshops', category: familie, facility: wattstrasse, originalWording: 'Elternworkshops' },
      { id: '1f6c72d7-4b13-5ac0-b198-dc1d01012725', name: 'Vätergruppe', category: familie, facility: wattstrasse, originalWording: 'Vätergruppe' }
    ]
  }]
})
export type TargetGroupDetail = Static<typeof TargetGroupDetailSchema>

export const CategorySchema = Type.Object({
  ...vocabularyEntry,
  serviceCount: Type.Integer({
    minimum: 0,
    description: 'Services in the category. Equals the `total` of `GET /v1/services?category={slug}`.'
  }),
  facilityCount: Type.Integer({
    minimum: 0,
    description: 'Facilities with at least one service in the category. Equals the `total` of `GET /v1/facilities?category={slug}`.'
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'Category',
  description: 'A service category of the controlled vocabulary.',
  examples: [{
    id: 'dc72698f-56e4-5a23-8594-56e95f392bee',
    slug: 'beratung',
    labelDe: 'Beratung',
    labelEn: 'Counselling and advice',
    description: 'Sprechstunden und Beratung zu sozialen, rechtlichen, finanziellen oder persönlichen Fragen.',
    serviceCount: 8,
    facilityCount: 6,
    createdAt: '2026-11-21T09:00:00.000Z',
    updatedAt: '2026-11-21T09:00:00.000Z'
  }]
})
export type Category = Static<typeof CategorySchema>
// What an entry of either vocabulary is without its counts (HSDS taxonomy terms).
export type VocabularyTerm = Pick<TargetGroup | Category, 'id' | 'slug' | 'labelDe' | 'labelEn' | 'description'>

export const CategoryListItemSchema = listItemSchema(CategorySchema, 'CategoryListItem')

export const CategoryListSchema = pageSchema(CategoryListItemSchema, 'A page of the category vocabulary, by default sorted by slug.')

export const VOCABULARY_SORTS = ['slug', '-slug', 'updatedAt', '-updatedAt'] as const

export const VocabularyListQuery = Type.Object({
  sort: Type.Optional(Vocabulary(VOCABULARY_SORTS, { description: 'Sort order; a leading `-` is descending. `id` is always the final tie-break, so the order is stable. Default: `updatedAt` with `updatedSince`, else `slug`.' })),
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type VocabularyListQuery = Static<typeof VocabularyListQuery>

export const vocabularySchemas = [
  TargetGroupSchema, TargetGroupListItemSchema, TargetGroupFacilitySchema, TargetGroupServiceSchema, TargetGroupDetailSchema,
  CategorySchema, CategoryListItemSchema
]

// --- Writes ------------------------------------------------------------------------------------

const vocabularyInput = {
  slug: Slug,
  labelDe: InputText(200, 'German label.'),
  labelEn: InputText(200, 'English label.'),
  description: InputText(2000, 'What the entry covers (German).')
}

export const TargetGroupInputSchema = Type.Object(vocabularyInput, {
  $id: 'TargetGroupInput',
  additionalProperties: false,
  description: 'A target group of the vocabulary as written by clients. Facilities and services link to it with their own wording.',
  examples: [{
    slug: 'alleinerziehende',
    labelDe: 'Alleinerziehende',
    labelEn: 'Single parents',
    description: 'Mütter und Väter, die ihre Kinder allein erziehen.'
  }]
})
export type TargetGroupInput = Static<typeof TargetGroupInputSchema>

export const TargetGroupPatchSchema = mergePatchSchema(TargetGroupInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of a TargetGroupInput: only the members to change. Every member is required, so `null` makes the merged record invalid (422).')

export const CategoryInputSchema = Type.Object(vocabularyInput, {
  $id: 'CategoryInput',
  additionalProperties: false,
  description: 'A service category of the vocabulary as written by clients.',
  examples: [{
    slug: 'digitales',
    labelDe: 'Digitales',
    labelEn: 'Digital skills',
    description: 'Hilfe im Umgang mit Smartphone, Computer und Internet, etwa in offenen Digitalsprechstunden.'
  }]
})
export type CategoryInput = Static<typeof CategoryInputSchema>

export const CategoryPatchSchema = mergePatchSchema(CategoryInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of a CategoryInput: only the members to change. Every member is required, so `null` makes the merged record invalid (422).')

export const vocabularyWriteSchemas = [TargetGroupInputSchema, CategoryInputSchema]

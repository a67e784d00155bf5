import { Type, type Static } from 'typebox'
import { SERVICE_STATUSES } from '../domain/vocabulary.ts'
import {
  CategoryRefSchema, FacilityRefSchema, Id, ListMeta, Nullable, Pagination, Slug, Sources, TargetGroupLinkSchema,
  Timestamp, Vocabulary, ref, many
} from './common.ts'

export const ServiceStatusSchema = Vocabulary(SERVICE_STATUSES, {
  description: '`active`: offered as of the latest source; `historic`: a source describes it for a past period only; `unverified`: no recent source confirms it.'
})

export const ServiceSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Nullable(Type.String()),
  category: ref(CategoryRefSchema),
  facility: ref(FacilityRefSchema),
  scheduleNote: Nullable(Type.String({ description: 'When the offer takes place, as a source gives it.' })),
  feeNote: Nullable(Type.String({ description: 'Costs or fees, as a source gives them.' })),
  asOf: Nullable(Type.String({
    pattern: '^[0-9]{4}(/[0-9]{4})?$',
    description: 'Year (or span of years, e.g. `2022/2023`) the source describes the offer for.'
  })),
  status: ServiceStatusSchema,
  targetGroups: Type.Array(ref(TargetGroupLinkSchema), { description: 'Target groups the offer names, with the source\'s wording.' }),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'Service',
  description: 'An offer (Angebot) of a neighbourhood facility.',
  examples: [{
    id: 'e359187f-f16e-55f5-8244-df5dca7c6a33',
    name: 'Seniorenangebote',
    description: 'Für Ältere gibt es Gymnastik, Lachyoga, Englischkurse, Chöre und Gedächtnistraining.',
    category: { id: 'f939e12b-c872-50e4-8c1e-136b47612d93', slug: 'begegnung', labelDe: 'Begegnung', labelEn: 'Meeting and socialising' },
    facility: { id: '645e8249-1972-5756-951a-0106b9a62b19', slug: 'kreativhaus', name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)' },
    scheduleNote: null,
    feeNote: null,
    asOf: null,
    status: 'active',
    targetGroups: [{
      id: 'af53712b-0dce-5d7c-addf-a2bd2498ab49',
      slug: 'senioren',
      labelDe: 'Seniorinnen und Senioren',
      labelEn: 'Older people',
      originalWording: 'Seniorenangebote'
    }],
    sources: [{
      url: 'https://www.berliner-woche.de/mitte/c-soziales/60-freiwillig-engagierte-unterstuetzen-das-kreativhaus-auf-der-fischerinsel_a74361',
      title: 'Berliner Woche: 60 freiwillig Engagierte unterstützen das Kreativhaus auf der Fischerinsel',
      facts: ['offers']
    }],
    createdAt: '2026-11-21T09:00:00.000Z',
    updatedAt: '2026-11-21T09:00:00.000Z'
  }]
})
export type Service = Static<typeof ServiceSchema>

export const ServiceListQuery = Type.Object({
  facility: Type.Optional(many(Type.String({ minLength: 1, maxLength: 200 }), 'Facility id or slug, e.g. `kreativhaus`.')),
  category: Type.Optional(many(Slug, 'Service category slug, e.g. `beratung`.')),
  targetGroup: Type.Optional(many(Slug, 'Target group slug, e.g. `senioren`.')),
  ...Pagination
}, { additionalProperties: false })
export type ServiceListQuery = Static<typeof ServiceListQuery>

export const ServiceListSchema = Type.Object({
  ...ListMeta,
  items: Type.Array(ref(ServiceSchema))
}, { description: 'A page of services, sorted by facility name, category slug and name.' })

export const serviceSchemas = [ServiceSchema]

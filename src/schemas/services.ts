import { Type, type Static } from 'typebox'
import { SERVICE_STATUSES } from '../domain/vocabulary.ts'
import type { MatchExplanation } from '../lib/search-text.ts'
import {
  CategoryRefSchema, FacilityRefSchema, Id, Nullable, Pagination, Slug, Sources, SyncQuery, TargetGroupLinkSchema,
  Timestamp, Vocabulary, listItemSchema, many, mergePatchSchema, pageSchema, ref,
  InputText, TaxonomyMatchSchema, SourceInputSchema, TargetGroupLinkInputSchema
} from './common.ts'

export const AS_OF_PATTERN = '^[0-9]{4}(/[0-9]{4})?$'

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
    pattern: AS_OF_PATTERN,
    description: 'Year (or span of years, e.g. `2022/2023`) the source describes the offer for.'
  })),
  status: ServiceStatusSchema,
  targetGroups: Type.Array(ref(TargetGroupLinkSchema), { description: 'Target groups the offer names, with the source\'s wording.' }),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Type.String({
    format: 'date-time',
    description: 'When this record last changed as served: the latest change of the service, its facility, its category or its target groups, whose names and labels it embeds.',
    examples: ['2026-11-21T09:00:00.000Z']
  }),
  // facilities.ts (home of SearchMatch) imports this module, so importing MatchSchema back would
  // be a cycle in which one of the two schemas is read before it exists.
  match: Type.Optional(Type.Unsafe<MatchExplanation>({ $ref: 'SearchMatch#' }))
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
    asOf: '2017',
    status: 'unverified',
    targetGroups: [{
      id: 'af53712b-0dce-5d7c-addf-a2bd2498ab49',
      slug: 'senioren',
      labelDe: 'Seniorinnen und Senioren',
      labelEn: 'Older people',
      originalWording: 'Seniorenangebote'
    }],
    sources: [{
      url: 'http://www.tagesspiegel.de/berlin/gemeinsame-sache-aktionstage-am-8-9-september-kreativhaus-mitte-bietet-100-verschiedene-aktivitaeten/20268014.html',
      title: 'Tagesspiegel (2017-08): Kreativhaus Mitte bietet 100 verschiedene Aktivitäten',
      facts: ['offers']
    }],
    createdAt: '2026-11-21T09:00:00.000Z',
    updatedAt: '2026-11-21T09:00:00.000Z'
  }]
})
export type Service = Static<typeof ServiceSchema>

export const SERVICE_SORTS = ['facility', 'name', '-name', 'updatedAt', '-updatedAt', 'relevance'] as const

export const ServiceListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Full-text search over name, description, category, target groups and facility name; case-, umlaut- and ß-insensitive, every word as a prefix (`selbsthil`, `Lübecker Strasse`). Any text is allowed; only its letters and digits count.', examples: ['Selbsthilfe Migration'] })),
  facility: Type.Optional(many(Type.String({ minLength: 1, maxLength: 200 }), 'Facility id or slug, e.g. `kreativhaus`.')),
  category: Type.Optional(many(Slug, 'Service category slug, e.g. `beratung`.')),
  targetGroup: Type.Optional(many(Slug, 'Target group slug, e.g. `senioren`.', true)),
  ortsteil: Type.Optional(many(Type.String({ minLength: 1, maxLength: 100 }), 'Ortsteil of the facility, e.g. `Moabit` (ASCII letters case-insensitive: `moabit`; umlauts as written).')),
  bezirksregion: Type.Optional(many(Type.String({ minLength: 1, maxLength: 100 }), 'Bezirksregion of the facility, e.g. `Tiergarten Süd` (ASCII letters case-insensitive; umlauts as written); only where a source states it.')),
  match: Type.Optional(TaxonomyMatchSchema),
  sort: Type.Optional(Vocabulary(SERVICE_SORTS, { description: 'Sort order; a leading `-` is descending. `facility`: facility name, category slug, name. `relevance` needs `q`. `id` is always the final tie-break, so the order is stable. Default: `relevance` with `q`, `updatedAt` with `updatedSince`, else `facility`.' })),
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type ServiceListQuery = Static<typeof ServiceListQuery>

export const ServiceListItemSchema = listItemSchema(ServiceSchema, 'ServiceListItem')

export const ServiceListSchema = pageSchema(ServiceListItemSchema, 'A page of services, by default sorted by facility name, category slug and name.')

export const serviceSchemas = [ServiceSchema, ServiceListItemSchema]

// --- Writes ------------------------------------------------------------------------------------

export const ServiceInputSchema = Type.Object({
  facility: InputText(200, 'The facility that offers it: id or slug. A `facility:<id>:write` key may only name its own facility.'),
  name: InputText(300),
  description: Nullable(InputText(5000)),
  category: Slug,
  scheduleNote: Nullable(InputText(2000, 'When the offer takes place, as a source gives it.')),
  feeNote: Nullable(InputText(2000, 'Costs or fees, as a source gives them.')),
  asOf: Nullable(Type.String({ pattern: AS_OF_PATTERN, description: 'Year (or span of years, e.g. `2022/2023`) the source describes the offer for.' })),
  status: ServiceStatusSchema,
  targetGroups: Type.Array(TargetGroupLinkInputSchema, { maxItems: 50, description: 'Target groups (slugs of /v1/target-groups) the offer names, with the source\'s wording.' }),
  sources: Type.Array(SourceInputSchema, { maxItems: 100 })
}, {
  $id: 'ServiceInput',
  additionalProperties: false,
  description: 'A service as written by clients. Unknown facts are null; `sources` says where the facts come from.',
  examples: [{
    facility: 'kreativhaus',
    name: 'Seniorenangebote',
    description: 'Für Ältere gibt es Gymnastik, Lachyoga, Englischkurse, Chöre und Gedächtnistraining.',
    category: 'begegnung',
    scheduleNote: null,
    feeNote: null,
    asOf: '2017',
    status: 'unverified',
    targetGroups: [{ targetGroup: 'senioren', originalWording: 'Seniorenangebote' }],
    sources: [{
      url: 'http://www.tagesspiegel.de/berlin/gemeinsame-sache-aktionstage-am-8-9-september-kreativhaus-mitte-bietet-100-verschiedene-aktivitaeten/20268014.html',
      title: 'Tagesspiegel (2017-08): Kreativhaus Mitte bietet 100 verschiedene Aktivitäten',
      facts: ['offers']
    }]
  }]
})
export type ServiceInput = Static<typeof ServiceInputSchema>

export const ServicePatchSchema = mergePatchSchema(ServiceInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of a ServiceInput: only the members to change; `null` clears a member, arrays are replaced. The merged record is validated as a whole (422).')

export const serviceWriteSchemas = [ServiceInputSchema]

import { Type, type Static } from 'typebox'
import { Id, Nullable, Timestamp, Vocabulary, many, ref } from './common.ts'

export const ENTITY_TYPES = [
  'facility', 'service', 'organisation', 'organisation_unit', 'organisation_site', 'contact', 'category',
  'target_group', 'agreement', 'agreement_party', 'event'
] as const

export const ChangeSchema = Type.Object({
  seq: Type.Integer({ minimum: 1, description: 'Position in the feed; strictly increasing, never reused.' }),
  entityType: Vocabulary(ENTITY_TYPES, { description: 'Kind of record.' }),
  entityId: Id,
  action: Vocabulary(['create', 'update', 'delete'] as const, { description: '`delete` also when a record is soft-deleted or stops being public (contacts).' }),
  changedAt: Timestamp,
  href: Nullable(Type.String({ description: 'Where to read the record now (for units, sites and parties: the record that embeds them); null after a delete.' }))
}, {
  $id: 'Change',
  description: 'One entry of the change feed.',
  examples: [{
    seq: 209,
    entityType: 'facility',
    entityId: '645e8249-1972-5756-951a-0106b9a62b19',
    action: 'update',
    changedAt: '2026-11-21T10:00:00.000Z',
    href: '/v1/facilities/645e8249-1972-5756-951a-0106b9a62b19'
  }]
})
export type Change = Static<typeof ChangeSchema>

export const ChangeFeedQuery = Type.Object({
  since: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Return changes after this sequence number (the `lastSeq` of the previous page; 0 for the beginning). A position the feed never gave out (after its newest entry, or an entry hidden from the caller) is a 400 when nothing follows it: a restore from an older backup; take a full copy again. (A restore shows this way only while the restored feed is behind the position.)' }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Page size (1–1000).' }),
  entityType: Type.Optional(many(Vocabulary(ENTITY_TYPES, { description: 'Kind of record.' }), 'Only changes of this kind of record.'))
}, { additionalProperties: false })
export type ChangeFeedQuery = Static<typeof ChangeFeedQuery>

export const ChangeFeedSchema = Type.Object({
  items: Type.Array(ref(ChangeSchema)),
  lastSeq: Type.Integer({ minimum: 0, description: 'Sequence number to pass as `since` next time (unchanged when the page is empty).' }),
  hasMore: Type.Boolean({ description: 'More changes are waiting now; otherwise poll `links.next` later.' }),
  links: Type.Object({
    self: Type.String(),
    next: Type.String({ description: 'The next page; on the last page, the URL to poll for future changes.' })
  })
}, {
  description: 'A page of the change feed, oldest first.',
  examples: [{
    items: [{ seq: 209, entityType: 'facility', entityId: '645e8249-1972-5756-951a-0106b9a62b19', action: 'update', changedAt: '2026-11-21T10:00:00.000Z', href: '/v1/facilities/645e8249-1972-5756-951a-0106b9a62b19' }],
    lastSeq: 209,
    hasMore: false,
    links: { self: '/v1/changes?since=208', next: '/v1/changes?limit=100&since=209' }
  }]
})

export const changeSchemas = [ChangeSchema]

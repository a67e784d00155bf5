import { Type, type Static, type TObject, type TOptional, type TSchema, type TUnsafe } from 'typebox'
import { UUID_PATTERN } from '../lib/uuid.ts'

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const Vocabulary = <T extends readonly string[]>(values: T, options: { description: string }) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })

// Shared schemas carry an $id, are registered once with app.addSchema and referenced with ref(),
// so the OpenAPI document lists them once under components.schemas.
export const ref = <T extends TSchema>(schema: T): TUnsafe<Static<T>> => {
  const id = (schema as { $id?: string }).$id
  if (id === undefined) throw new Error('ref() needs a schema with an $id')
  return Type.Unsafe<Static<T>>({ $ref: `${id}#` })
}

export const Id = Type.String({ format: 'uuid', description: 'Stable UUID of the record.', examples: ['9e2a3b8c-1d4f-5a6b-8c7d-0e1f2a3b4c5d'] })
// Never shaped like a UUID: paths take a UUID or a slug, and a UUID is looked up as an id first,
// so a record with such a slug could not be reached by it.
// (Without a lookahead, which regular expression engines such as RE2 lack: the UUID shape is a
// `not`.)
export const SLUG_PATTERN = '^[a-z0-9]+(?:-[a-z0-9]+)*$'
export const Slug = Type.String({ pattern: SLUG_PATTERN, not: { pattern: UUID_PATTERN }, maxLength: 80, description: 'Readable, stable key (lower-case letters, digits and single hyphens; never shaped like a UUID). The slug of a deleted record stays reserved for it (its tombstone keeps it).' })
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 timestamp (UTC).', examples: ['2026-11-21T09:00:00.000Z'] })

// The path parameter of a record, with an example slug of that kind of record, so that the
// docs page's "Try it out" finds a real one.
export const idOrSlugParams = (example: string) => Type.Object({
  idOrSlug: Type.String({ minLength: 1, maxLength: 200, description: 'The record\'s UUID or its slug.', examples: [example] })
}, { additionalProperties: false })

export const IdOrSlugParams = idOrSlugParams('kreativhaus')

// The path parameter of a record addressed by UUID only, with a real one as example.
export const idParams = (example: string) => Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, description: 'The record\'s UUID.', examples: [example] })
}, { additionalProperties: false })

export const SourceSchema = Type.Object({
  url: Type.String({ description: 'Address of the public source.' }),
  title: Type.String({ description: 'Title of the source.' }),
  facts: Type.Array(Type.String(), { description: 'Which facts of this record the source supports.' })
}, {
  $id: 'Source',
  description: 'A public source of facts in this record (provenance).',
  examples: [{
    url: 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php',
    title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020',
    facts: ['name', 'status']
  }]
})
export type Source = Static<typeof SourceSchema>
export const Sources = Type.Array(ref(SourceSchema), { description: 'Public sources this record is built from.' })

export const FieldErrorSchema = Type.Object({
  field: Type.String({ description: 'Where the problem is, e.g. `query.limit` or `body.name`.' }),
  message: Type.String()
})

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'URI reference identifying the problem type, relative to the service root: GET it (or /problems for all of them) for what it means.' }),
  title: Type.String({ description: 'Short summary of the problem type.' }),
  status: Type.Integer({ description: 'HTTP status code.' }),
  detail: Type.String({ description: 'Explanation specific to this occurrence.' }),
  instance: Type.Optional(Type.String({ description: 'The request path that caused the problem.' })),
  errors: Type.Optional(Type.Array(FieldErrorSchema, { description: 'Each failing field of a validation error.' }))
}, {
  $id: 'Problem',
  description: 'Problem details (RFC 9457), sent as application/problem+json.',
  examples: [{
    type: '/problems/validation-error',
    title: 'Bad Request',
    status: 400,
    detail: 'The request is invalid: query.limit must be <= 500.',
    instance: '/v1/facilities?limit=1000',
    errors: [{ field: 'query.limit', message: 'must be <= 500' }]
  }]
})
export type Problem = Static<typeof ProblemSchema>

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref(ProblemSchema) } }
})

export const problemResponses = {
  400: problemResponse('Invalid request: problem details listing each failing field.'),
  404: problemResponse('No such record or route.'),
  500: problemResponse('Unexpected error; no internals are disclosed.')
}

// The Retry-After header of a 429 or 503.
export const RETRY_AFTER = { type: 'integer', minimum: 1, description: 'Seconds to wait before retrying.' }

// The errors every write can answer with, in addition to 400 and 500.
export const writeProblemResponses = {
  401: problemResponse('No API key, or an unknown, malformed or revoked one (checked before the body).'),
  403: problemResponse('The API key\'s scopes do not allow this write.'),
  413: problemResponse('The body is larger than 1 MiB.'),
  415: problemResponse('The body is not JSON (`application/json` or, for PATCH, `application/merge-patch+json`).'),
  422: problemResponse('The record breaks a rule (unknown reference, duplicate slug, invalid opening hours, an invalid merged record): each failing field is listed.'),
  429: problemResponse('Too many requests; see the RateLimit headers.'),
  503: {
    ...problemResponse('The database cannot write now: its storage is full (`/problems/storage-full`), read-only (`/problems/storage-read-only`), locked by another process (`/problems/storage-busy`) or failing (`/problems/storage-unavailable`). Nothing was written; reads keep working while the storage is full or read-only. Retry after `Retry-After` seconds.'),
    headers: { 'Retry-After': RETRY_AFTER }
  }
}

// A DELETE has no body whose record could break a rule.
export const { 422: _unprocessable, ...deleteProblemResponses } = writeProblemResponses

export const conditionalProblemResponses = {
  412: problemResponse('The If-Match ETag is not the current one: the record changed since it was read. Nothing was written.'),
  428: problemResponse('If-Match is missing: send the ETag of the record you read. Nothing was written.')
}

export const BEARER_AUTH = [{ bearerAuth: [] }]

// POST (create): retries made safe.
export const CreateHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    maxLength: 200,
    description: 'A unique key per intended create; a retry with the same key and body returns the first result (with `Idempotent-Replayed: true`) instead of a duplicate. The same key with another body is 422.',
    examples: ['5b0e3c1e-7d1a-4c7e-9d0b-2f4a8e6c1a90']
  }))
})

// PATCH and DELETE: optimistic concurrency (RFC 9110 §13.1).
export const ConditionalHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({
    description: 'Needed: the ETag of the record as you read it (or `*` for any version). Without it the write is 428, with an older ETag 412; nothing is written then.',
    examples: ['"Xv3q0bUeS1o2cN4mJz8kPw9aT7yR5dLf"']
  })),
  'if-none-match': Type.Optional(Type.String({
    description: 'Optional: an ETag (or `*`) the record must not have now; if it has, the write is 412.',
    examples: ['*']
  }))
})

export const HistoryEntrySchema = Type.Object({
  seq: Type.Integer(),
  action: Type.Unsafe<'create' | 'update' | 'delete' | 'verify'>({ type: 'string', enum: ['create', 'update', 'delete', 'verify'] }),
  actor: Type.Object({
    keyId: Type.String({ description: 'The API key that wrote.' }),
    name: Nullable(Type.String({ description: 'Its name.' }))
  }),
  changedAt: Timestamp,
  changes: Type.Record(Type.String(), Type.Object({ old: Type.Unknown(), new: Type.Unknown() }), { description: 'Changed fields with their old and new values.' })
}, {
  $id: 'HistoryEntry',
  description: 'One write to a record.',
  examples: [{
    seq: 1,
    action: 'update',
    actor: { keyId: '7ec1de69-b559-4f28-b347-2c8314ff618b', name: 'Bezirksamt Mitte SPK' },
    changedAt: '2026-11-21T10:00:00.000Z',
    changes: { phone: { old: null, new: '030 123456' } }
  }]
})

export const HistorySchema = Type.Object({
  id: Id,
  items: Type.Array(ref(HistoryEntrySchema))
}, {
  description: 'Every write to the record through the API, oldest first (seeded facts have no entries).',
  examples: [{
    id: '645e8249-1972-5756-951a-0106b9a62b19',
    items: [{
      seq: 1,
      action: 'update',
      actor: { keyId: '7ec1de69-b559-4f28-b347-2c8314ff618b', name: 'Bezirksamt Mitte SPK' },
      changedAt: '2026-11-21T10:00:00.000Z',
      changes: { phone: { old: '030 / 238 09 13', new: null } }
    }]
  }]
})

// --- Parts of the input (write) schemas -------------------------------------------------------

// Required text: at least one letter or digit, so a name of spaces or invisible characters
// (U+00A0, U+200B) is refused.
export const TEXT_PATTERN = '[\\p{L}\\p{N}]'
export const InputText = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, pattern: TEXT_PATTERN, ...(description ? { description: `${description} At least one letter or digit.` } : {}) })

// What these patterns mean, for error messages instead of the regular expression.
const PATTERN_MESSAGES: Record<string, string> = {
  [TEXT_PATTERN]: 'must contain at least one letter or digit',
  [SLUG_PATTERN]: 'must be lower-case letters and digits in groups joined by single hyphens'
}

// The message of a failed schema keyword (Ajv's and TypeBox's errors name the keyword and its
// params alike) where the directory's own wording is clearer than the validator's.
export function keywordMessage (keyword: string, params: unknown, fallback: string): string {
  if (keyword === 'pattern') return PATTERN_MESSAGES[String((params as { pattern?: unknown }).pattern)] ?? fallback
  // The only `not` of the schemas: a slug shaped like a UUID.
  if (keyword === 'not') return 'must not be shaped like a UUID (a slug never is)'
  return fallback
}

export const SourceInputSchema = Type.Object({
  url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 }),
  title: InputText(500),
  facts: Type.Array(InputText(200), { maxItems: 50 })
}, { additionalProperties: false })

export const TargetGroupLinkInputSchema = Type.Object({
  targetGroup: Slug,
  originalWording: InputText(500, 'How the source words it.')
}, { additionalProperties: false })

// A repeatable query parameter: `?type=a&type=b` means a OR b; a taxonomy filter (`taxonomy`)
// means a AND b with `match=all`.
export const many = <T extends TSchema>(item: T, description: string, taxonomy = false) =>
  Type.Array(item, { description: `${description} Repeat the parameter for several values: any of them (OR)${taxonomy ? '; with `match=all` every one (AND)' : ''}.`, maxItems: 50 })

export const Pagination = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size (1–500).' }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Number of records to skip.' })
}

export const PAGING_DESCRIPTION = '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.'

// Parameters every list accepts for paging through it and keeping a copy in sync.
export const SyncQuery = {
  updatedSince: Type.Optional(Type.String({ format: 'date-time', description: 'Only records created, changed or deleted at or after this instant; deleted records appear as tombstones `{ id, deleted: true, deletedAt }`. Sorted by `updatedAt` unless `sort` says otherwise.', examples: ['2026-01-01T00:00:00Z'] })),
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: 'Opaque cursor from `links.next` (or the `Link` header) of the previous page. Stays valid while records change.' })),
  // Replaced per route by src/plugins/formats.ts with the route's own formats.
  format: Type.Optional(Type.String({ description: 'Response format (see the route).' }))
}

export const ListMeta = {
  total: Type.Integer({ minimum: 0, description: 'Number of records matching the filters.' }),
  limit: Type.Integer(),
  offset: Type.Integer()
}

export const TombstoneSchema = Type.Object({
  id: Id,
  deleted: Type.Literal(true),
  deletedAt: Timestamp
}, {
  $id: 'Tombstone',
  description: 'A deleted record, listed only with `updatedSince` so that copies can delete it too.',
  examples: [{ id: '645e8249-1972-5756-951a-0106b9a62b19', deleted: true, deletedAt: '2026-11-21T10:00:00.000Z' }]
})
export type Tombstone = Static<typeof TombstoneSchema>

export const PageLinksSchema = Type.Object({
  self: Type.String(),
  first: Type.String(),
  next: Nullable(Type.String({ description: 'The next page, or null on the last page.' }))
}, {
  $id: 'PageLinks',
  description: 'Pagination links (also sent as an RFC 8288 Link header).',
  examples: [{ self: '/v1/facilities?limit=5', first: '/v1/facilities?limit=5', next: '/v1/facilities?limit=5&cursor=WyJuYW1lIiwiS1JFQVRJVkhBVVMiLCI2NDVlIl0' }]
})

// One item shape for every list variant (a union would make serialisation try each branch):
// the full record (every field unless `fields` selects some) or a tombstone (`updatedSince`).
export function listItemSchema<T extends TObject> (schema: T, $id: string) {
  const optional = Object.fromEntries(Object.entries(schema.properties).map(([name, property]) => [name, Type.Optional(property)])) as {
    [K in keyof T['properties']]: TOptional<T['properties'][K]>
  }
  return Type.Object({
    ...optional,
    id: Id,
    deleted: Type.Optional(Type.Literal(true, { description: 'Only on tombstones.' })),
    deletedAt: Type.Optional(Timestamp)
  }, {
    $id,
    ...('examples' in schema ? { examples: schema.examples } : {}),
    description: `A record as in \`${String((schema as { $id?: string }).$id)}\`, or a tombstone \`{ id, deleted: true, deletedAt }\` of a deleted one (only with \`updatedSince\`).`
  })
}

export function pageSchema<T extends TSchema> (item: T, description: string) {
  const itemExamples = (item as { examples?: unknown[] }).examples ?? []
  return Type.Object({
    ...ListMeta,
    links: ref(PageLinksSchema),
    items: Type.Array(ref(item))
  }, {
    description,
    examples: [{ total: itemExamples.length, limit: 50, offset: 0, links: { self: '/v1/…', first: '/v1/…?limit=50', next: null }, items: itemExamples.slice(0, 1) }]
  })
}

// 200 of a list: a JSON page, or with format=ndjson every record, one per line.
export function listResponse<T extends TSchema> (page: T) {
  return {
    description: 'A page of records (JSON), or with `format=ndjson` every matching record, one JSON object per line.',
    content: {
      'application/json': { schema: page },
      'application/x-ndjson': { schema: { type: 'string', description: 'One record (or tombstone) as JSON per line.' } }
    }
  }
}

export const FacilityRefSchema = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String()
}, {
  $id: 'FacilityRef',
  description: 'A short reference to a facility.',
  examples: [{ id: '645e8249-1972-5756-951a-0106b9a62b19', slug: 'kreativhaus', name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)' }]
})

export const OrganisationRefSchema = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String(),
  kind: Type.String()
}, {
  $id: 'OrganisationRef',
  description: 'A short reference to an organisation.',
  examples: [{ id: 'a5b77cc7-a25e-57ef-a1fa-f55e22e41707', slug: 'pfefferwerk', name: 'Pfefferwerk Stadtkultur gGmbH', kind: 'operator' }]
})

export const TargetGroupLinkSchema = Type.Object({
  id: Id,
  slug: Slug,
  labelDe: Type.String(),
  labelEn: Type.String(),
  originalWording: Type.String({ description: 'The source\'s own wording mapped onto this target group.' }),
  description: Type.Optional(Nullable(Type.String({ description: 'The vocabulary entry\'s description (with `include=targetGroups`).' })))
}, {
  $id: 'TargetGroupLink',
  description: 'A target group of the vocabulary as linked to a facility or service.',
  examples: [{ id: 'af53712b-0dce-5d7c-addf-a2bd2498ab49', slug: 'senioren', labelDe: 'Seniorinnen und Senioren', labelEn: 'Older people', originalWording: 'Senioren' }]
})

export const CategoryRefSchema = Type.Object({
  id: Id,
  slug: Slug,
  labelDe: Type.String(),
  labelEn: Type.String()
}, {
  $id: 'CategoryRef',
  description: 'A service category of the vocabulary.',
  examples: [{ id: 'f939e12b-c872-50e4-8c1e-136b47612d93', slug: 'begegnung', labelDe: 'Begegnung', labelEn: 'Meeting and socialising' }]
})

export const sharedSchemas = [SourceSchema, ProblemSchema, TombstoneSchema, PageLinksSchema, HistoryEntrySchema, FacilityRefSchema, OrganisationRefSchema, TargetGroupLinkSchema, CategoryRefSchema]

// The JSON Merge Patch (RFC 7386) form of a record schema: every member optional and nullable
// (null clears it), nested objects likewise, arrays replaced whole. Whether the merged record is
// valid is checked after merging (422), not here.
export function mergePatchSchema (schema: TObject, description: string): TUnsafe<Record<string, unknown>> {
  const patchOf = (node: Record<string, unknown>): Record<string, unknown> => {
    const variants = node.anyOf as Record<string, unknown>[] | undefined
    if (variants !== undefined) {
      const value = variants.find((v) => v.type !== 'null')
      return value === undefined ? node : patchOf(value)
    }
    if (node.type !== 'object' || node.properties === undefined) return { anyOf: [stripIds(node), { type: 'null' }] }
    const properties = Object.fromEntries(Object.entries(node.properties as Record<string, Record<string, unknown>>)
      .map(([name, child]) => [name, patchOf(child)]))
    return { anyOf: [{ type: 'object', properties, additionalProperties: false }, { type: 'null' }] }
  }
  const stripIds = (node: Record<string, unknown>) => JSON.parse(JSON.stringify(node, (key, value) => (key === '$id' ? undefined : value)))
  const properties = Object.fromEntries(Object.entries(schema.properties as Record<string, Record<string, unknown>>)
    .map(([name, child]) => [name, patchOf(child)]))
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', properties, additionalProperties: false, minProperties: 1, description })
}

// How several values of one taxonomy filter combine (AND/OR taxonomy queries). No default in the
// schema, so links to further pages do not grow a `match=any`.
export const TaxonomyMatchSchema = Type.Union([Type.Literal('any'), Type.Literal('all')], {
  description: 'How several values of one taxonomy filter combine: `any` (without `match`: at least one of them) or `all` (every one of them), for `type`, `targetGroup` and `category` (services: `targetGroup`; a service has one category). Different filters always combine with AND.',
  examples: ['all']
})

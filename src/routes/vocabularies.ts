import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { TSchema } from 'typebox'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, idOrSlugParams, conditionalProblemResponses, listResponse, problemResponse,
  problemResponses, ref, writeProblemResponses, PAGING_DESCRIPTION
} from '../schemas/common.ts'
import {
  CategoryInputSchema, CategoryListSchema, CategoryPatchSchema, CategorySchema, TargetGroupDetailSchema,
  TargetGroupInputSchema, TargetGroupListSchema, TargetGroupPatchSchema, VocabularyListQuery
} from '../schemas/vocabularies.ts'
import { applyMergePatch, withNulls } from '../lib/merge-patch.ts'
import { directoryWrite, requirePrincipal } from '../plugins/auth.ts'
import { writableOf, type VocabularyInput } from '../repositories/vocabularies-repository.ts'
import { notFound } from '../lib/problem.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem, validateRecord } from './write-support.ts'
import { collect, sendExport, sendNdjson, sendPage } from './list-support.ts'
import { categoriesCsv, targetGroupsCsv } from '../formats/csv.ts'

const CategoryParams = idOrSlugParams('begegnung')
const TargetGroupParams = idOrSlugParams('eltern')

// The merged entry, validated as a whole (422), from the current one and a merge patch.
function merge (schema: TSchema, current: VocabularyInput & { id: string }, patch: unknown): VocabularyInput {
  const before = writableOf(current) as unknown as Record<string, unknown>
  const merged = withNulls(before, applyMergePatch(before, patch) as Record<string, unknown>)
  validateRecord(schema, merged)
  return merged as unknown as VocabularyInput
}

const vocabulariesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/target-groups', {
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel'] },
    schema: {
      tags: ['vocabularies'],
      operationId: 'listTargetGroups',
      summary: 'List target groups',
      description: [
        'The controlled vocabulary of target groups, by default sorted by slug, with how many facilities and services serve each. A facility counts when it names the group itself or through one of its services.',
        '',
        `${PAGING_DESCRIPTION} The counts are as of the request: they change with facilities and services, not with the entry's \`updatedAt\`.`
      ].join('\n'),
      querystring: VocabularyListQuery,
      response: { 200: listResponse(TargetGroupListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    // Of other records, a target group shows only how many facilities and services it has: the
    // answer is kept across their writes while those counts stay the same (reply.cacheRecheck).
    reply.cacheDependsOn('target_group:*').cacheRecheck(['facility', 'service', 'category'], () => app.repos.vocabularies.targetGroupCountsKey())
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.vocabularies.iterateTargetGroups(query))
    if (request.format === 'csv' || request.format === 'csv-excel') {
      return sendExport(reply, request.format, 'target-groups', targetGroupsCsv(collect(app.repos.vocabularies.iterateTargetGroups(query)), { excel: request.format === 'csv-excel' }))
    }
    return sendPage(request, reply, app.repos.vocabularies.listTargetGroups(query))
  })

  app.get('/v1/target-groups/:idOrSlug', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'getTargetGroup',
      summary: 'Get a target group',
      description: 'One target group by UUID or slug (e.g. `senioren`), with the facilities serving it (`via`: named by the facility itself and/or by its services) and the services naming it, each with the source\'s original wording.',
      params: TargetGroupParams,
      response: { 200: ref(TargetGroupDetailSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const group = app.repos.vocabularies.findTargetGroup(request.params.idOrSlug)
    if (group === undefined) throw notFound('target group', request.params.idOrSlug)
    return sendItem(reply, group)
  })

  app.post('/v1/target-groups', {
    config: { access: directoryWrite('create target groups') },
    schema: {
      tags: ['vocabularies'],
      operationId: 'createTargetGroup',
      summary: 'Create a target group',
      description: 'Adds an entry to the target-group vocabulary, which facilities and services can then link to. Needs a key with `directory:write`. Send `Idempotency-Key` to make retries safe. The new entry is in the change feed and its history.',
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: TargetGroupInputSchema,
      response: {
        201: { ...ref(TargetGroupDetailSchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.vocabularies.createTargetGroup(request.body, principal.keyId)
      return { status: 201, headers: { location: `/v1/target-groups/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/target-groups/:idOrSlug', {
    config: { access: directoryWrite('change target groups') },
    schema: {
      tags: ['vocabularies'],
      operationId: 'updateTargetGroup',
      summary: 'Change a target group (JSON Merge Patch)',
      description: 'A JSON Merge Patch (RFC 7386): send only the members to change. Needs `If-Match` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with `directory:write`. A new slug must be unused (422). New labels show at once in the facilities and services linking to the group, and search finds them by the new labels.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: TargetGroupParams,
      body: TargetGroupPatchSchema,
      response: {
        200: ref(TargetGroupDetailSchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.vocabularies.updateTargetGroup(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current)
      return merge(TargetGroupInputSchema, current, request.body)
    })
    if (updated === undefined) throw notFound('target group', request.params.idOrSlug)
    return sendItem(reply, updated)
  })

  app.delete('/v1/target-groups/:idOrSlug', {
    config: { access: directoryWrite('delete target groups') },
    schema: {
      tags: ['vocabularies'],
      operationId: 'deleteTargetGroup',
      summary: 'Delete a target group',
      description: 'A soft delete: the entry leaves the vocabulary, and appears as a tombstone with `updatedSince` and as a delete in the change feed. Refused (409) while facilities or services link to it (its `facilityCount` or `serviceCount` is not 0): remove those links first. Needs `If-Match` and a key with `directory:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: TargetGroupParams,
      response: {
        204: { type: 'null', description: 'Deleted.' },
        400: problemResponses[400],
        404: problemResponses[404],
        409: problemResponse('Facilities or services still link to the target group; `detail` says which. Nothing was written.'),
        ...deleteProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const deleted = app.repos.vocabularies.softDeleteTargetGroup(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current)
    })
    if (deleted === undefined) throw notFound('target group', request.params.idOrSlug)
    return reply.code(204).send(null)
  })

  app.get('/v1/target-groups/:idOrSlug/history', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'getTargetGroupHistory',
      summary: 'History of a target group',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted entries included). The seeded vocabulary has no entries.',
      params: TargetGroupParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.vocabularies.resolveAnyTargetGroupId(request.params.idOrSlug)
    if (id === undefined) throw notFound('target group', request.params.idOrSlug)
    return { id, items: app.repos.history.of('target_group', id) }
  })

  app.get('/v1/categories', {
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel'] },
    schema: {
      tags: ['vocabularies'],
      operationId: 'listCategories',
      summary: 'List service categories',
      description: [
        'The controlled vocabulary of service categories, by default sorted by slug, with how many services and facilities each has.',
        '',
        `${PAGING_DESCRIPTION} The counts are as of the request: they change with facilities and services, not with the entry's \`updatedAt\`.`
      ].join('\n'),
      querystring: VocabularyListQuery,
      response: { 200: listResponse(CategoryListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    // As for target groups: kept across writes to facilities and services while the counts stay.
    reply.cacheDependsOn('category:*').cacheRecheck(['facility', 'service'], () => app.repos.vocabularies.categoryCountsKey())
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.vocabularies.iterateCategories(query))
    if (request.format === 'csv' || request.format === 'csv-excel') {
      return sendExport(reply, request.format, 'categories', categoriesCsv(collect(app.repos.vocabularies.iterateCategories(query)), { excel: request.format === 'csv-excel' }))
    }
    return sendPage(request, reply, app.repos.vocabularies.listCategories(query))
  })

  app.get('/v1/categories/:idOrSlug', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'getCategory',
      summary: 'Get a service category',
      description: 'One service category by UUID or slug (e.g. `beratung`). Its services are at `GET /v1/services?category={slug}`, its facilities at `GET /v1/facilities?category={slug}`.',
      params: CategoryParams,
      response: { 200: ref(CategorySchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const category = app.repos.vocabularies.findCategory(request.params.idOrSlug)
    if (category === undefined) throw notFound('category', request.params.idOrSlug)
    return sendItem(reply, category)
  })

  app.post('/v1/categories', {
    config: { access: directoryWrite('create categories') },
    schema: {
      tags: ['vocabularies'],
      operationId: 'createCategory',
      summary: 'Create a service category',
      description: 'Adds an entry to the category vocabulary, which services can then use. Needs a key with `directory:write`. Send `Idempotency-Key` to make retries safe. The new entry is in the change feed and its history.',
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: CategoryInputSchema,
      response: {
        201: { ...ref(CategorySchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.vocabularies.createCategory(request.body, principal.keyId)
      return { status: 201, headers: { location: `/v1/categories/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/categories/:idOrSlug', {
    config: { access: directoryWrite('change categories') },
    schema: {
      tags: ['vocabularies'],
      operationId: 'updateCategory',
      summary: 'Change a service category (JSON Merge Patch)',
      description: 'A JSON Merge Patch (RFC 7386): send only the members to change. Needs `If-Match` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with `directory:write`. A new slug must be unused (422). New labels show at once in the services of the category, and search finds them and their facilities by the new labels.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: CategoryParams,
      body: CategoryPatchSchema,
      response: {
        200: ref(CategorySchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.vocabularies.updateCategory(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current)
      return merge(CategoryInputSchema, current, request.body)
    })
    if (updated === undefined) throw notFound('category', request.params.idOrSlug)
    return sendItem(reply, updated)
  })

  app.delete('/v1/categories/:idOrSlug', {
    config: { access: directoryWrite('delete categories') },
    schema: {
      tags: ['vocabularies'],
      operationId: 'deleteCategory',
      summary: 'Delete a service category',
      description: 'A soft delete: the entry leaves the vocabulary, and appears as a tombstone with `updatedSince` and as a delete in the change feed. Refused (409) while services use it (its `serviceCount` is not 0): move them to another category first. Needs `If-Match` and a key with `directory:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: CategoryParams,
      response: {
        204: { type: 'null', description: 'Deleted.' },
        400: problemResponses[400],
        404: problemResponses[404],
        409: problemResponse('Services still use the category; `detail` says how many. Nothing was written.'),
        ...deleteProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const deleted = app.repos.vocabularies.softDeleteCategory(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current)
    })
    if (deleted === undefined) throw notFound('category', request.params.idOrSlug)
    return reply.code(204).send(null)
  })

  app.get('/v1/categories/:idOrSlug/history', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'getCategoryHistory',
      summary: 'History of a service category',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted entries included). The seeded vocabulary has no entries.',
      params: CategoryParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.vocabularies.resolveAnyCategoryId(request.params.idOrSlug)
    if (id === undefined) throw notFound('category', request.params.idOrSlug)
    return { id, items: app.repos.history.of('category', id) }
  })
}

export default vocabulariesRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import {
  CategoryListSchema, CategorySchema, TargetGroupDetailSchema, TargetGroupListSchema, VocabularyListQuery
} from '../schemas/vocabularies.ts'
import { notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'

const vocabulariesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/target-groups', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'listTargetGroups',
      summary: 'List target groups',
      description: [
        'The controlled vocabulary of target groups, by default sorted by slug, with how many facilities and services serve each. A facility counts when it names the group itself or through one of its services.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages. The counts are as of the request: they change with facilities and services, not with the entry\'s `updatedAt`.'
      ].join('\n'),
      querystring: VocabularyListQuery,
      response: { 200: listResponse(TargetGroupListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.vocabularies.iterateTargetGroups(query))
    return sendPage(request, reply, app.repos.vocabularies.listTargetGroups(query))
  })

  app.get('/v1/target-groups/:idOrSlug', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'getTargetGroup',
      summary: 'Get a target group',
      description: 'One target group by UUID or slug (e.g. `senioren`), with the facilities serving it (`via`: named by the facility itself and/or by its services) and the services naming it, each with the source\'s original wording.',
      params: IdOrSlugParams,
      response: { 200: ref(TargetGroupDetailSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const group = app.repos.vocabularies.findTargetGroup(request.params.idOrSlug)
    if (group === undefined) throw notFound('target group', request.params.idOrSlug)
    return group
  })

  app.get('/v1/categories', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'listCategories',
      summary: 'List service categories',
      description: [
        'The controlled vocabulary of service categories, by default sorted by slug, with how many services and facilities each has.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages. The counts are as of the request: they change with facilities and services, not with the entry\'s `updatedAt`.'
      ].join('\n'),
      querystring: VocabularyListQuery,
      response: { 200: listResponse(CategoryListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.vocabularies.iterateCategories(query))
    return sendPage(request, reply, app.repos.vocabularies.listCategories(query))
  })

  app.get('/v1/categories/:idOrSlug', {
    schema: {
      tags: ['vocabularies'],
      operationId: 'getCategory',
      summary: 'Get a service category',
      description: 'One service category by UUID or slug (e.g. `beratung`). Its services are at `GET /v1/services?category={slug}`, its facilities at `GET /v1/facilities?category={slug}`.',
      params: IdOrSlugParams,
      response: { 200: ref(CategorySchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const category = app.repos.vocabularies.findCategory(request.params.idOrSlug)
    if (category === undefined) throw notFound('category', request.params.idOrSlug)
    return category
  })
}

export default vocabulariesRoutes

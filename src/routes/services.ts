import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import { ServiceListQuery, ServiceListSchema, ServiceSchema } from '../schemas/services.ts'
import { notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'

const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/services', {
    schema: {
      tags: ['services'],
      operationId: 'listServices',
      summary: 'List, filter and search services',
      description: [
        'Offers (Angebote) of the facilities, by default sorted by facility name, category slug and name. Filters: repeating one parameter means OR (`category=beratung&category=bildung`), different parameters combine with AND. `facility` takes a facility UUID or slug; `targetGroup` matches the target groups the service itself names (not those of its facility). Services of deleted facilities or categories are not listed.',
        '',
        '**Search** with `q` over name, description, category, target groups and facility name (ranked by relevance, the service\'s name counting most; each result says why it matched in `match`).',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. `format=ndjson` streams the full result without pages.',
        '',
        '**Sync**: `updatedSince` lists every service whose `updatedAt` is at or after that instant, sorted by `updatedAt`. A service\'s `updatedAt` is the latest change of the service itself, its facility, its category or its target groups, because it embeds their names and labels. A service that was deleted, or whose facility or category was deleted, appears as a tombstone `{ id, deleted: true, deletedAt }`, where `deletedAt` is the service\'s own deletion time, else that of its facility, else that of its category. A search (`q`) lists live services only, so it never returns tombstones.'
      ].join('\n'),
      querystring: ServiceListQuery,
      response: { 200: listResponse(ServiceListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.services.iterate(query))
    return sendPage(request, reply, app.repos.services.list(query))
  })

  app.get('/v1/services/:id', {
    schema: {
      tags: ['services'],
      operationId: 'getService',
      summary: 'Get a service',
      description: 'One service by UUID, with its facility, category, target groups (with the source\'s wording) and sources.',
      params: IdParams,
      response: { 200: ref(ServiceSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const service = app.repos.services.find(request.params.id)
    if (service === undefined) throw notFound('service', request.params.id)
    return service
  })
}

export default servicesRoutes

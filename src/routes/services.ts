import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, idParams, conditionalProblemResponses, listResponse, problemResponses, ref,
  writeProblemResponses
} from '../schemas/common.ts'
import {
  ServiceInputSchema, ServiceListQuery, ServiceListSchema, ServicePatchSchema, ServiceSchema, type ServiceInput
} from '../schemas/services.ts'
import { applyMergePatch, withNulls } from '../lib/merge-patch.ts'
import { canWriteFacility } from '../lib/api-keys.ts'
import { notFound } from '../lib/problem.ts'
import { facilityWrite, requirePrincipal, requireScope } from '../plugins/auth.ts'
import { writableOf, type AuthoriseFacility } from '../repositories/services-repository.ts'
import { collect, keepServicePage, sendExport, sendNdjson, sendPage } from './list-support.ts'
import { servicesCsv } from '../formats/csv.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem, validateRecord } from './write-support.ts'

// A facility's own key may write that facility's services; directory:write may write any.
const authorise = (request: FastifyRequest): AuthoriseFacility => (facility) => {
  requireScope(request, (p) => canWriteFacility(p, facility.id), `write the services of the facility ${facility.slug}`)
}

// Baby-Treff of the Kreativhaus.
const ServiceParams = idParams('a8e095f8-0cb1-53c7-b9b9-dc606141d122')

const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/services', {
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel'] },
    schema: {
      tags: ['services'],
      operationId: 'listServices',
      summary: 'List, filter and search services',
      description: [
        'Offers (Angebote) of the facilities, by default sorted by facility name, category slug and name. Filters: repeating one parameter means OR (`category=beratung&category=bildung`), or with `match=all` AND for `targetGroup`; different parameters combine with AND. `facility` takes a facility UUID or slug; `targetGroup` matches the target groups the service itself names (not those of its facility). Services of deleted facilities or categories are not listed.',
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
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.services.iterate(query))
    if (request.format === 'csv' || request.format === 'csv-excel') {
      return sendExport(reply, request.format, 'services', servicesCsv(collect(app.repos.services.iterate(query)), { excel: request.format === 'csv-excel' }))
    }
    return sendPage(request, reply, keepServicePage(reply, app.repos.services, query, app.repos.services.list(query)))
  })

  app.get('/v1/services/:id', {
    schema: {
      tags: ['services'],
      operationId: 'getService',
      summary: 'Get a service',
      description: 'One service by UUID, with its facility, category, target groups (with the source\'s wording) and sources.',
      params: ServiceParams,
      response: { 200: ref(ServiceSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const service = app.repos.services.find(request.params.id)
    if (service === undefined) throw notFound('service', request.params.id)
    return sendItem(reply, service)
  })

  app.post('/v1/services', {
    config: { access: facilityWrite('create services') },
    schema: {
      tags: ['services'],
      operationId: 'createService',
      summary: 'Create a service',
      description: 'Adds an offer to a facility. Needs a key with `directory:write` or `facility:<id>:write` for the facility named in `facility`. Send `Idempotency-Key` to make retries safe. Unknown facts are `null`; `sources` says where the facts come from. The new service is searchable at once and is in the change feed and its history.',
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: ServiceInputSchema,
      response: {
        201: { ...ref(ServiceSchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    // A key that may write no facility at all is refused before the body is looked at.
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.services.create(request.body, principal.keyId, authorise(request))
      return { status: 201, headers: { location: `/v1/services/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/services/:id', {
    config: { access: facilityWrite('change services') },
    schema: {
      tags: ['services'],
      operationId: 'updateService',
      summary: 'Change a service (JSON Merge Patch)',
      description: 'A JSON Merge Patch (RFC 7386): send only the members to change, `null` clears one. Needs `If-Match` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with `directory:write` or `facility:<id>:write` for the service\'s facility; moving the service to another facility (`facility`) needs the scope of that facility too.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: ServiceParams,
      body: ServicePatchSchema,
      response: {
        200: ref(ServiceSchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.services.update(request.params.id, principal.keyId, (current) => {
      authorise(request)(current.facility)
      checkIfMatch(request, current)
      const before = writableOf(current) as unknown as Record<string, unknown>
      const merged = withNulls(before, applyMergePatch(before, request.body) as Record<string, unknown>)
      validateRecord(ServiceInputSchema, merged)
      return merged as unknown as ServiceInput
    }, authorise(request))
    if (updated === undefined) throw notFound('service', request.params.id)
    return sendItem(reply, updated)
  })

  app.delete('/v1/services/:id', {
    config: { access: facilityWrite('delete services') },
    schema: {
      tags: ['services'],
      operationId: 'deleteService',
      summary: 'Delete a service',
      description: 'A soft delete: the service leaves every list and search (its facility\'s categories and search text follow), and appears as a tombstone with `updatedSince` and as a delete in the change feed. Needs `If-Match` and a key with `directory:write` or `facility:<id>:write` for the service\'s facility.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: ServiceParams,
      response: {
        204: { type: 'null', description: 'Deleted.' },
        400: problemResponses[400],
        404: problemResponses[404],
        ...deleteProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const deleted = app.repos.services.softDelete(request.params.id, principal.keyId, (current) => {
      authorise(request)(current.facility)
      checkIfMatch(request, current)
    })
    if (deleted === undefined) throw notFound('service', request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/v1/services/:id/history', {
    schema: {
      tags: ['services'],
      operationId: 'getServiceHistory',
      summary: 'History of a service',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted services included). The seeded facts have no entries; their provenance is in `sources`.',
      params: ServiceParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.services.resolveAnyId(request.params.id)
    if (id === undefined) throw notFound('service', request.params.id)
    return { id, items: app.repos.history.of('service', id) }
  })
}

export default servicesRoutes

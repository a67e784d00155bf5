import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, problemResponses, ref } from '../schemas/common.ts'
import { ServiceListQuery, ServiceListSchema, ServiceSchema } from '../schemas/services.ts'
import { notFound } from '../lib/problem.ts'

const servicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/services', {
    schema: {
      tags: ['services'],
      operationId: 'listServices',
      summary: 'List services',
      description: 'Offers (Angebote) of the facilities, sorted by facility name, category slug and name. Filters: repeating one parameter means OR (`category=beratung&category=bildung`), different parameters combine with AND. `facility` takes a facility UUID or slug; `targetGroup` matches the target groups the service itself names (not those of its facility). Services of deleted facilities are not listed.',
      querystring: ServiceListQuery,
      response: { 200: ServiceListSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request) => app.repos.services.list(request.query))

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

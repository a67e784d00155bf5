import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import { OrganisationDetailSchema, OrganisationListQuery, OrganisationListSchema } from '../schemas/organisations.ts'
import { notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'

const organisationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/organisations', {
    schema: {
      tags: ['organisations'],
      operationId: 'listOrganisations',
      summary: 'List organisations',
      description: [
        'The Bezirksamt, the JobCenter and the operators (Träger) of facilities, by default sorted by name. Filter by `kind`; repeating it means OR (`kind=jobcenter&kind=district_office`). `facilityCount` counts the facilities each one operates.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.'
      ].join('\n'),
      querystring: OrganisationListQuery,
      response: { 200: listResponse(OrganisationListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.organisations.iterate(query))
    return sendPage(request, reply, app.repos.organisations.list(query))
  })

  app.get('/v1/organisations/:idOrSlug', {
    schema: {
      tags: ['organisations'],
      operationId: 'getOrganisation',
      summary: 'Get an organisation',
      description: 'One organisation by UUID or slug (e.g. `jobcenter-berlin-mitte`), with its units, its sites (Standorte), its public contacts and the facilities it operates. Internal contacts are not listed.',
      params: IdOrSlugParams,
      response: { 200: ref(OrganisationDetailSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const organisation = app.repos.organisations.find(request.params.idOrSlug)
    if (organisation === undefined) throw notFound('organisation', request.params.idOrSlug)
    return organisation
  })
}

export default organisationsRoutes

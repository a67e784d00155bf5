import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, problemResponses, ref } from '../schemas/common.ts'
import { OrganisationDetailSchema, OrganisationListQuery, OrganisationListSchema } from '../schemas/organisations.ts'
import { notFound } from '../lib/problem.ts'

const organisationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/organisations', {
    schema: {
      tags: ['organisations'],
      operationId: 'listOrganisations',
      summary: 'List organisations',
      description: 'The Bezirksamt, the JobCenter and the operators (Träger) of facilities, sorted by name. Filter by `kind`; repeating it means OR (`kind=jobcenter&kind=district_office`). `facilityCount` counts the facilities each one operates.',
      querystring: OrganisationListQuery,
      response: { 200: OrganisationListSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request) => app.repos.organisations.list(request.query))

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

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, problemResponses, ref } from '../schemas/common.ts'
import { FacilityListQuery, FacilityListSchema, FacilitySchema } from '../schemas/facilities.ts'
import { ServiceListSchema } from '../schemas/services.ts'
import { ContactListSchema } from '../schemas/contacts.ts'
import { notFound } from '../lib/problem.ts'

const facilityExample = 'kreativhaus'

const facilitiesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/facilities', {
    schema: {
      tags: ['facilities'],
      operationId: 'listFacilities',
      summary: 'List facilities',
      description: 'Neighbourhood facilities sorted by name. Filters: repeating one parameter means OR (`type=familienzentrum&type=stadtteilzentrum`), different parameters combine with AND. `targetGroup` matches the facility\'s own target groups and those of its services.',
      querystring: FacilityListQuery,
      response: { 200: FacilityListSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request) => app.repos.facilities.list(request.query))

  app.get('/v1/facilities/:idOrSlug', {
    schema: {
      tags: ['facilities'],
      operationId: 'getFacility',
      summary: 'Get a facility',
      description: `One facility by UUID or slug (e.g. \`${facilityExample}\`), with target groups, service categories, partnership evidence and sources.`,
      params: IdOrSlugParams,
      response: { 200: ref(FacilitySchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const facility = app.repos.facilities.find(request.params.idOrSlug)
    if (facility === undefined) throw notFound('facility', request.params.idOrSlug)
    return facility
  })

  app.get('/v1/facilities/:idOrSlug/services', {
    schema: {
      tags: ['facilities', 'services'],
      operationId: 'listFacilityServices',
      summary: 'List the services of a facility',
      description: 'All offers (Angebote) of one facility, sorted by category and name.',
      params: IdOrSlugParams,
      response: { 200: ServiceListSchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const facilityId = app.repos.facilities.resolveId(request.params.idOrSlug)
    if (facilityId === undefined) throw notFound('facility', request.params.idOrSlug)
    return app.repos.services.list({ facility: [facilityId], limit: 500, offset: 0 })
  })

  app.get('/v1/facilities/:idOrSlug/contacts', {
    schema: {
      tags: ['facilities', 'contacts'],
      operationId: 'listFacilityContacts',
      summary: 'List the public contacts of a facility',
      description: 'Contact persons of one facility whose contact data a public source published. Internal contacts are not listed.',
      params: IdOrSlugParams,
      response: { 200: ContactListSchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const facilityId = app.repos.facilities.resolveId(request.params.idOrSlug)
    if (facilityId === undefined) throw notFound('facility', request.params.idOrSlug)
    return app.repos.contacts.list({ facility: [facilityId], limit: 500, offset: 0 })
  })
}

export default facilitiesRoutes

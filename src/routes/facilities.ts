import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import {
  FACILITY_FIELDS, FacilityListQuery, FacilityListSchema, FacilitySchema, type Facility
} from '../schemas/facilities.ts'
import { ServiceListSchema } from '../schemas/services.ts'
import { ContactPageSchema } from '../schemas/contacts.ts'
import { HttpProblem, notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'
import type { FacilityListEntry } from '../repositories/facilities-repository.ts'

const SELECTABLE_FIELDS = new Set<string>([...FACILITY_FIELDS, 'distance', 'match', 'services', 'contacts'])

function parseFields (fields: string | undefined): Set<string> | null {
  if (fields === undefined) return null
  const names = fields.split(',')
  const unknown = names.filter((name) => !SELECTABLE_FIELDS.has(name))
  if (unknown.length > 0) {
    throw new HttpProblem(400, `The request is invalid: query.fields has unknown fields: ${unknown.join(', ')}.`, {
      type: '/problems/validation-error',
      errors: unknown.map((name) => ({ field: 'query.fields', message: `${name} is not a field of Facility` }))
    })
  }
  return new Set(['id', ...names])
}

function project (entry: FacilityListEntry, fields: Set<string> | null): FacilityListEntry {
  if (fields === null || 'deleted' in entry) return entry
  return Object.fromEntries(Object.entries(entry).filter(([name]) => fields.has(name))) as FacilityListEntry
}

const facilitiesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Embeds what `include` asks for into full facility records.
  function embed (entries: FacilityListEntry[], include: string | undefined): void {
    if (include === undefined) return
    const wanted = new Set(include.split(','))
    const live = entries.filter((e): e is Facility => !('deleted' in e))
    const ids = live.map((f) => f.id)
    const servicesByFacility = wanted.has('services') ? app.repos.services.listForFacilities(ids) : null
    const contactsByFacility = wanted.has('contacts') ? app.repos.contacts.listForFacilities(ids) : null
    const descriptions = wanted.has('targetGroups') ? app.repos.vocabularies.targetGroupDescriptions() : null
    for (const facility of live) {
      if (servicesByFacility !== null) facility.services = servicesByFacility.get(facility.id) ?? []
      if (contactsByFacility !== null) facility.contacts = contactsByFacility.get(facility.id) ?? []
      if (descriptions !== null) {
        facility.targetGroups = facility.targetGroups.map((g) => ({ ...g, description: descriptions.get(g.id) ?? null }))
      }
    }
  }

  app.get('/v1/facilities', {
    schema: {
      tags: ['facilities'],
      operationId: 'listFacilities',
      summary: 'List, filter and search facilities',
      description: [
        'Neighbourhood facilities. Filters: repeating one parameter means OR (`type=familienzentrum&type=stadtteilzentrum`), different parameters combine with AND. `targetGroup` matches the facility\'s own target groups and those of its services.',
        '',
        '**Search** with `q` (ranked by relevance; each result says why it matched in `match`). **Where**: `near` + `radius`, `bbox`, `ortsteil`, `bezirksregion`; facilities without coordinates never match a geographic filter. **When**: `openAt`, `openNow`.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.',
        '',
        '**Shape**: `include=services,contacts,targetGroups` embeds related records; `fields=id,name,address` returns only those fields.'
      ].join('\n'),
      querystring: FacilityListQuery,
      response: {
        200: listResponse(FacilityListSchema),
        400: problemResponses[400],
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const { include, fields: fieldList, format, ...query } = request.query
    const fields = parseFields(fieldList)
    if (format === 'ndjson') {
      const batches = app.repos.facilities.iterate(query)
      return sendNdjson(reply, (function * () {
        for (const batch of batches) {
          embed(batch, include)
          yield batch.map((entry) => project(entry, fields))
        }
      })())
    }
    const page = app.repos.facilities.list(query)
    embed(page.items, include)
    return sendPage(request, reply, { ...page, items: page.items.map((entry) => project(entry, fields)) })
  })

  app.get('/v1/facilities/:idOrSlug', {
    schema: {
      tags: ['facilities'],
      operationId: 'getFacility',
      summary: 'Get a facility',
      description: 'One facility by UUID or slug (e.g. `kreativhaus`), with target groups, service categories, partnership evidence and sources.',
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
  }, async (request, reply) => {
    const facilityId = app.repos.facilities.resolveId(request.params.idOrSlug)
    if (facilityId === undefined) throw notFound('facility', request.params.idOrSlug)
    return sendPage(request, reply, app.repos.services.list({ facility: [facilityId], limit: 500, offset: 0 }))
  })

  app.get('/v1/facilities/:idOrSlug/contacts', {
    schema: {
      tags: ['facilities', 'contacts'],
      operationId: 'listFacilityContacts',
      summary: 'List the public contacts of a facility',
      description: 'Contact persons of one facility whose contact data a public source published. Internal contacts are not listed.',
      params: IdOrSlugParams,
      response: { 200: ContactPageSchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const facilityId = app.repos.facilities.resolveId(request.params.idOrSlug)
    if (facilityId === undefined) throw notFound('facility', request.params.idOrSlug)
    return sendPage(request, reply, app.repos.contacts.list({ facility: [facilityId], limit: 500, offset: 0 }))
  })
}

export default facilitiesRoutes

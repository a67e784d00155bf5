import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, IdOrSlugParams, conditionalProblemResponses, listResponse,
  problemResponse, problemResponses, ref, writeProblemResponses, PAGING_DESCRIPTION, SyncQuery
} from '../schemas/common.ts'
import {
  FACILITY_FIELDS, FacilityInputSchema, FacilityListQuery, FacilityListSchema, FacilityPatchSchema, FacilitySchema,
  VerificationInputSchema, type Facility, type FacilityInput
} from '../schemas/facilities.ts'
import { applyMergePatch, withNulls } from '../lib/merge-patch.ts'
import { canWriteFacility } from '../lib/api-keys.ts'
import { directoryWrite, facilityWrite, requirePrincipal, requireScope } from '../plugins/auth.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem, validateRecord } from './write-support.ts'
import { writableOf } from '../repositories/facilities-repository.ts'
import type { ContactAccess } from '../repositories/contacts-repository.ts'
import { contactAccess } from './contacts.ts'
import { ServiceListSchema } from '../schemas/services.ts'
import { ContactPageSchema } from '../schemas/contacts.ts'
import { HttpProblem, notFound } from '../lib/problem.ts'
import { collect, keepServicePage, sendExport, sendNdjson, sendPage } from './list-support.ts'
import { facilitiesCsv } from '../formats/csv.ts'
import { vcards, facilityVcard } from '../formats/vcard.ts'
import { facilitiesFeatureCollection, facilityFeature } from '../formats/geojson.ts'
import { facilityJsonLd } from '../formats/jsonld.ts'
import type { FacilityListEntry } from '../repositories/facilities-repository.ts'

// The records of one facility: usually all on one page; the cursor of links.next for more.
const SubListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 500, description: 'Page size (1–500).' }),
  cursor: SyncQuery.cursor
}, { additionalProperties: false })

const subListOf = (facilityId: string, { limit, cursor }: { limit: number, cursor?: string }) =>
  ({ facility: [facilityId], limit, offset: 0, ...(cursor === undefined ? {} : { cursor }) })

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

// A facility's own key may change its record; directory:write may change any.
function authorise (request: FastifyRequest, facility: Facility): void {
  requireScope(request, (p) => canWriteFacility(p, facility.id), `change the facility ${facility.slug}`)
}

const facilitiesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Embeds what `include` asks for into full facility records.
  function embed (entries: FacilityListEntry[], include: string | undefined, access: ContactAccess): void {
    if (include === undefined) return
    const wanted = new Set(include.split(','))
    const live = entries.filter((e): e is Facility => !('deleted' in e))
    const ids = live.map((f) => f.id)
    const servicesByFacility = wanted.has('services') ? app.repos.services.listForFacilities(ids) : null
    const contactsByFacility = wanted.has('contacts') ? app.repos.contacts.listForFacilities(ids, access) : null
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
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel', 'vcard', 'geojson'] },
    schema: {
      tags: ['facilities'],
      operationId: 'listFacilities',
      summary: 'List, filter and search facilities',
      description: [
        'Neighbourhood facilities. Filters: repeating one parameter means OR (`type=familienzentrum&type=stadtteilzentrum`), or with `match=all` AND for `type`, `targetGroup` and `category`; different parameters combine with AND. `targetGroup` matches the facility\'s own target groups and those of its services.',
        '',
        '**Search** with `q` (ranked by relevance; each result says why it matched in `match`). **Where**: `near` + `radius`, `bbox`, `ortsteil`, `bezirksregion`; facilities without coordinates never match a geographic filter. **When**: `openAt`, `openNow`.',
        '',
        PAGING_DESCRIPTION,
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
    if (request.format === 'ndjson') {
      const batches = app.repos.facilities.iterate(query)
      return sendNdjson(reply, (function * () {
        for (const batch of batches) {
          embed(batch, include, contactAccess(request))
          yield batch.map((entry) => project(entry, fields))
        }
      })())
    }
    if (request.format !== 'json') {
      // Exports are whole documents: every matching facility, filters applied, no pages.
      const all = collect(app.repos.facilities.iterate(query))
      switch (request.format) {
        case 'csv': return sendExport(reply, 'csv', 'facilities', facilitiesCsv(all))
        case 'csv-excel': return sendExport(reply, 'csv-excel', 'facilities', facilitiesCsv(all, { excel: true }))
        case 'vcard': return sendExport(reply, 'vcard', 'facilities', vcards(all))
        case 'geojson': return sendExport(reply, 'geojson', 'facilities', JSON.stringify(facilitiesFeatureCollection(all)))
      }
    }
    const page = app.repos.facilities.list(query)
    // Built from the facilities on the page: kept across writes to other records while the query
    // selects the same facilities. What `include` embeds counts as part of its facility (a service
    // created or deleted is a change of its facility, any other service change one of every
    // facility, and so are changes of target groups, categories and operators; see ChangeLog),
    // but for contacts, which have changes of their own.
    const embedsContacts = include?.split(',').includes('contacts') === true
    reply.cacheDependsOn(...page.items.map((entry) => `facility:${entry.id}`), ...(embedsContacts ? ['contact:*'] : []))
      .cacheRecheck(['facility'], () => app.repos.facilities.pageKey(query), page.key)
    embed(page.items, include, contactAccess(request))
    return sendPage(request, reply, { ...page, items: page.items.map((entry) => project(entry, fields)) })
  })

  app.get('/v1/facilities/:idOrSlug', {
    config: { formats: ['json', 'jsonld', 'vcard', 'geojson'] },
    schema: {
      tags: ['facilities'],
      operationId: 'getFacility',
      summary: 'Get a facility',
      description: 'One facility by UUID or slug (e.g. `kreativhaus`), with target groups, service categories, partnership evidence and sources.',
      params: IdOrSlugParams,
      response: { 200: ref(FacilitySchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const facility = app.repos.facilities.find(request.params.idOrSlug)
    if (facility === undefined) throw notFound('facility', request.params.idOrSlug)
    // Built from the facility's record alone (JSON-LD adds its contacts): the cached answer
    // outlives writes to other records.
    reply.cacheDependsOn(`facility:${facility.id}`, ...(request.format === 'jsonld' ? ['contact:*'] : []))
    switch (request.format) {
      case 'vcard': return sendExport(reply, 'vcard', facility.slug, facilityVcard(facility))
      case 'geojson': return sendExport(reply, 'geojson', facility.slug, JSON.stringify(facilityFeature(facility)))
      case 'jsonld': {
        const contacts = app.repos.contacts.listForFacilities([facility.id]).get(facility.id) ?? []
        return sendExport(reply, 'jsonld', facility.slug, JSON.stringify(facilityJsonLd(facility, { contacts })))
      }
    }
    return sendItem(reply, facility)
  })

  app.post('/v1/facilities', {
    config: { access: directoryWrite('create facilities') },
    schema: {
      tags: ['facilities'],
      operationId: 'createFacility',
      summary: 'Create a facility',
      description: 'Needs a key with `directory:write`. Send `Idempotency-Key` to make retries safe. Unknown facts are `null`; `sources` says where the facts come from. The new facility is in the change feed and its history.',
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: FacilityInputSchema,
      response: {
        201: { ...ref(FacilitySchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.facilities.create(request.body, principal.keyId)
      return { status: 201, headers: { location: `/v1/facilities/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/facilities/:idOrSlug', {
    config: { access: facilityWrite('change facilities') },
    schema: {
      tags: ['facilities'],
      operationId: 'updateFacility',
      summary: 'Change a facility (JSON Merge Patch)',
      description: 'A JSON Merge Patch (RFC 7386): send only the members to change, `null` clears one. Needs `If-Match` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with `directory:write` or `facility:<id>:write` for this facility.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: IdOrSlugParams,
      body: FacilityPatchSchema,
      response: {
        200: ref(FacilitySchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.facilities.update(request.params.idOrSlug, principal.keyId, (current) => {
      authorise(request, current)
      checkIfMatch(request, current)
      const before = writableOf(current) as unknown as Record<string, unknown>
      const merged = withNulls(before, applyMergePatch(before, request.body) as Record<string, unknown>)
      validateRecord(FacilityInputSchema, merged)
      return merged as unknown as FacilityInput
    })
    if (updated === undefined) throw notFound('facility', request.params.idOrSlug)
    return sendItem(reply, updated)
  })

  app.delete('/v1/facilities/:idOrSlug', {
    config: { access: facilityWrite('delete facilities') },
    schema: {
      tags: ['facilities'],
      operationId: 'deleteFacility',
      summary: 'Delete a facility',
      description: 'A soft delete: the facility leaves every list and search, and appears as a tombstone with `updatedSince` and as a delete in the change feed; its services go with it (a delete of each in the change feed, tombstones with `updatedSince`). Refused (409) while contacts, the agreement\'s parties or events name it: a delete would change them without a change of their own, and a party or participant is a fact about the past (a facility that closed keeps its record with `status: closed`). Needs `If-Match` and a key with `directory:write` or `facility:<id>:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: IdOrSlugParams,
      response: {
        204: { type: 'null', description: 'Deleted.' },
        400: problemResponses[400],
        404: problemResponses[404],
        409: problemResponse('Contacts, agreement parties or events still name the facility; `detail` lists them (contacts by id, internal ones too: the key may write them). Nothing was written.'),
        ...deleteProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const deleted = app.repos.facilities.softDelete(request.params.idOrSlug, principal.keyId, (current) => {
      authorise(request, current)
      checkIfMatch(request, current)
    })
    if (deleted === undefined) throw notFound('facility', request.params.idOrSlug)
    return reply.code(204).send(null)
  })

  app.post('/v1/facilities/:idOrSlug/verification', {
    config: { access: facilityWrite('verify facilities') },
    schema: {
      tags: ['facilities'],
      operationId: 'verifyFacility',
      summary: 'Record that a person verified a facility',
      description: 'Sets `verifiedAt` (now) and `verifiedBy` (the body\'s `verifiedBy`, else the key\'s name). This is not an edit: `updatedAt` stays. Needs a key with `directory:write` or `facility:<id>:write`.',
      security: BEARER_AUTH,
      params: IdOrSlugParams,
      body: VerificationInputSchema,
      response: {
        200: ref(FacilitySchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const verified = app.repos.facilities.verify(request.params.idOrSlug, principal.keyId, request.body.verifiedBy ?? principal.name,
      (current) => authorise(request, current))
    if (verified === undefined) throw notFound('facility', request.params.idOrSlug)
    return sendItem(reply, verified)
  })

  app.get('/v1/facilities/:idOrSlug/history', {
    schema: {
      tags: ['facilities'],
      operationId: 'getFacilityHistory',
      summary: 'History of a facility',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted facilities included). The seeded facts have no entries; their provenance is in `sources`.',
      params: IdOrSlugParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.facilities.resolveAnyId(request.params.idOrSlug)
    if (id === undefined) throw notFound('facility', request.params.idOrSlug)
    return { id, items: app.repos.history.of('facility', id) }
  })

  app.get('/v1/facilities/:idOrSlug/services', {
    schema: {
      tags: ['facilities', 'services'],
      operationId: 'listFacilityServices',
      summary: 'List the services of a facility',
      description: 'All offers (Angebote) of one facility, sorted by category and name: up to 500 per page, then `links.next`.',
      params: IdOrSlugParams,
      querystring: SubListQuery,
      response: { 200: ServiceListSchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const facilityId = app.repos.facilities.resolveId(request.params.idOrSlug)
    if (facilityId === undefined) throw notFound('facility', request.params.idOrSlug)
    const query = subListOf(facilityId, request.query)
    return sendPage(request, reply, keepServicePage(reply, app.repos.services, query, app.repos.services.list(query), facilityId))
  })

  app.get('/v1/facilities/:idOrSlug/contacts', {
    schema: {
      tags: ['facilities', 'contacts'],
      operationId: 'listFacilityContacts',
      summary: 'List the public contacts of a facility',
      description: 'Contact persons of one facility whose contact data a public source published, up to 500 per page, then `links.next`. Internal contacts are listed only for keys with `contacts:read-internal`.',
      params: IdOrSlugParams,
      querystring: SubListQuery,
      response: { 200: ContactPageSchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const facilityId = app.repos.facilities.resolveId(request.params.idOrSlug)
    if (facilityId === undefined) throw notFound('facility', request.params.idOrSlug)
    return sendPage(request, reply, app.repos.contacts.list(subListOf(facilityId, request.query), contactAccess(request)))
  })
}

export default facilitiesRoutes

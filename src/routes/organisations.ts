import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { contactAccess } from './contacts.ts'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, idOrSlugParams, conditionalProblemResponses, listResponse, problemResponse,
  problemResponses, ref, writeProblemResponses, PAGING_DESCRIPTION
} from '../schemas/common.ts'
import {
  OrganisationDetailSchema, OrganisationInputSchema, OrganisationListQuery, OrganisationListSchema, OrganisationPatchSchema,
  type OrganisationDetail, type OrganisationInput
} from '../schemas/organisations.ts'
import { applyMergePatch, withNulls } from '../lib/merge-patch.ts'
import { directoryWrite, requirePrincipal } from '../plugins/auth.ts'
import { writableOf } from '../repositories/organisations-repository.ts'
import { notFound } from '../lib/problem.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem, validateRecord } from './write-support.ts'
import { collect, sendExport, sendNdjson, sendPage } from './list-support.ts'
import { organisationsCsv } from '../formats/csv.ts'
import { vcards } from '../formats/vcard.ts'

const OrganisationParams = idOrSlugParams('bezirksamt-mitte')

const READ_ONLY_PARTS = 'Its units and sites are read-only through the API and are not part of the body.'

const organisationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // With a key that reads internal contacts, an organisation's representation lists them and
  // has its own ETag; the public one (read without the key) names the same record, so a write
  // takes either (none when it is the same).
  const publicView = (current: OrganisationDetail): OrganisationDetail[] => {
    const shown = app.repos.organisations.find(current.id)
    return shown === undefined || shown.contacts.length === current.contacts.length ? [] : [shown]
  }
  app.get('/v1/organisations', {
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel', 'vcard'] },
    schema: {
      tags: ['organisations'],
      operationId: 'listOrganisations',
      summary: 'List organisations',
      description: [
        'The Bezirksamt, the JobCenter and the operators (Träger) of facilities, by default sorted by name. Filter by `kind`; repeating it means OR (`kind=jobcenter&kind=district_office`). `facilityCount` counts the facilities each one operates.',
        '',
        PAGING_DESCRIPTION
      ].join('\n'),
      querystring: OrganisationListQuery,
      response: { 200: listResponse(OrganisationListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    // Of facilities, an organisation shows only how many it operates: the answer is kept across
    // writes to facilities while those counts stay the same (reply.cacheRecheck).
    reply.cacheDependsOn('organisation:*').cacheRecheck(['facility'], () => app.repos.organisations.facilityCountsKey())
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.organisations.iterate(query))
    if (request.format === 'csv' || request.format === 'csv-excel') {
      return sendExport(reply, request.format, 'organisations', organisationsCsv(collect(app.repos.organisations.iterate(query)), { excel: request.format === 'csv-excel' }))
    }
    if (request.format === 'vcard') return sendExport(reply, 'vcard', 'organisations', vcards(collect(app.repos.organisations.iterate(query))))
    return sendPage(request, reply, app.repos.organisations.list(query))
  })

  app.get('/v1/organisations/:idOrSlug', {
    schema: {
      tags: ['organisations'],
      operationId: 'getOrganisation',
      summary: 'Get an organisation',
      description: 'One organisation by UUID or slug (e.g. `jobcenter-berlin-mitte`), with its units, its sites (Standorte), its contacts and the facilities it operates. Internal contacts are listed only with a key with `contacts:read-internal` (the answer then has its own `ETag`). Its `ETag` is what `If-Match` of a change or delete names; a write takes the ETag of the public answer as well.',
      params: OrganisationParams,
      response: { 200: ref(OrganisationDetailSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const organisation = app.repos.organisations.find(request.params.idOrSlug, contactAccess(request))
    if (organisation === undefined) throw notFound('organisation', request.params.idOrSlug)
    return sendItem(reply, organisation)
  })

  app.post('/v1/organisations', {
    config: { access: directoryWrite('create organisations') },
    schema: {
      tags: ['organisations'],
      operationId: 'createOrganisation',
      summary: 'Create an organisation',
      description: `Needs a key with \`directory:write\`. Send \`Idempotency-Key\` to make retries safe. Unknown facts are \`null\`; \`sources\` says where the facts come from. ${READ_ONLY_PARTS} The new organisation is in the change feed and its history.`,
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: OrganisationInputSchema,
      response: {
        201: { ...ref(OrganisationDetailSchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.organisations.create(request.body, principal.keyId)
      return { status: 201, headers: { location: `/v1/organisations/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/organisations/:idOrSlug', {
    config: { access: directoryWrite('change organisations') },
    schema: {
      tags: ['organisations'],
      operationId: 'updateOrganisation',
      summary: 'Change an organisation (JSON Merge Patch)',
      description: `A JSON Merge Patch (RFC 7386): send only the members to change, \`null\` clears one. Needs \`If-Match\` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with \`directory:write\`. A new slug must be unused (422). A new name shows at once in the facilities it operates. ${READ_ONLY_PARTS}`,
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: OrganisationParams,
      body: OrganisationPatchSchema,
      response: {
        200: ref(OrganisationDetailSchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.organisations.update(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current, ...publicView(current))
      const before = writableOf(current) as unknown as Record<string, unknown>
      const merged = withNulls(before, applyMergePatch(before, request.body) as Record<string, unknown>)
      validateRecord(OrganisationInputSchema, merged)
      return merged as unknown as OrganisationInput
    }, contactAccess(request))
    if (updated === undefined) throw notFound('organisation', request.params.idOrSlug)
    return sendItem(reply, updated)
  })

  app.delete('/v1/organisations/:idOrSlug', {
    config: { access: directoryWrite('delete organisations') },
    schema: {
      tags: ['organisations'],
      operationId: 'deleteOrganisation',
      summary: 'Delete an organisation',
      description: 'A soft delete: the organisation leaves every list, and appears as a tombstone with `updatedSince` and as a delete in the change feed; its units and sites go with it. Refused (409) while live records name it: facilities as their operator (give them another operator first), contacts, the agreement’s parties or events (participants, or the site an event takes place at). A delete would change them without a change of their own, and a party or participant is a fact about the past. Needs `If-Match` and a key with `directory:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: OrganisationParams,
      response: {
        204: { type: 'null', description: 'Deleted.' },
        400: problemResponses[400],
        404: problemResponses[404],
        409: problemResponse('Live records still name the organisation (facilities as operator, contacts, agreement parties, events); `detail` lists them (contacts by id, internal ones too: the key may write them). Nothing was written.'),
        ...deleteProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const deleted = app.repos.organisations.softDelete(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current, ...publicView(current))
    }, contactAccess(request))
    if (deleted === undefined) throw notFound('organisation', request.params.idOrSlug)
    return reply.code(204).send(null)
  })

  app.get('/v1/organisations/:idOrSlug/history', {
    schema: {
      tags: ['organisations'],
      operationId: 'getOrganisationHistory',
      summary: 'History of an organisation',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted organisations included). The seeded facts have no entries; their provenance is in `sources`.',
      params: OrganisationParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.organisations.resolveAnyId(request.params.idOrSlug)
    if (id === undefined) throw notFound('organisation', request.params.idOrSlug)
    return { id, items: app.repos.history.of('organisation', id) }
  })
}

export default organisationsRoutes

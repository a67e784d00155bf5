import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, idOrSlugParams, idParams, conditionalProblemResponses, listResponse,
  problemResponses, ref, writeProblemResponses, PAGING_DESCRIPTION
} from '../schemas/common.ts'
import {
  AgreementInputSchema, AgreementListQuery, AgreementListSchema, AgreementPartyInputSchema, AgreementPartyPatchSchema,
  AgreementPartyRecordSchema, AgreementPatchSchema, AgreementSchema, EventListSchema, EventPageQuery,
  type AgreementInput, type AgreementPartyInput
} from '../schemas/agreements.ts'
import { applyMergePatch, withNulls } from '../lib/merge-patch.ts'
import { agreementWrite, requirePrincipal } from '../plugins/auth.ts'
import { agreementWritableOf, partyWritableOf } from '../repositories/agreements-repository.ts'
import { notFound } from '../lib/problem.ts'
import { collect, sendCalendar, sendNdjson, sendPage, withoutTombstones } from './list-support.ts'
import { CALENDAR_TITLE } from '../formats/ical.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem, validateRecord } from './write-support.ts'

const AgreementParams = idOrSlugParams('kooperationsvereinbarung-2018')

// Stadtschloss Moabit as a party of the agreement.
const PartyParams = idParams('4207ca19-eae8-51b5-ad11-5f8b6eb6e393')

const agreementExample = 'kooperationsvereinbarung-2018'

// The merged record of a JSON Merge Patch, with removed members back as null, validated whole.
export function mergedInput<T> (schema: Parameters<typeof validateRecord>[0], before: unknown, patch: unknown): T {
  const template = before as Record<string, unknown>
  const merged = withNulls(template, applyMergePatch(template, patch) as Record<string, unknown>)
  validateRecord(schema, merged)
  return merged as unknown as T
}

const PARTY_DESIGN = 'Parties are created under their agreement (`POST /v1/agreements/{idOrSlug}/parties`) and read, changed and deleted as `/v1/agreement-parties/{id}`.'

const agreementsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/agreements', {
    config: { formats: ['json', 'ndjson'] },
    schema: {
      tags: ['agreements'],
      operationId: 'listAgreements',
      summary: 'List agreements',
      description: [
        'Cooperation agreements, by default sorted by signing date (those without a known date last), each with its parties, partner counts and events.',
        '',
        PAGING_DESCRIPTION
      ].join('\n'),
      querystring: AgreementListQuery,
      response: { 200: listResponse(AgreementListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.agreements.iterate(query))
    return sendPage(request, reply, app.repos.agreements.list(query))
  })

  app.get('/v1/agreements/:idOrSlug', {
    schema: {
      tags: ['agreements'],
      operationId: 'getAgreement',
      summary: 'Get an agreement',
      description: `One agreement by UUID or slug (e.g. \`${agreementExample}\`): signing, aims, commitments, outcome, the parties (district office, JobCenter, facilities by confirmation), the partner counts the sources declare versus those known by name, and its events. Its ETag changes with every write to the agreement, its parties and its events.`,
      params: AgreementParams,
      response: { 200: ref(AgreementSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const agreement = app.repos.agreements.find(request.params.idOrSlug)
    if (agreement === undefined) throw notFound('agreement', request.params.idOrSlug)
    return sendItem(reply, agreement)
  })

  app.patch('/v1/agreements/:idOrSlug', {
    config: { access: agreementWrite('change agreements') },
    schema: {
      tags: ['agreements'],
      operationId: 'updateAgreement',
      summary: 'Change an agreement (JSON Merge Patch)',
      description: [
        'A JSON Merge Patch (RFC 7386) of the agreement\'s own facts (`AgreementInput`): send only the members to change, `null` clears one; a new `slug` must be unused. Needs `If-Match` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with `admin` or `directory:write`; facility keys get 403.',
        '',
        `Parties and events are written through their own resources; \`partnerCount.known\` is counted from the parties. ${PARTY_DESIGN} The directory holds the one agreement of 2018 from the seed: there is no POST or DELETE of agreements.`
      ].join('\n'),
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: AgreementParams,
      body: AgreementPatchSchema,
      response: {
        200: ref(AgreementSchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.agreements.update(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current)
      return mergedInput<AgreementInput>(AgreementInputSchema, agreementWritableOf(current), request.body)
    })
    if (updated === undefined) throw notFound('agreement', request.params.idOrSlug)
    return sendItem(reply, updated)
  })

  app.get('/v1/agreements/:idOrSlug/history', {
    schema: {
      tags: ['agreements'],
      operationId: 'getAgreementHistory',
      summary: 'History of an agreement',
      description: 'Who changed which of the agreement\'s own fields when, with old and new values, for every write through the API. Writes to parties and events are in their own histories (`/v1/agreement-parties/{id}/history`, `/v1/events/{idOrSlug}/history`). The seeded facts have no entries; their provenance is in `sources`.',
      params: AgreementParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.agreements.resolveAnyId(request.params.idOrSlug)
    if (id === undefined) throw notFound('agreement', request.params.idOrSlug)
    return { id, items: app.repos.history.of('agreement', id) }
  })

  app.post('/v1/agreements/:idOrSlug/parties', {
    config: { access: agreementWrite('add parties to agreements') },
    schema: {
      tags: ['agreements'],
      operationId: 'createAgreementParty',
      summary: 'Add a party to an agreement',
      description: [
        'Adds a party (a Popolo membership): the district office or the JobCenter (`organisation` of that kind) or a facility (`facility`) — exactly one of them, matching the role; each at most once per agreement (else 422). The agreement\'s `partnerCount.known` and `updatedAt` change with it.',
        '',
        `Needs a key with \`admin\` or \`directory:write\`; facility keys get 403. Send \`Idempotency-Key\` to make retries safe. ${PARTY_DESIGN}`
      ].join('\n'),
      security: BEARER_AUTH,
      headers: CreateHeaders,
      params: AgreementParams,
      body: AgreementPartyInputSchema,
      response: {
        201: { ...ref(AgreementPartyRecordSchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.agreements.createParty(request.params.idOrSlug, request.body, principal.keyId)
      if (created === undefined) throw notFound('agreement', request.params.idOrSlug)
      return { status: 201, headers: { location: `/v1/agreement-parties/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.get('/v1/agreement-parties/:id', {
    schema: {
      tags: ['agreements'],
      operationId: 'getAgreementParty',
      summary: 'Get a party of an agreement',
      description: `One party by UUID, with the agreement it belongs to. Its ETag is the one \`If-Match\` must carry to change or delete the party (the agreement has its own). ${PARTY_DESIGN}`,
      params: PartyParams,
      response: { 200: ref(AgreementPartyRecordSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const party = app.repos.agreements.findParty(request.params.id)
    if (party === undefined) throw notFound('agreement party', request.params.id)
    return sendItem(reply, party)
  })

  app.patch('/v1/agreement-parties/:id', {
    config: { access: agreementWrite('change parties of agreements') },
    schema: {
      tags: ['agreements'],
      operationId: 'updateAgreementParty',
      summary: 'Change a party of an agreement (JSON Merge Patch)',
      description: 'A JSON Merge Patch (RFC 7386) of the party (`AgreementPartyInput`), e.g. `{"confirmation": "signatory", "sources": [...]}` once a source says it signed. Needs `If-Match` with the party\'s ETag (from `GET /v1/agreement-parties/{id}`; missing: 428, stale: 412) and a key with `admin` or `directory:write`. The agreement\'s `partnerCount.known` and `updatedAt` change with it.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: PartyParams,
      body: AgreementPartyPatchSchema,
      response: {
        200: ref(AgreementPartyRecordSchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.agreements.updateParty(request.params.id, principal.keyId, (current) => {
      checkIfMatch(request, current)
      return mergedInput<AgreementPartyInput>(AgreementPartyInputSchema, partyWritableOf(current), request.body)
    })
    if (updated === undefined) throw notFound('agreement party', request.params.id)
    return sendItem(reply, updated)
  })

  app.delete('/v1/agreement-parties/:id', {
    config: { access: agreementWrite('remove parties from agreements') },
    schema: {
      tags: ['agreements'],
      operationId: 'deleteAgreementParty',
      summary: 'Remove a party from an agreement',
      description: 'A soft delete: the party leaves the agreement\'s `parties` and `partnerCount.known`, and the change feed lists the delete (and an update of the agreement). Needs `If-Match` with the party\'s ETag and a key with `admin` or `directory:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: PartyParams,
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
    const deleted = app.repos.agreements.softDeleteParty(request.params.id, principal.keyId, (current) => checkIfMatch(request, current))
    if (deleted === undefined) throw notFound('agreement party', request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/v1/agreement-parties/:id/history', {
    schema: {
      tags: ['agreements'],
      operationId: 'getAgreementPartyHistory',
      summary: 'History of a party of an agreement',
      description: 'Who changed which fields of the party when, with old and new values, for every write through the API (removed parties included). The seeded parties have no entries; their provenance is in `sources` and `evidence`.',
      params: PartyParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.agreements.resolveAnyPartyId(request.params.id)
    if (id === undefined) throw notFound('agreement party', request.params.id)
    return { id, items: app.repos.history.of('agreement_party', id) }
  })

  app.get('/v1/agreements/:idOrSlug/events', {
    config: { formats: ['json', 'ndjson', 'ics'] },
    schema: {
      tags: ['agreements', 'events'],
      operationId: 'listAgreementEvents',
      summary: 'List the events of an agreement',
      description: [
        'Events of the cooperation under one agreement, by default sorted by the instant they start, with location and participants.',
        '',
        PAGING_DESCRIPTION
      ].join('\n'),
      params: AgreementParams,
      querystring: EventPageQuery,
      response: { 200: listResponse(EventListSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const agreementId = app.repos.agreements.resolveId(request.params.idOrSlug)
    if (agreementId === undefined) throw notFound('agreement', request.params.idOrSlug)
    const { format, ...query } = request.query
    const options = { ...query, agreement: [agreementId] }
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.agreements.iterateEvents(options))
    if (request.format === 'ics') return sendCalendar(reply, app.repos.agreements, 'events', withoutTombstones(collect(app.repos.agreements.iterateEvents(options))), CALENDAR_TITLE)
    return sendPage(request, reply, app.repos.agreements.listEvents(options))
  })
}

export default agreementsRoutes

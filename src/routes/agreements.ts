import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import { AgreementListQuery, AgreementListSchema, AgreementSchema, EventListSchema, EventPageQuery } from '../schemas/agreements.ts'
import { notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'

const agreementExample = 'kooperationsvereinbarung-2018'

const agreementsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/agreements', {
    schema: {
      tags: ['agreements'],
      operationId: 'listAgreements',
      summary: 'List agreements',
      description: [
        'Cooperation agreements, by default sorted by signing date (those without a known date last), each with its parties, partner counts and events.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.'
      ].join('\n'),
      querystring: AgreementListQuery,
      response: { 200: listResponse(AgreementListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.agreements.iterate(query))
    return sendPage(request, reply, app.repos.agreements.list(query))
  })

  app.get('/v1/agreements/:idOrSlug', {
    schema: {
      tags: ['agreements'],
      operationId: 'getAgreement',
      summary: 'Get an agreement',
      description: `One agreement by UUID or slug (e.g. \`${agreementExample}\`): signing, aims, commitments, outcome, the parties (district office, JobCenter, facilities by confirmation), the partner counts the sources declare versus those known by name, and its events.`,
      params: IdOrSlugParams,
      response: { 200: ref(AgreementSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const agreement = app.repos.agreements.find(request.params.idOrSlug)
    if (agreement === undefined) throw notFound('agreement', request.params.idOrSlug)
    return agreement
  })

  app.get('/v1/agreements/:idOrSlug/events', {
    schema: {
      tags: ['agreements', 'events'],
      operationId: 'listAgreementEvents',
      summary: 'List the events of an agreement',
      description: [
        'Events of the cooperation under one agreement, by default sorted by the instant they start, with location and participants.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.'
      ].join('\n'),
      params: IdOrSlugParams,
      querystring: EventPageQuery,
      response: { 200: listResponse(EventListSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const agreementId = app.repos.agreements.resolveId(request.params.idOrSlug)
    if (agreementId === undefined) throw notFound('agreement', request.params.idOrSlug)
    const { format, ...query } = request.query
    const options = { ...query, agreement: [agreementId] }
    if (format === 'ndjson') return sendNdjson(reply, app.repos.agreements.iterateEvents(options))
    return sendPage(request, reply, app.repos.agreements.listEvents(options))
  })
}

export default agreementsRoutes

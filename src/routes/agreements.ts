import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, problemResponses, ref } from '../schemas/common.ts'
import { AgreementListQuery, AgreementListSchema, AgreementSchema, EventListSchema, EventPageQuery } from '../schemas/agreements.ts'
import { notFound } from '../lib/problem.ts'

const agreementExample = 'kooperationsvereinbarung-2018'

const agreementsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/agreements', {
    schema: {
      tags: ['agreements'],
      operationId: 'listAgreements',
      summary: 'List agreements',
      description: 'Cooperation agreements sorted by signing date, each with its parties, partner counts and events.',
      querystring: AgreementListQuery,
      response: { 200: AgreementListSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request) => app.repos.agreements.list(request.query))

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
      description: 'Events of the cooperation under one agreement, sorted by start time, with location and participants.',
      params: IdOrSlugParams,
      querystring: EventPageQuery,
      response: { 200: EventListSchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const agreementId = app.repos.agreements.resolveId(request.params.idOrSlug)
    if (agreementId === undefined) throw notFound('agreement', request.params.idOrSlug)
    return app.repos.agreements.listEvents({ agreement: [agreementId], ...request.query })
  })
}

export default agreementsRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponse, problemResponses } from '../schemas/common.ts'
import { API_VERSION } from '../domain/api-info.ts'
import { HttpProblem } from '../lib/problem.ts'

const COLLECTIONS = {
  facilities: '/v1/facilities',
  services: '/v1/services',
  targetGroups: '/v1/target-groups',
  categories: '/v1/categories',
  organisations: '/v1/organisations',
  contacts: '/v1/contacts',
  agreements: '/v1/agreements',
  events: '/v1/events',
  changes: '/v1/changes'
}

const RootSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  version: Type.String(),
  links: Type.Object({
    docs: Type.String(),
    openapi: Type.String(),
    openapiYaml: Type.String(),
    health: Type.String(),
    ready: Type.String(),
    collections: Type.Object(Object.fromEntries(Object.keys(COLLECTIONS).map((k) => [k, Type.String()])) as Record<keyof typeof COLLECTIONS, ReturnType<typeof Type.String>>)
  })
}, {
  description: 'Service root with links to the documentation and every collection.',
  examples: [{
    name: 'Mitte Partner Directory',
    description: 'Facilities, services, target groups, organisations, contacts and the cooperation agreement of Bezirksamt Mitte, JobCenter Berlin Mitte and the Nachbarschaftseinrichtungen in Berlin-Mitte.',
    version: '0.1.0',
    links: { docs: '/docs', openapi: '/openapi.json', openapiYaml: '/openapi.yaml', health: '/health', ready: '/ready', collections: COLLECTIONS }
  }]
})

const StatusSchema = Type.Object({
  status: Type.Literal('ok'),
  checks: Type.Optional(Type.Object({ database: Type.Literal('ok') }))
}, { examples: [{ status: 'ok', checks: { database: 'ok' } }] })

const metaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      tags: ['meta'],
      operationId: 'getRoot',
      summary: 'Service root',
      description: 'Name, version and links to the docs, the OpenAPI document and every collection.',
      response: { 200: RootSchema, 500: problemResponses[500] }
    }
  }, async () => ({
    name: 'Mitte Partner Directory',
    description: 'Facilities, services, target groups, organisations, contacts and the cooperation agreement of Bezirksamt Mitte, JobCenter Berlin Mitte and the Nachbarschaftseinrichtungen in Berlin-Mitte.',
    version: API_VERSION,
    links: {
      docs: '/docs',
      openapi: '/openapi.json',
      openapiYaml: '/openapi.yaml',
      health: '/health',
      ready: '/ready',
      collections: COLLECTIONS
    }
  }))

  app.get('/health', {
    config: { cache: false },
    schema: {
      tags: ['meta'],
      operationId: 'getHealth',
      summary: 'Liveness',
      description: 'Answers 200 while the process is up.',
      response: { 200: StatusSchema, 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return { status: 'ok' as const }
  })

  app.get('/ready', {
    config: { cache: false },
    schema: {
      tags: ['meta'],
      operationId: 'getReadiness',
      summary: 'Readiness',
      description: 'Answers 200 when the database answers a query, 503 (problem+json) otherwise.',
      response: { 200: StatusSchema, 503: problemResponse('The database does not answer.') }
    }
  }, async (request, reply) => {
    // A probe's answer is about this moment: no cache may keep it.
    reply.header('cache-control', 'no-store')
    try {
      app.repos.health.ping()
    } catch (error) {
      request.log.error({ err: error }, 'readiness check failed')
      throw new HttpProblem(503, 'The database does not answer.')
    }
    return { status: 'ok' as const, checks: { database: 'ok' as const } }
  })
}

export default metaRoutes

import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { sharedSchemas } from '../schemas/common.ts'
import { allSharedSchemas } from '../schemas/index.ts'
import { API_TAGS, API_VERSION } from '../domain/api-info.ts'

export default fp(async function openapi (app: FastifyInstance) {
  for (const schema of [...sharedSchemas, ...allSharedSchemas]) app.addSchema(schema)

  // PATCH bodies are JSON Merge Patches; document both media types the parser accepts.
  app.addHook('onRoute', (route) => {
    if (route.method === 'PATCH' && route.schema !== undefined && route.schema.consumes === undefined) {
      route.schema.consumes = ['application/merge-patch+json', 'application/json']
    }
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Mitte Partner Directory',
        version: API_VERSION,
        description: [
          'The partners of the Kooperationsvereinbarung of 27 June 2018 between Bezirksamt Mitte, JobCenter Berlin Mitte and the Nachbarschaftseinrichtungen in Berlin-Mitte: facilities, their services (offers), target groups, organisations, contacts, the agreement itself and its events.',
          '',
          'Every fact carries its public sources; what no source states is `null`. Field names are English, content is German.',
          'Errors are `application/problem+json` (RFC 9457). Filters: repeating one parameter means OR, different parameters combine with AND.'
        ].join('\n'),
        license: { name: 'MIT', identifier: 'MIT' }
      },
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key created with `npm run apikey -- create`. Reads need none.' }
        }
      }
    },
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    }
  })

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: true }
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })))
}, { name: 'openapi' })

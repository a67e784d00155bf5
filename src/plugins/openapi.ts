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
          'Errors are `application/problem+json` (RFC 9457). Filters: repeating one parameter means OR, different parameters combine with AND.',
          'Every GET answer has a strong `ETag` (send `If-None-Match` for `304`); answers of 1 KB and more come compressed (Brotli or gzip) when `Accept-Encoding` allows, with the ETag of that representation (`"…"` becomes `"….br"`; `If-Match` takes either).'
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
    // A query parameter with a default may be left out: the document must not call it required
    // (the validator still fills in the default).
    transform: ({ schema, url, route }) => ({ schema: withDefaultsOptional(schema as Record<string, any> | undefined) as never, url, route }),
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    }
  })

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: true },
    // The page's own copy of the document (/docs/json, a clone); /openapi.json is unchanged.
    transformSpecification: (document) => optionalQueryExamplesAsText(document as Record<string, any>)
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })))
}, { name: 'openapi' })

// Swagger UI fills each parameter's input with its `example`, and "Execute" sends every filled
// input: the optional filters of a list (q, near, bbox, openAt, …) then combine with AND to an
// empty answer. For the page, those examples move into the parameter's description, so "Try it
// out" on a list answers the list, and a person adds the filters they want. Examples of required
// parameters stay: they make the request work at once.
function optionalQueryExamplesAsText (document: Record<string, any>): Record<string, any> {
  for (const item of Object.values<Record<string, any>>(document.paths ?? {})) {
    for (const operation of Object.values<any>(item)) {
      for (const parameter of operation?.parameters ?? []) {
        if (parameter.in !== 'query' || parameter.required === true || parameter.example === undefined) continue
        const example = typeof parameter.example === 'string' ? parameter.example : JSON.stringify(parameter.example)
        parameter.description = [parameter.description, `Example: \`${example}\``].filter(Boolean).join('\n\n')
        delete parameter.example
      }
    }
  }
  return document
}

function withDefaultsOptional (schema: Record<string, any> | undefined): Record<string, any> | undefined {
  const query = schema?.querystring
  if (!Array.isArray(query?.required) || query.properties === undefined) return schema
  const required = query.required.filter((name: string) => query.properties[name]?.default === undefined)
  if (required.length === query.required.length) return schema
  const { required: _dropped, ...rest } = query
  return { ...schema, querystring: required.length > 0 ? { ...rest, required } : rest }
}

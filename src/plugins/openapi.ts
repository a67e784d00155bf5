import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { RETRY_AFTER, sharedSchemas } from '../schemas/common.ts'
import { allSharedSchemas } from '../schemas/index.ts'
import { API_TAGS, API_VERSION } from '../domain/api-info.ts'
import { RATE_LIMIT_HEADERS } from './formats.ts'

const WRITTEN_ETAG = { type: 'string', description: 'The ETag of the record as written: the `If-Match` of the next PATCH or DELETE.' }
const CREATED_HEADERS = {
  Location: { type: 'string', description: 'The URL of the new record.' },
  ETag: WRITTEN_ETAG,
  'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'Only on a retry with the same `Idempotency-Key`: this is the first answer again, nothing new was created.' }
}

// A response (a schema with a description, or a response object with content) with these headers
// too; a copy, since responses are shared constants.
function withHeaders (response: Record<string, unknown>, headers: Record<string, unknown>): Record<string, unknown> {
  return { ...response, headers: { ...(response.headers as Record<string, unknown> | undefined), ...headers } }
}

export default fp(async function openapi (app: FastifyInstance) {
  for (const schema of [...sharedSchemas, ...allSharedSchemas]) app.addSchema(schema)

  // PATCH bodies are JSON Merge Patches; document both media types the parser accepts.
  // A write's answers name the headers it sends: the ETag of the record written (for the next
  // If-Match), on a create also its Location and, for a replayed retry, Idempotent-Replayed; the
  // 429 its RateLimit headers.
  app.addHook('onRoute', (route) => {
    if (route.schema === undefined || route.method === 'GET' || route.method === 'HEAD') return
    if (route.method === 'PATCH' && route.schema.consumes === undefined) {
      route.schema.consumes = ['application/merge-patch+json', 'application/json']
    }
    const responses = route.schema.response as Record<string, Record<string, unknown>> | undefined
    if (responses === undefined) return
    if (responses['201'] !== undefined) responses['201'] = withHeaders(responses['201'], CREATED_HEADERS)
    if (responses['200'] !== undefined) responses['200'] = withHeaders(responses['200'], { ETag: WRITTEN_ETAG })
    if (responses['429'] !== undefined) responses['429'] = withHeaders(responses['429'], { 'Retry-After': RETRY_AFTER, ...RATE_LIMIT_HEADERS })
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
          'Errors are `application/problem+json` (RFC 9457); each type is documented at `/problems/{slug}`. Besides the statuses each operation lists, any request can get, before it reaches an operation: `400` (not valid HTTP, or HTTP/1.1 without `Host`), `401` (a malformed or unknown key), `408` (the request did not arrive within 30 s), `417` (an `Expect` other than `100-continue`), `429` (rate limit) and `431` (request line and headers over 16 KiB, e.g. a URL that long). Filters: repeating one parameter means OR, different parameters combine with AND.',
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
// empty answer; a write would send the example If-Match (412). For the page, the examples of
// optional query and header parameters move into the parameter's description, so "Try it out"
// on a list answers the list, and a person adds the filters and headers they want. Examples of
// required parameters stay: they make the request work at once.
function optionalQueryExamplesAsText (document: Record<string, any>): Record<string, any> {
  for (const item of Object.values<Record<string, any>>(document.paths ?? {})) {
    for (const operation of Object.values<any>(item)) {
      for (const parameter of operation?.parameters ?? []) {
        if ((parameter.in !== 'query' && parameter.in !== 'header') || parameter.required === true || parameter.example === undefined) continue
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

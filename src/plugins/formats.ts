import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import Negotiator from 'negotiator'
import { HttpProblem } from '../lib/problem.ts'
import { problemResponse, RETRY_AFTER } from '../schemas/common.ts'

// One way to ask for a format everywhere: the Accept header, or `format=` for people and
// scripts that cannot set headers (it wins over Accept). Unsupported formats are 406.

export const FORMATS = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
  'csv-excel': 'text/csv; excel=de',
  vcard: 'text/vcard',
  ics: 'text/calendar',
  geojson: 'application/geo+json',
  jsonld: 'application/ld+json'
} as const
export type Format = keyof typeof FORMATS

declare module 'fastify' {
  interface FastifyContextConfig {
    // Formats the route can answer in, the default first. Routes without it answer JSON only.
    formats?: Format[]
  }
  interface FastifyRequest {
    format: Format
  }
}

const BODY_SCHEMAS: Record<Format, object> = {
  json: {},
  ndjson: { type: 'string', description: 'One JSON object per line.' },
  csv: { type: 'string', description: 'RFC 4180 CSV with a header row.' },
  'csv-excel': { type: 'string', description: 'CSV for German Excel: UTF-8 BOM, `;` separator.' },
  vcard: { type: 'string', description: 'vCard 4.0 (RFC 6350).' },
  ics: { type: 'string', description: 'iCalendar (RFC 5545).' },
  geojson: { type: 'object', description: 'GeoJSON (RFC 7946).' },
  jsonld: { type: 'object', description: 'JSON-LD with the schema.org vocabulary.' }
}

// The 200 of a route with several formats lists each media type (JSON keeps its schema).
function documentMediaTypes (responses: Record<string, unknown>, formats: Format[]): void {
  const ok = responses['200'] as { content?: Record<string, { schema: unknown }>, description?: string } | undefined
  if (ok === undefined || formats.length < 2) return
  const content: Record<string, { schema: unknown }> = ok.content === undefined
    ? { 'application/json': { schema: ok } }
    : { ...ok.content }
  for (const format of formats) {
    const media = format === 'csv-excel' ? 'text/csv' : FORMATS[format]
    content[media] ??= { schema: BODY_SCHEMAS[format] }
  }
  responses['200'] = { description: ok.description ?? 'The record in the format asked for.', content }
}

// Media-type parameters in Accept (`application/json; charset=utf-8`, `text/vcard; version=4.0`)
// name what every answer here already is (UTF-8, vCard 4.0): only the q-values are kept, so such a
// range matches its type instead of nothing (406).
function withoutParameters (accept: string): string {
  return accept.split(',').map((range) => {
    const [type = '', ...parameters] = range.split(';')
    const q = parameters.find((p) => /^\s*q\s*=/i.test(p))
    return q === undefined ? type.trim() : `${type.trim()};${q.trim()}`
  }).join(', ')
}

const CACHING_HEADERS = {
  ETag: { type: 'string', description: 'Strong entity tag of this representation (a compressed one has its own, `"….br"` or `"….gzip"`); send it as `If-None-Match` to revalidate.' },
  'Last-Modified': { type: 'string', description: 'HTTP-date of the last change the answer reflects (whole seconds: prefer `If-None-Match`).' },
  'Cache-Control': { type: 'string', description: '`public, max-age=60, must-revalidate`; with an API key `private, no-cache`.' }
}
const PAGE_HEADERS = {
  Link: { type: 'string', description: 'JSON pages only (not exports): RFC 8288 links of the page, `rel="next"` (when there is one) and `rel="first"`.' },
  'X-Total-Count': { type: 'integer', minimum: 0, description: 'JSON pages only (not exports): number of records matching the filters (as `total`).' }
}
export const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': { type: 'integer', description: 'Requests allowed per minute (IETF draft RateLimit header fields; on every answer while the limit is on).' },
  'RateLimit-Remaining': { type: 'integer', description: 'Requests left in the current window.' },
  'RateLimit-Reset': { type: 'integer', description: 'Seconds until the window resets.' }
}
export const STORAGE_UNAVAILABLE = {
  ...problemResponse('The database cannot answer now: its storage is failing (`/problems/storage-unavailable`) or locked by another process (`/problems/storage-busy`). Retry after `Retry-After` seconds.'),
  headers: { 'Retry-After': RETRY_AFTER }
}

// Every GET's 200 names its caching headers (and a page's paging headers), and its 304.
function documentCachingHeaders (responses: Record<string, unknown>): void {
  const ok = responses['200'] as { content?: Record<string, unknown>, description?: string, headers?: Record<string, unknown> } | undefined
  if (ok === undefined) return
  const isPage = ok.content?.['application/x-ndjson'] !== undefined && ok.description?.startsWith('A page of records') === true
  const documented = ok.content === undefined
    ? { description: (ok as { description?: string }).description ?? 'The record.', content: { 'application/json': { schema: ok } } }
    : ok
  responses['200'] = { ...documented, headers: { ...documented.headers, ...CACHING_HEADERS, ...(isPage ? PAGE_HEADERS : {}) } }
  responses['304'] ??= {
    // No body: no content in the document either.
    type: 'null',
    description: 'Not Modified: `If-None-Match` names the current ETag (or `If-Modified-Since` is not before the last change). No body.',
    headers: { ETag: CACHING_HEADERS.ETag, 'Cache-Control': CACHING_HEADERS['Cache-Control'] }
  }
}

function acceptable (request: FastifyRequest, formats: Format[]): Format | undefined {
  const query = request.query as Record<string, unknown> | undefined
  const asked = query?.format
  if (typeof asked === 'string') return (formats as string[]).includes(asked) ? asked as Format : undefined
  const header = request.headers.accept
  if (header === undefined || header.trim() === '') return formats[0]
  // The Excel dialect is only asked for with format=csv-excel; Accept: text/csv means plain CSV.
  const offered = formats.filter((f) => f !== 'csv-excel')
  const media = new Negotiator({ headers: { accept: withoutParameters(header) } }).mediaType(offered.map((f) => FORMATS[f]))
  return offered.find((f) => FORMATS[f] === media)
}

export default fp(async function formats (app: FastifyInstance) {
  app.decorateRequest('format', 'json')

  // Every GET takes `format` and documents its formats and the 406 it can answer.
  app.addHook('onRoute', (route) => {
    // Writes take no query parameters: one sent anyway (a filter meant for a GET, a typo) is 400
    // as on reads, not silently ignored.
    if (route.method !== 'GET' && route.method !== 'HEAD' && route.schema !== undefined && route.schema.hide !== true && route.schema.querystring === undefined) {
      route.schema.querystring = { type: 'object', properties: {}, additionalProperties: false }
      return
    }
    if (route.method !== 'GET' || route.schema === undefined || route.schema.hide === true) return
    const formats = route.config?.formats ?? ['json']
    const format = {
      type: 'string',
      enum: formats,
      description: `Response format: ${formats.map((f) => `\`${f}\` (${FORMATS[f]})`).join(', ')}. The same as sending Accept; this parameter wins. Anything else is 406.`
    }
    const query = route.schema.querystring as { properties?: Record<string, unknown> } | undefined
    // A copy: query schemas are shared constants.
    route.schema.querystring = query === undefined
      ? { type: 'object', properties: { format }, additionalProperties: false }
      : { ...query, properties: { ...query.properties, format } }
    if (route.schema.response !== undefined) {
      const responses = route.schema.response as Record<string, unknown>
      // Every GET takes the format parameter (400 for unknown parameters), may get a bad
      // Authorization header (401) and an unavailable format (406).
      responses['400'] ??= problemResponse('Invalid request: problem details listing each failing field.')
      responses['401'] ??= problemResponse('A malformed, unknown or revoked API key was sent (reads need none).')
      responses['406'] ??= problemResponse('The format asked for (`format=` or `Accept`) is not available here.')
      responses['429'] ??= { ...problemResponse('Too many requests from this client or key; see the RateLimit headers.'), headers: { 'Retry-After': RETRY_AFTER, ...RATE_LIMIT_HEADERS } }
      responses['503'] ??= STORAGE_UNAVAILABLE
      documentMediaTypes(responses, formats)
      documentCachingHeaders(responses)
    }
  })

  app.addHook('preValidation', async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return
    const formats = request.routeOptions.config.formats ?? ['json']
    const format = acceptable(request, formats)
    if (format === undefined) {
      throw new HttpProblem(406, `This resource is available as ${formats.join(', ')} (ask with format= or Accept).`, {
        type: '/problems/not-acceptable'
      })
    }
    request.format = format
  })
}, { name: 'formats' })

import { STATUS_CODES } from 'node:http'
import { isUtf8 } from 'node:buffer'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.ts'
import { compilersFactory } from './lib/schema-compilers.ts'
import { HttpProblem, problemTypeFor } from './lib/problem.ts'
import database from './plugins/database.ts'
import problems from './plugins/problems.ts'
import openapi from './plugins/openapi.ts'
import repositories from './plugins/repositories.ts'
import httpCache from './plugins/http-cache.ts'
import corsPolicy from './plugins/cors.ts'
import protection from './plugins/protection.ts'
import formats from './plugins/formats.ts'
import metaRoutes from './routes/meta.ts'
import facilitiesRoutes from './routes/facilities.ts'
import servicesRoutes from './routes/services.ts'
import vocabulariesRoutes from './routes/vocabularies.ts'
import organisationsRoutes from './routes/organisations.ts'
import contactsRoutes from './routes/contacts.ts'
import agreementsRoutes from './routes/agreements.ts'
import eventsRoutes from './routes/events.ts'
import changesRoutes from './routes/changes.ts'
import dataQualityRoutes from './routes/data-quality.ts'
import problemRoutes from './routes/problems.ts'
import hsdsRoutes from './routes/hsds.ts'
import auth from './plugins/auth.ts'
import { invalidBodyText } from './lib/body-text.ts'
import { UUID_PATTERN } from './lib/uuid.ts'

export interface AppOptions {
  config: Pick<Config, 'DATABASE_PATH' | 'LOG_LEVEL'> & Partial<Pick<Config, 'RATE_LIMIT_MAX' | 'CORS_WRITE_ORIGINS' | 'TRUST_PROXY' | 'DATABASE_SYNCHRONOUS'>>
  // Seed an empty database with the real directory (true except in tests that build their own data).
  seed?: boolean
  // An in-memory copy of this serialized database instead of DATABASE_PATH (tests).
  databaseImage?: Buffer
  logger?: FastifyServerOptions['logger']
  // How long a client may take to send a whole request, and how long a connection may stay
  // silent (tests shorten them).
  timeouts?: { requestMs: number, idleMs: number }
}

const ANY_CASE_UUID = new RegExp(UUID_PATTERN, 'i')

// A problem+json body for answers written before any route (Node's parser, Expect).
const rawProblem = (status: number, detail: string): string => JSON.stringify({ ...problemTypeFor(status), status, detail })

// A slow client (one byte every few seconds) must not hold a connection for ever.
const TIMEOUTS = { requestMs: 30_000, idleMs: 60_000 }

// An API key is a bearer token for the Authorization header; one pasted into a URL by mistake
// must not end up in the logs.
const API_KEY_IN_TEXT = /mpd_[A-Za-z0-9]{10}_[A-Za-z0-9_-]+/g
export const withoutKeys = (url: string): string => url.replace(API_KEY_IN_TEXT, 'mpd_[redacted]')
// Query values may be personal data (a searched name, a cursor holding a contact's name): the
// log keeps the path and the names of the parameters only.
export const loggedUrl = (url: string): string => {
  const query = url.indexOf('?')
  if (query === -1) return withoutKeys(url)
  const names = url.slice(query + 1).split('&').map((pair) => pair.split('=', 1)[0]!.slice(0, 40))
  return withoutKeys(`${url.slice(0, query)}?${names.map((name) => `${name}=…`).join('&')}`)
}

export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
    serializers: {
      // No client addresses or headers in logs: they are personal data and may hold secrets.
      req: (req) => ({ method: req.method, url: loggedUrl(req.url), id: req.id }),
      res: (res) => ({ statusCode: res.statusCode })
    }
  }
}

export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const timeouts = options.timeouts ?? TIMEOUTS
  const app = Fastify({
    logger: options.logger ?? loggerOptions(options.config.LOG_LEVEL),
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
    schemaController: { compilersFactory },
    bodyLimit: 1024 * 1024,
    // Behind a reverse proxy, the client's address (for the rate limit) is the one the proxy names
    // in X-Forwarded-For, believed only from these proxies; otherwise every client would share the
    // proxy's allowance.
    trustProxy: options.config.TRUST_PROXY === undefined || options.config.TRUST_PROXY === '' ? false : options.config.TRUST_PROXY.split(','),
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    // Node checks the request timeout of open connections at this interval (30 s by default, so a
    // slow request could live for up to twice the timeout).
    // A request without Host is answered 400 as RFC 9112 §3.2 asks, but as problem+json by the
    // hook below instead of Node's empty answer.
    http: { headersTimeout: timeouts.requestMs, connectionsCheckingInterval: Math.max(50, Math.floor(timeouts.requestMs / 6)), requireHostHeader: false },
    // Errors of the HTTP parser and the request timeout, before any route runs: a problem+json
    // answer (408, 400, 431) where the socket can still take one, and the connection closed.
    clientErrorHandler: (error, socket) => {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ECONNRESET' || socket.destroyed) return
      const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
      // As Node does: nothing is written once an answer has begun.
      const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
      if (socket.writable && !answering) {
        const body = rawProblem(status, status === 408 ? 'The request was not received in time.' : status === 431 ? 'The request line and headers are larger than 16 KiB (a URL or headers that long).' : 'The request is not valid HTTP.')
        socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      }
      socket.destroy(error)
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors the router raises before any route runs (a malformed %-escape, an over-long path
    // parameter) get the same problem+json as everything else, as a 400.
    frameworkErrors: (error, request, reply) => {
      const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'A path parameter is longer than 200 characters.'
        : 'The URL is malformed (an invalid %-escape).'
      return (reply as unknown as FastifyReply).code(400).type('application/problem+json; charset=utf-8').send({
        ...problemTypeFor(400), status: 400, detail, instance: request.url, errors: [{ field: 'path', message: detail }]
      })
    }
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(problems)
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return done(new HttpProblem(400, 'An HTTP/1.1 request needs a Host header (RFC 9112 §3.2).', { type: '/problems/bad-request' }))
    }
    done()
  })
  // UUIDs are case-insensitive on input (RFC 9562 §4): a path parameter written in capitals names
  // the same record. Slugs are lower-case only, so nothing else is changed.
  app.addHook('preValidation', (request, _reply, done) => {
    const params = request.params as Record<string, unknown> | undefined
    if (params !== undefined && params !== null) {
      for (const [name, value] of Object.entries(params)) {
        if (typeof value === 'string' && ANY_CASE_UUID.test(value)) params[name] = value.toLowerCase()
      }
    }
    done()
  })
  // An Expect other than 100-continue (RFC 9110 §10.1.1): 417 as problem+json, not Node's empty one.
  app.server.on('checkExpectation', (request, response) => {
    const body = rawProblem(417, 'Only the expectation 100-continue is supported.')
    response.writeHead(417, { 'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body)
    request.resume()
  })
  // JSON bodies, and JSON Merge Patch bodies (RFC 7386), whose text must be characters a record
  // can keep (body-text.ts). JSON is UTF-8 (RFC 8259 §8.1): another charset, a content coding or
  // bytes that are not UTF-8 are refused rather than stored with U+FFFD in place of what could
  // not be read.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const parseBody = (request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    const coding = request.headers['content-encoding']?.trim().toLowerCase()
    if (coding !== undefined && coding !== '' && coding !== 'identity') {
      return done(new HttpProblem(415, `The body has the content coding '${coding.slice(0, 40)}': send it without one (Content-Encoding is not supported on requests). Nothing was written.`, { type: '/problems/unsupported-media-type' }))
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase()
    // (US-ASCII is a subset of UTF-8.)
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      return done(new HttpProblem(415, `The body is declared as charset=${charset.slice(0, 40)}: JSON bodies must be UTF-8. Nothing was written.`, { type: '/problems/unsupported-media-type' }))
    }
    if (!isUtf8(body)) {
      return done(new HttpProblem(400, 'The body is not valid UTF-8. Nothing was written.', { type: '/problems/bad-request' }))
    }
    const text = body.toString('utf8')
    parseJson(request, text, (error, value) => {
      if (error !== null) return done(error, undefined)
      const problem = invalidBodyText(text, value)
      if (problem !== null) return done(problem, undefined)
      done(null, value)
    })
  }
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseBody)
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'buffer' }, parseBody)
  // Bodies are JSON only; anything else is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain')
  await app.register(database, {
    path: options.databaseImage ?? options.config.DATABASE_PATH,
    seed: options.seed ?? true,
    synchronous: options.config.DATABASE_SYNCHRONOUS ?? 'normal'
  })
  await app.register(repositories)
  // The order of the onRequest hooks: 304s for anonymous revalidations that are still current
  // (http-cache.ts, with the stored CORS headers; without a rate limit also the stored answers
  // themselves), CORS (so that every other answer, 401 and 429 included, is readable by a
  // browser), authentication, then protection.ts (rate limit, cached responses, security headers).
  const rateLimitMax = options.config.RATE_LIMIT_MAX ?? 600
  await app.register(httpCache, { answerFirst: rateLimitMax === 0 })
  await app.register(corsPolicy, { writeOrigins: (options.config.CORS_WRITE_ORIGINS ?? '').split(',').filter(Boolean) })
  await app.register(auth)
  await app.register(protection, { rateLimitMax })
  await app.register(openapi)
  await app.register(formats)

  await app.register(metaRoutes)
  await app.register(facilitiesRoutes)
  await app.register(servicesRoutes)
  await app.register(vocabulariesRoutes)
  await app.register(organisationsRoutes)
  await app.register(contactsRoutes)
  await app.register(agreementsRoutes)
  await app.register(eventsRoutes)
  await app.register(changesRoutes)
  await app.register(dataQualityRoutes)
  await app.register(hsdsRoutes)
  await app.register(problemRoutes)

  return app
}

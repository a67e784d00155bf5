import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import { HttpProblem, problemTypeFor } from '../lib/problem.ts'

export interface ProtectionOptions {
  // Requests per minute per API key or, without a key, per client address; 0 switches it off.
  rateLimitMax: number
}

// The order of the onRequest hooks is the point of this plugin (the response cache has answered
// still-current anonymous revalidations with 304 before all of them, see http-cache.ts):
// 1. the rate limit counts every other request, including those answered from the cache;
// 2. the response cache answers repeated anonymous GETs with the stored response, whose stored
//    headers already include the security and CORS headers of the first answer (without a rate
//    limit, the first hook has done so already);
// 3. only then helmet runs, for the rest (CORS, registered before, has run for every request);
export default fp(async function protection (app: FastifyInstance, options: ProtectionOptions) {
  if (options.rateLimitMax > 0) {
    await app.register(rateLimit, {
      // Not per route (route hooks run after all global ones): one global hook, placed here.
      global: false,
      max: options.rateLimitMax,
      timeWindow: 60_000,
      enableDraftSpec: true,
      keyGenerator: (request: FastifyRequest) => request.principal === null ? `address:${request.ip}` : `key:${request.principal.keyId}`,
      errorResponseBuilder: (_request, context) => {
        const problem = new HttpProblem(429, `Too many requests: at most ${context.max} per minute. Retry in ${Math.ceil(context.ttl / 1000)} s.`)
        Object.assign(problem, { statusCode: 429, ...problemTypeFor(429) })
        return problem
      }
    })
    app.addHook('onRequest', app.rateLimit())
  }
  app.addHook('onRequest', app.responseCache.serve)

  await app.register(helmet, {
    // The API serves JSON; only /docs is HTML, and Swagger UI needs its own inline styles.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        // The service is often run on plain http (localhost, an intranet address); upgrading
        // the docs page's requests to https would break it there.
        upgradeInsecureRequests: null
      }
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' }
  })
  // 4. A malformed, unknown or revoked key gets its 401 last: counted by the rate limit (per
  //    address: such a request has no principal), with the security headers. So does a write
  //    without a key (401) or without the scope (403), before its body is read.
  app.addHook('onRequest', app.checkAccess)
  // An answer sent before the request's body was read in full (401, 403 and 429 come before it
  // is read, 415 without reading it) closes the connection, as fastify does after a 413: else
  // Node would go on reading and dropping the rest of a body that will not be taken, as much as
  // a client sends, and a slow one would meet the request timeout after the answer (a second
  // answer on the connection). Requests without a body keep their connection.
  app.addHook('onSend', (request, reply, payload, done) => {
    const headers = request.headers
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')
    if (hasBody && !request.raw.complete) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'protection', dependencies: ['auth', 'http-cache'] })

import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import { HttpProblem, problemTypeFor } from '../lib/problem.ts'

export interface ProtectionOptions {
  // Requests per minute per API key or, without a key, per client address; 0 switches it off.
  rateLimitMax: number
}

// Security headers and rate limits. The response cache answers still-current revalidations
// (304) before the limiter runs, so they are not counted; every other request is.
export default fp(async function protection (app: FastifyInstance, options: ProtectionOptions) {
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

  app.addHook('onRequest', app.responseCache.revalidate)
  if (options.rateLimitMax > 0) {
    await app.register(rateLimit, {
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
  }
  app.addHook('onRequest', app.responseCache.serve)
}, { name: 'protection', dependencies: ['auth', 'http-cache'] })

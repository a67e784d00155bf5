import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import cors from '@fastify/cors'

const READ_METHODS = new Set(['GET', 'HEAD'])

// Public reads are open to every origin; browsers may read the caching and paging headers.
// Writes from a browser are allowed only for the configured origins (CORS_WRITE_ORIGINS).
export default fp(async function corsPolicy (app: FastifyInstance, options: { writeOrigins: string[] }) {
  const writeOrigins = new Set(options.writeOrigins)
  await app.register(cors, {
    delegator: (request: FastifyRequest, callback) => {
      const requested = request.method === 'OPTIONS' ? String(request.headers['access-control-request-method'] ?? 'GET').toUpperCase() : request.method
      const origin = request.headers.origin
      const isRead = READ_METHODS.has(requested)
      callback(null, {
        origin: isRead ? '*' : (origin !== undefined && writeOrigins.has(origin) ? origin : false),
        methods: isRead ? ['GET', 'HEAD', 'OPTIONS'] : ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
        allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'Idempotency-Key'],
        exposedHeaders: ['ETag', 'Last-Modified', 'Link', 'Location', 'X-Total-Count', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'],
        maxAge: 86400
      })
    }
  })
}, { name: 'cors' })

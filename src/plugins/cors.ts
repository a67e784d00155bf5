import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import cors from '@fastify/cors'

const READ_METHODS = new Set(['GET', 'HEAD'])

// Public reads are open to every origin; browsers may read the caching and paging headers.
// Writes from a browser are allowed only for the configured origins (CORS_WRITE_ORIGINS).
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'Idempotency-Key']
const EXPOSED_HEADERS = ['ETag', 'Last-Modified', 'Link', 'Location', 'X-Total-Count', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After']
// strictPreflight off: an OPTIONS request without the preflight headers is answered like a
// preflight for a read (204 and the read policy), not with @fastify/cors's 400 in plain text.
const policy = (origin: string | false, methods: string[]) => ({ origin, methods, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, maxAge: 86400, strictPreflight: false })
const READ_POLICY = policy('*', ['GET', 'HEAD', 'OPTIONS'])
const WRITE_METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS']
const NO_WRITES = policy(false, WRITE_METHODS)

// Public reads are open to every origin; browsers may read the caching and paging headers.
// Writes from a browser are allowed only for the configured origins (CORS_WRITE_ORIGINS).
export default fp(async function corsPolicy (app: FastifyInstance, options: { writeOrigins: string[] }) {
  const writePolicies = new Map(options.writeOrigins.map((origin) => [origin, policy(origin, WRITE_METHODS)]))
  await app.register(cors, {
    delegator: (request: FastifyRequest, callback) => {
      const requested = request.method === 'OPTIONS' ? String(request.headers['access-control-request-method'] ?? 'GET').toUpperCase() : request.method
      if (READ_METHODS.has(requested)) {
        callback(null, READ_POLICY)
        return
      }
      const origin = request.headers.origin
      callback(null, (origin === undefined ? undefined : writePolicies.get(origin)) ?? NO_WRITES)
    }
  })
}, { name: 'cors' })

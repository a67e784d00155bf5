import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { canWriteAgreement, canWriteDirectory, canWriteSomeFacility, type Principal } from '../lib/api-keys.ts'
import { HttpProblem } from '../lib/problem.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    // The 401 for a malformed, unknown or revoked key, sent by checkAccess.
    authFailure: HttpProblem | undefined
  }
  interface FastifyInstance {
    // The onRequest hook that sends the 401 of a bad key, and for a write (config.access) the 401
    // of a missing key or the 403 of a key without the scope: protection.ts adds it after the
    // rate limit (which counts such requests by address) and the security headers. An onRequest
    // hook runs before the body is read, so none of these depends on the body.
    checkAccess: (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void
  }
  interface FastifyContextConfig {
    // A write: which keys may try it at all. Checked before the body is read, so a request
    // without a key is 401 and a key without a fitting scope 403, whatever the body holds (too
    // large, not JSON, of another media type, invalid). Rules that need the record (which
    // facility) are the handler's.
    access?: Access
  }
}

export interface Access {
  allowed: (principal: Principal) => boolean
  // What the key may not do, for the 403: "create facilities (needs directory:write)".
  what: string
}

// Writes of the whole directory (facilities, organisations, vocabularies).
export const directoryWrite = (what: string): Access => ({ allowed: canWriteDirectory, what: `${what} (needs directory:write)` })
// Writes a facility's own key may do for its facility (which one, the route checks).
export const facilityWrite = (what: string): Access => ({ allowed: canWriteSomeFacility, what: `${what} (needs directory:write or facility:<id>:write)` })
// The agreement, its parties and events.
export const agreementWrite = (what: string): Access => ({ allowed: canWriteAgreement, what: `${what} (needs admin or directory:write)` })

// The challenge of a 401 (RFC 9110 §11.6.1, RFC 6750 §3): API keys are bearer tokens.
const CHALLENGE = 'Bearer realm="Mitte Partner Directory"'

const MESSAGES = {
  malformed: 'The Authorization header must be `Bearer <API key>`.',
  unknown: 'The API key is not known.',
  revoked: 'The API key has been revoked.'
}

// Reads need no key; a key that is sent must be valid, whatever the request.
export default fp(async function auth (app: FastifyInstance) {
  app.decorateRequest('principal', null)
  app.decorateRequest('authFailure', undefined)
  app.decorate('checkAccess', (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    let failure = request.authFailure
    const access = request.routeOptions.config.access
    if (failure === undefined && access !== undefined) {
      try {
        requireScope(request, access.allowed, access.what)
      } catch (error) {
        failure = error as HttpProblem
      }
    }
    done(failure)
  })
  // A callback hook, not async: it runs on every request, and most have no header.
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const header = request.headers.authorization
    if (header === undefined) {
      done()
      return
    }
    const match = /^Bearer +(\S+)\s*$/i.exec(header)
    const result = match === null ? { ok: false as const, reason: 'malformed' as const } : app.repos.apiKeys.authenticate(match[1]!)
    if (!result.ok) {
      // Not yet: the rate limit counts it, helmet sets its headers, then checkAccess sends it.
      request.authFailure = new HttpProblem(401, MESSAGES[result.reason], { type: '/problems/invalid-api-key', headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` } })
      done()
      return
    }
    request.principal = result.principal
    done()
  })
  // Every write names who may try it (config.access): a route without it would read and validate
  // the body of anonymous requests and leave the key to its handler.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    if (methods.some((m) => !['GET', 'HEAD', 'OPTIONS'].includes(m)) && route.config?.access === undefined) {
      throw new Error(`${methods.join(',')} ${route.url}: a write route needs config.access`)
    }
  })
}, { name: 'auth', dependencies: ['repositories'] })

export function requirePrincipal (request: FastifyRequest): Principal {
  if (request.principal === null) {
    throw new HttpProblem(401, 'This operation needs an API key: send `Authorization: Bearer <API key>`.', { type: '/problems/api-key-required', headers: { 'www-authenticate': CHALLENGE } })
  }
  return request.principal
}

export function requireScope (request: FastifyRequest, allowed: (principal: Principal) => boolean, what: string): Principal {
  const principal = requirePrincipal(request)
  if (!allowed(principal)) {
    throw new HttpProblem(403, `The API key '${principal.name}' may not ${what}.`, { type: '/problems/insufficient-scope' })
  }
  return principal
}

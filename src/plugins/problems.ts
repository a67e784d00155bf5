import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Db } from '../db/client.ts'
import { HttpProblem, hasProblemType, InvalidQueryError, InvalidRecordError, PROBLEM_TYPES, StillInUseError, problemTypeFor, storageProblem, type FieldError, type ProblemDetails } from '../lib/problem.ts'
import { classifySqliteError, type StorageCondition, type StorageFault } from '../lib/sqlite-errors.ts'
import { keywordMessage } from '../schemas/common.ts'

// The methods a path may have (OPTIONS answers every path: CORS).
const METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE']

const CONTEXT_NAMES: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' }

interface AjvError { instancePath: string, message?: string, keyword: string, params: Record<string, unknown> }

// A body of a million wrong array items fails a million times: an answer lists the first
// MAX_FIELD_ERRORS failing fields (and says how many more there are), in time linear in the errors.
export const MAX_FIELD_ERRORS = 20

function fieldErrors (context: string | undefined, errors: AjvError[]): { errors: FieldError[], more: number } {
  const prefix = CONTEXT_NAMES[context ?? ''] ?? context ?? 'request'
  const seen = new Set<string>()
  const out: FieldError[] = []
  for (const error of errors) {
    let path = error.instancePath.split('/').filter(Boolean).join('.')
    if (error.keyword === 'required') path = [path, String(error.params.missingProperty)].filter(Boolean).join('.')
    if (error.keyword === 'additionalProperties') path = [path, String(error.params.additionalProperty)].filter(Boolean).join('.')
    const field = path === '' ? prefix : `${prefix}.${path}`
    let message = keywordMessage(error.keyword, error.params, error.message ?? 'is invalid')
    if (error.keyword === 'additionalProperties') message = 'is not a known parameter'
    if (error.keyword === 'enum' || error.keyword === 'const') message = `must be one of the allowed values${Array.isArray(error.params.allowedValues) ? `: ${error.params.allowedValues.join(', ')}` : ''}`
    const key = `${field}\u0000${message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ field, message })
  }
  // A nullable member (anyOf [T, null]) also reports "must be null" and "must match a schema in
  // anyOf", and its parents report the same failure again; keep the errors a client can act on:
  // a generic error goes when a specific one names its field or a field inside it.
  const generic = (e: FieldError) => e.message === 'must be null' || e.message === 'must match a schema in anyOf' ||
    e.message.startsWith('must be equal to constant')
  const explained = new Set<string>()
  for (const e of out) {
    if (generic(e)) continue
    const parts = e.field.split('.')
    for (let n = 1; n <= parts.length; n++) explained.add(parts.slice(0, n).join('.'))
  }
  const kept = out.filter((e) => !generic(e) || !explained.has(e.field))
  return { errors: kept.slice(0, MAX_FIELD_ERRORS), more: Math.max(0, kept.length - MAX_FIELD_ERRORS) }
}

export function toProblem (error: FastifyError | HttpProblem | Error, instance: string): ProblemDetails {
  if (error instanceof HttpProblem) {
    return { type: error.type, title: error.title, status: error.status, detail: error.message, instance, ...(error.errors ? { errors: error.errors } : {}) }
  }
  if (error instanceof StillInUseError) {
    return { type: '/problems/still-in-use', title: PROBLEM_TYPES['still-in-use'].title, status: 409, detail: error.message, instance }
  }
  if (error instanceof InvalidQueryError) {
    return { type: '/problems/validation-error', title: 'Bad Request', status: 400, detail: error.message, instance, errors: [{ field: error.field, message: error.reason }] }
  }
  if (error instanceof InvalidRecordError) {
    return { type: '/problems/invalid-record', title: 'Unprocessable Content', status: 422, detail: error.message, instance, errors: error.errors }
  }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    const { errors, more } = fieldErrors(fastifyError.validationContext, fastifyError.validation as unknown as AjvError[])
    return {
      type: '/problems/validation-error',
      title: 'Bad Request',
      status: 400,
      detail: `The request is invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}${more > 0 ? `; and ${more} more` : ''}.`,
      instance,
      errors
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own client errors (malformed JSON, wrong media type, too large) carry safe messages.
    // A status without a problem type of its own goes out as 400, so type and status agree.
    const sent = hasProblemType(status) ? status : 400
    return { ...problemTypeFor(sent), status: sent, detail: error.message, instance }
  }
  return { ...problemTypeFor(500), status: 500, detail: 'An unexpected error occurred. It has been logged.', instance }
}

const FAULT_MESSAGES: Record<StorageCondition, string> = {
  full: 'database storage is full: requests that write are refused with 503 until space is freed; reads continue',
  'read-only': 'database storage is read-only: requests that write are refused with 503 until it is writable again; reads continue',
  busy: 'database is locked by another process: requests that write are refused with 503 while it holds the lock',
  unavailable: 'database storage reports I/O errors: requests that need it are refused with 503'
}
const REPEAT_LOG_MS = 60_000
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

// A storage fault is logged once when it starts, then at most once a minute with the number of
// refused requests, and once more when a write succeeds again: a full disk must not also fill
// the log. Only the condition and SQLite's code are logged (no stack, no request data).
function storageFaultLog () {
  let episode: (StorageFault & { since: string, refused: number, loggedAt: number }) | undefined
  return {
    failed (fault: StorageFault, log: FastifyBaseLogger): void {
      const now = Date.now()
      const level = fault.condition === 'busy' ? 'warn' : 'error'
      if (episode === undefined || episode.condition !== fault.condition) {
        episode = { ...fault, since: new Date(now).toISOString(), refused: 1, loggedAt: now }
        log[level]({ storage: fault.condition, code: fault.code }, FAULT_MESSAGES[fault.condition])
        return
      }
      episode.refused++
      if (now - episode.loggedAt >= REPEAT_LOG_MS) {
        episode.loggedAt = now
        log[level]({ storage: fault.condition, code: fault.code, since: episode.since, refused: episode.refused }, `still: ${FAULT_MESSAGES[fault.condition]}`)
      }
    },
    succeeded (log: FastifyBaseLogger): void {
      if (episode === undefined) return
      log.warn({ storage: 'ok', after: episode.condition, since: episode.since, refused: episode.refused }, 'database storage recovered: writes succeed again')
      episode = undefined
    },
    get active (): boolean { return episode !== undefined }
  }
}

export default fp(async function problems (app: FastifyInstance) {
  const faults = storageFaultLog()
  // The database is registered after this plugin; its file tells the causes of an I/O error apart.
  const databaseFile = (): string | undefined => (app as FastifyInstance & { db?: Db }).db?.$client.name

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A full, read-only, locked or failing database storage is a 503 the client can retry, not a 500.
    const fault = classifySqliteError(error, databaseFile())
    const cause = fault === undefined ? error : storageProblem(fault.condition)
    const problem = toProblem(cause, request.url)
    if (fault !== undefined) faults.failed(fault, request.log)
    else if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ status: problem.status, problem: problem.type }, 'request rejected')
    if (cause instanceof HttpProblem && cause.headers !== undefined) reply.headers(cause.headers)
    // Also for errors sent before helmet's hook runs (a 429 of the rate limit).
    reply.header('x-content-type-options', 'nosniff')
    return reply.code(problem.status).type('application/problem+json; charset=utf-8').send(problem)
  })

  // The first write that succeeds after a storage fault ends it.
  app.addHook('onResponse', (request, reply, done) => {
    if (faults.active && WRITE_METHODS.has(request.method) && reply.statusCode < 400) faults.succeeded(request.log)
    done()
  })

  const maxParamLength = (app.initialConfig as { routerOptions?: { maxParamLength?: number } }).routerOptions?.maxParamLength ?? 100
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    // A path that exists with other methods is 405 with the methods it has (RFC 9110 §15.5.6).
    // (Not for a path segment longer than the router's limit for parameters: the router answers
    // any such path with a stand-in route, which names no real method.)
    const routable = path.split('/').every((segment) => segment.length <= maxParamLength)
    const allowed = routable ? METHODS.filter((method) => method !== request.method && app.findRoute({ method, url: path }) !== null) : []
    if (allowed.length > 0) {
      const problem: ProblemDetails = {
        ...problemTypeFor(405),
        status: 405,
        detail: `${path} does not answer ${request.method}; it answers ${allowed.join(', ')}. See /docs for the API.`,
        instance: request.url
      }
      return reply.code(405).header('allow', allowed.join(', ')).type('application/problem+json; charset=utf-8').send(problem)
    }
    const problem: ProblemDetails = {
      ...problemTypeFor(404),
      status: 404,
      detail: `No route ${request.method} ${path}. See /docs for the API.`,
      instance: request.url
    }
    return reply.code(404).type('application/problem+json; charset=utf-8').send(problem)
  })
}, { name: 'problems' })

import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { HttpProblem, InvalidRecordError, problemTypeFor, type FieldError, type ProblemDetails } from '../lib/problem.ts'

const CONTEXT_NAMES: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' }

interface AjvError { instancePath: string, message?: string, keyword: string, params: Record<string, unknown> }

function fieldErrors (context: string | undefined, errors: AjvError[]): FieldError[] {
  const prefix = CONTEXT_NAMES[context ?? ''] ?? context ?? 'request'
  const seen = new Set<string>()
  const out: FieldError[] = []
  for (const error of errors) {
    let path = error.instancePath.split('/').filter(Boolean).join('.')
    if (error.keyword === 'required') path = [path, String(error.params.missingProperty)].filter(Boolean).join('.')
    if (error.keyword === 'additionalProperties') path = [path, String(error.params.additionalProperty)].filter(Boolean).join('.')
    const field = path === '' ? prefix : `${prefix}.${path}`
    let message = error.message ?? 'is invalid'
    if (error.keyword === 'additionalProperties') message = 'is not a known parameter'
    if (error.keyword === 'enum' || error.keyword === 'const') message = `must be one of the allowed values${Array.isArray(error.params.allowedValues) ? `: ${error.params.allowedValues.join(', ')}` : ''}`
    const key = `${field}\u0000${message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ field, message })
  }
  // A nullable member (anyOf [T, null]) also reports "must be null" and "must match a schema in
  // anyOf", and its parents report the same failure again; keep the errors a client can act on.
  const generic = (e: FieldError) => e.message === 'must be null' || e.message === 'must match a schema in anyOf' ||
    e.message.startsWith('must be equal to constant')
  return out.filter((e) => !generic(e) || !out.some((o) => o !== e && !generic(o) && (o.field === e.field || o.field.startsWith(`${e.field}.`))))
}

export function toProblem (error: FastifyError | HttpProblem | Error, instance: string): ProblemDetails {
  if (error instanceof HttpProblem) {
    return { type: error.type, title: error.title, status: error.status, detail: error.message, instance, ...(error.errors ? { errors: error.errors } : {}) }
  }
  if (error instanceof InvalidRecordError) {
    return { type: '/problems/invalid-record', title: 'Unprocessable Content', status: 422, detail: error.message, instance, errors: error.errors }
  }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    const errors = fieldErrors(fastifyError.validationContext, fastifyError.validation as unknown as AjvError[])
    return {
      type: '/problems/validation-error',
      title: 'Bad Request',
      status: 400,
      detail: `The request is invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`,
      instance,
      errors
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own client errors (malformed JSON, wrong media type, too large) carry safe messages.
    return { ...problemTypeFor(status), status, detail: error.message, instance }
  }
  return { ...problemTypeFor(500), status: 500, detail: 'An unexpected error occurred. It has been logged.', instance }
}

export default fp(async function problems (app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error, request.url)
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ status: problem.status, problem: problem.type }, 'request rejected')
    return reply.code(problem.status).type('application/problem+json; charset=utf-8').send(problem)
  })

  app.setNotFoundHandler((request, reply) => {
    const problem: ProblemDetails = {
      ...problemTypeFor(404),
      status: 404,
      detail: `No route ${request.method} ${request.url.split('?')[0]}. See /docs for the API.`,
      instance: request.url
    }
    return reply.code(404).type('application/problem+json; charset=utf-8').send(problem)
  })
}, { name: 'problems' })

import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { HttpProblem, InvalidRecordError, type FieldError } from '../lib/problem.ts'
import { strongEtag } from '../plugins/http-cache.ts'
import { identityEtag } from '../lib/content-coding.ts'
import type { Principal } from '../lib/api-keys.ts'
import type { IdempotencyStore } from '../repositories/idempotency-repository.ts'
import { keywordMessage } from '../schemas/common.ts'

// The ETag of one record: a hash of its JSON representation. Item GETs send it, and writes
// compare If-Match with it inside their transaction, so both always agree.
export function entityTag (record: unknown): string {
  return strongEtag(JSON.stringify(record))
}

export function sendItem<T> (reply: FastifyReply, record: T): T {
  reply.header('etag', entityTag(record))
  return record
}

// Optimistic concurrency (RFC 9110 If-Match): a write must name the version it changes.
// `others`: other representations of the record as it is now (what a reader without the
// writer's scopes gets); their ETags name the current record too.
export function checkIfMatch (request: FastifyRequest, current: unknown, ...others: unknown[]): void {
  const header = request.headers['if-match']
  if (header === undefined) {
    throw new HttpProblem(428, 'This write needs an If-Match header with the current ETag of the record (GET it first).', { type: '/problems/if-match-required' })
  }
  const etag = entityTag(current)
  // An ETag from a compressed GET names the same record ("….br" → "…").
  const candidates = header.split(',').map((c) => identityEtag(c.trim()))
  if (!candidates.includes('*') && !candidates.includes(etag) && !others.some((other) => candidates.includes(entityTag(other)))) {
    throw new HttpProblem(412, 'The record has changed since you read it (the If-Match ETag is not current). GET it again and reapply your change.', { type: '/problems/stale-etag' })
  }
  // RFC 9110 §13.2.2: If-None-Match is evaluated next; on a write, `*` (the record exists) or its
  // current ETag (weak comparison) fails the precondition.
  const noneMatch = request.headers['if-none-match']
  if (noneMatch !== undefined) {
    const unwanted = noneMatch.split(',').map((c) => identityEtag(c.trim().replace(/^W\//, '')))
    if (unwanted.includes('*') || unwanted.includes(etag)) {
      throw new HttpProblem(412, 'If-None-Match names the record as it is now (or `*`: it exists), so the write is not done.', { type: '/problems/precondition-failed' })
    }
  }
}

// Semantic validation of a merged record: 422 with each failing field.
export function validateRecord (schema: TSchema, value: unknown, prefix = 'body'): void {
  if (Value.Check(schema, value)) return
  const errors: FieldError[] = []
  for (const error of Value.Errors(schema, value)) {
    const field = [prefix, ...error.instancePath.split('/').filter(Boolean)].join('.')
    if (!errors.some((e) => e.field === field)) errors.push({ field, message: keywordMessage(error.keyword, error.params, error.message) })
    if (errors.length >= 20) break
  }
  throw unprocessable(errors)
}

export function unprocessable (errors: FieldError[]): InvalidRecordError {
  return new InvalidRecordError(errors)
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

// Idempotency-Key on POST: the first response is stored and replayed for retries with the same
// key and body; the same key with another body is a client error.
export function idempotentCreate (
  store: IdempotencyStore, request: FastifyRequest, reply: FastifyReply, principal: Principal,
  create: () => { status: number, headers: Record<string, string>, body: unknown }
): FastifyReply {
  const key = request.headers['idempotency-key']
  if (key === undefined) {
    const result = create()
    for (const [name, value] of Object.entries(result.headers)) reply.header(name, value)
    return reply.code(result.status).send(result.body)
  }
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new HttpProblem(400, 'Idempotency-Key must be 1–200 visible ASCII characters.', { errors: [{ field: 'header.idempotency-key', message: 'is not a valid key' }] })
  }
  const requestHash = createHash('sha256').update(JSON.stringify(request.body ?? null)).digest('hex')
  const path = request.url.split('?')[0]!
  // The record and its stored response commit together: a crash cannot leave one without the
  // other. The key is looked up inside the same (immediate) transaction, so a request with the same
  // key from another process that committed first is replayed here, not created again (before,
  // the insert of the key failed: 500).
  const outcome = store.atomically(() => {
    const previous = store.find(principal.keyId, key)
    if (previous !== undefined) return { previous }
    const result = create()
    const body = JSON.stringify(result.body)
    store.save(principal.keyId, key, request.method, path, requestHash, { status: result.status, headers: result.headers, body })
    return { created: { status: result.status, headers: result.headers, body } }
  })
  const previous = outcome.previous
  if (previous !== undefined) {
    if (previous.requestHash !== requestHash || previous.method !== request.method || previous.path !== path) {
      throw new HttpProblem(422, 'This Idempotency-Key was already used for a different request.', { type: '/problems/idempotency-key-reused' })
    }
    reply.header('idempotent-replayed', 'true')
  }
  const answer = previous ?? outcome.created!
  for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value)
  return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body)
}

import type { StorageCondition } from './sqlite-errors.ts'

// RFC 9457 problem details. Every error the API sends is one of these; `type` is a URI reference
// relative to the service root, documented in the OpenAPI document under the Problem schema.

export interface FieldError {
  field: string
  message: string
}

export interface ProblemDetails {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  errors?: FieldError[]
}

// Every problem type the API sends, with its status and what it means. GET /problems lists them
// and /problems/{slug} describes one: a type URI leads to its documentation (RFC 9457 §3.1.1).
export const PROBLEM_TYPES = {
  'bad-request': { status: 400, title: 'Bad Request', description: 'The request cannot be read: a malformed %-escape in the URL, an over-long path parameter or a body that is not valid JSON.' },
  'validation-error': { status: 400, title: 'Bad Request', description: 'A parameter, header or body member fails its schema or a rule between parameters (`near` with `radius`, `full` with `minimal`). `errors` lists each failing field, such as `query.limit` or `body.name`.' },
  'invalid-cursor': { status: 400, title: 'Bad Request', description: 'The `cursor` was not issued by this API, or was issued for another sort order. Start again from the first page.' },
  unauthorized: { status: 401, title: 'Unauthorized', description: 'Authentication failed.' },
  'api-key-required': { status: 401, title: 'Unauthorized', description: 'The operation writes and needs an API key: send `Authorization: Bearer <API key>`. Reads need none.' },
  'invalid-api-key': { status: 401, title: 'Unauthorized', description: 'The Authorization header is not `Bearer <API key>`, or the key is unknown or revoked. Sent for any request that carries such a header, reads included.' },
  forbidden: { status: 403, title: 'Forbidden', description: 'The request is not allowed.' },
  'insufficient-scope': { status: 403, title: 'Forbidden', description: 'The API key is valid, but its scopes do not allow this write (for example a facility\'s own key writing another facility). `detail` names the scope needed.' },
  'not-found': { status: 404, title: 'Not Found', description: 'No record with this id or slug exists (or it is deleted, or not visible to this reader), or no such route.' },
  'method-not-allowed': { status: 405, title: 'Method Not Allowed', description: 'The path exists but not with this method; `Allow` lists the methods it has.' },
  'not-acceptable': { status: 406, title: 'Not Acceptable', description: 'The format asked for (`format=` or `Accept`) is not available for this resource; `detail` lists those that are.' },
  conflict: { status: 409, title: 'Conflict', description: 'The request conflicts with the current state of the data.' },
  'still-in-use': { status: 409, title: 'Conflict', description: 'The record cannot be deleted while others use or name it (an operator of facilities; a category or target group of services; a facility or organisation that contacts, the agreement\'s parties or events name). `detail` lists them. Move or delete those first.' },
  'request-timeout': { status: 408, title: 'Request Timeout', description: 'The whole request did not arrive within 30 seconds; the connection is closed. Send it again.' },
  'length-required': { status: 411, title: 'Length Required', description: 'A body was sent without `Content-Length` (or chunked encoding).' },
  'precondition-failed': { status: 412, title: 'Precondition Failed', description: '`If-None-Match` names the record as it is now (or `*`: it exists), so the write was not done; or a key that may write a record but not read it (a facility\'s key and an internal contact of that facility) sent a condition other than `If-Match: *` (an ETag would tell it whether a guessed version is the current one). Nothing was written.' },
  'stale-etag': { status: 412, title: 'Precondition Failed', description: 'The `If-Match` ETag is not the current one: the record changed since it was read. GET it again and reapply the change. Nothing was written.' },
  'payload-too-large': { status: 413, title: 'Payload Too Large', description: 'The body is larger than 1 MiB. Nothing was written.' },
  'expectation-failed': { status: 417, title: 'Expectation Failed', description: 'The request has an `Expect` header other than `100-continue`. Nothing was read or written.' },
  'range-not-satisfiable': { status: 416, title: 'Range Not Satisfiable', description: 'The `Range` asked for lies outside the file (static files of the docs page only; API answers ignore Range).' },
  'unsupported-media-type': { status: 415, title: 'Unsupported Media Type', description: 'The body is not JSON: send `application/json` (or, for PATCH, `application/merge-patch+json`). Nothing was written.' },
  'unprocessable-content': { status: 422, title: 'Unprocessable Content', description: 'The request is well-formed but cannot be carried out.' },
  'invalid-record': { status: 422, title: 'Unprocessable Content', description: 'The record is well-formed but breaks a rule of the directory (an unknown facility or category, a slug already used, opening hours that do not parse, a merged record that is not valid). `errors` lists each failing field. Nothing was written.' },
  'idempotency-key-reused': { status: 422, title: 'Unprocessable Content', description: 'This `Idempotency-Key` was already used for a different request. Use a new key for a new create.' },
  'if-match-required': { status: 428, title: 'Precondition Required', description: 'PATCH and DELETE need `If-Match` with the ETag of the record as it was read. Nothing was written.' },
  'precondition-required': { status: 428, title: 'Precondition Required', description: 'The request must be conditional.' },
  'too-many-requests': { status: 429, title: 'Too Many Requests', description: 'Too many requests from this client or key in the current window; `Retry-After` and the RateLimit headers say when to try again.' },
  'request-header-fields-too-large': { status: 431, title: 'Request Header Fields Too Large', description: 'The request line and headers together are larger than the server takes (16 KiB): too many or too large headers, or a URL that long. The connection is closed.' },
  'internal-server-error': { status: 500, title: 'Internal Server Error', description: 'An unexpected error; no internals are disclosed. It is logged with the request id.' },
  'service-unavailable': { status: 503, title: 'Service Unavailable', description: 'The service cannot answer now; retry after `Retry-After` seconds.' },
  'storage-full': { status: 503, title: 'Service Unavailable', description: 'The database storage is full. Nothing was written; reads keep working. Retry after `Retry-After` seconds.' },
  'storage-read-only': { status: 503, title: 'Service Unavailable', description: 'The database storage is read-only. Nothing was written; reads keep working. Retry after `Retry-After` seconds.' },
  'storage-busy': { status: 503, title: 'Service Unavailable', description: 'The database is locked by another process (a backup, a maintenance command). Nothing was written. Retry after `Retry-After` seconds.' },
  'storage-unavailable': { status: 503, title: 'Service Unavailable', description: 'The database storage reported an I/O error, or cannot be opened. Nothing was written. Retry after `Retry-After` seconds.' }
} as const satisfies Record<string, { status: number, title: string, description: string }>

export type ProblemSlug = keyof typeof PROBLEM_TYPES
export type ProblemType = `/problems/${ProblemSlug}`

// The type of an error whose code names no type of its own.
const BY_STATUS: Record<number, ProblemSlug> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  408: 'request-timeout',
  409: 'conflict',
  411: 'length-required',
  412: 'precondition-failed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  416: 'range-not-satisfiable',
  417: 'expectation-failed',
  422: 'unprocessable-content',
  428: 'precondition-required',
  429: 'too-many-requests',
  431: 'request-header-fields-too-large',
  500: 'internal-server-error',
  503: 'service-unavailable'
}

export class HttpProblem extends Error {
  readonly status: number
  readonly type: string
  readonly title: string
  readonly errors: FieldError[] | undefined
  // Response headers that belong to the problem (Retry-After).
  readonly headers: Record<string, string> | undefined

  constructor (status: number, detail: string, options: { type?: ProblemType, title?: string, errors?: FieldError[], headers?: Record<string, string> } = {}) {
    super(detail)
    const fallback = problemTypeFor(status)
    this.status = status
    this.type = options.type ?? fallback.type
    this.title = options.title ?? (options.type === undefined ? fallback.title : PROBLEM_TYPES[options.type.slice('/problems/'.length) as ProblemSlug].title)
    this.errors = options.errors
    this.headers = options.headers
  }
}

// Whether an answer with this status has a type of its own (else it is sent as a 400 or 500).
export const hasProblemType = (status: number): boolean => BY_STATUS[status] !== undefined

export function problemTypeFor (status: number): { type: ProblemType, title: string } {
  const slug = BY_STATUS[status] ?? (status >= 500 ? 'internal-server-error' : 'bad-request')
  return { type: `/problems/${slug}`, title: PROBLEM_TYPES[slug].title }
}

// The database cannot write (or answer) because of its storage: 503 with Retry-After. SQLite
// rolls back the transaction of a failed statement, so nothing of the request was written.
const STORAGE_PROBLEMS: Record<StorageCondition, { slug: ProblemSlug, retryAfter: number, detail: string }> = {
  full: {
    slug: 'storage-full',
    retryAfter: 60,
    detail: 'The database storage is full, so this request could not be completed. Nothing was written; reads still work. Retry when space has been freed.'
  },
  'read-only': {
    slug: 'storage-read-only',
    retryAfter: 60,
    detail: 'The database storage is read-only, so this request could not be completed. Nothing was written; reads still work. Retry when the storage is writable again.'
  },
  busy: {
    slug: 'storage-busy',
    retryAfter: 2,
    detail: 'The database is locked by another process (such as a backup or a maintenance command), so this request could not be completed. Nothing was written. Retry in a moment.'
  },
  unavailable: {
    slug: 'storage-unavailable',
    retryAfter: 30,
    detail: 'The database storage reported an I/O error, so this request could not be completed. Nothing was written. Retry later.'
  }
}

export function storageProblem (condition: StorageCondition): HttpProblem {
  const { slug, retryAfter, detail } = STORAGE_PROBLEMS[condition]
  return new HttpProblem(503, detail, { type: `/problems/${slug}`, headers: { 'retry-after': String(retryAfter) } })
}

export const notFound = (what: string, id: string) => new HttpProblem(404, `No ${what} with id or slug '${id}' exists.`)

// A record that cannot be deleted while others depend on it (the operator of facilities, the
// category of services). Repositories throw it; the error handler answers 409 still-in-use.
export class StillInUseError extends Error {}

// A query whose parameters cannot be answered together (sort=relevance without q, a radius
// without near). Repositories throw it; the error handler answers 400 naming the parameter.
export class InvalidQueryError extends Error {
  readonly field: string
  readonly reason: string

  constructor (field: string, reason: string) {
    super(`The request is invalid: ${field} ${reason}.`)
    this.field = field
    this.reason = reason
  }
}

// A record that is well-formed but breaks a rule of the directory (unknown reference, duplicate
// slug, unparsable opening hours). Repositories throw it; the error handler answers 422.
export class InvalidRecordError extends Error {
  readonly errors: FieldError[]

  constructor (errors: FieldError[]) {
    super(`The record is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`)
    this.errors = errors
  }
}

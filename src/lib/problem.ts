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

const TITLES: Record<number, [string, string]> = {
  400: ['bad-request', 'Bad Request'],
  401: ['unauthorized', 'Unauthorized'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not Found'],
  405: ['method-not-allowed', 'Method Not Allowed'],
  406: ['not-acceptable', 'Not Acceptable'],
  409: ['conflict', 'Conflict'],
  412: ['precondition-failed', 'Precondition Failed'],
  413: ['payload-too-large', 'Payload Too Large'],
  415: ['unsupported-media-type', 'Unsupported Media Type'],
  422: ['unprocessable-content', 'Unprocessable Content'],
  428: ['precondition-required', 'Precondition Required'],
  429: ['too-many-requests', 'Too Many Requests'],
  500: ['internal-server-error', 'Internal Server Error'],
  503: ['service-unavailable', 'Service Unavailable']
}

export class HttpProblem extends Error {
  readonly status: number
  readonly type: string
  readonly title: string
  readonly errors: FieldError[] | undefined
  // Response headers that belong to the problem (Retry-After).
  readonly headers: Record<string, string> | undefined

  constructor (status: number, detail: string, options: { type?: string, title?: string, errors?: FieldError[], headers?: Record<string, string> } = {}) {
    super(detail)
    const [slug, title] = TITLES[status] ?? ['error', 'Error']
    this.status = status
    this.type = options.type ?? `/problems/${slug}`
    this.title = options.title ?? title
    this.errors = options.errors
    this.headers = options.headers
  }
}

export function problemTypeFor (status: number): { type: string, title: string } {
  const [slug, title] = TITLES[status] ?? (status >= 500 ? TITLES[500]! : TITLES[400]!)
  return { type: `/problems/${slug}`, title }
}

// The database cannot write (or answer) because of its storage: 503 with Retry-After. SQLite
// rolls back the transaction of a failed statement, so nothing of the request was written.
const STORAGE_PROBLEMS: Record<StorageCondition, { slug: string, retryAfter: number, detail: string }> = {
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

// A record that is well-formed but breaks a rule of the directory (unknown reference, duplicate
// slug, unparsable opening hours). Repositories throw it; the error handler answers 422.
export class InvalidRecordError extends Error {
  readonly errors: FieldError[]

  constructor (errors: FieldError[]) {
    super(`The record is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`)
    this.errors = errors
  }
}

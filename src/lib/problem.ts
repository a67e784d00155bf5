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

  constructor (status: number, detail: string, options: { type?: string, title?: string, errors?: FieldError[] } = {}) {
    super(detail)
    const [slug, title] = TITLES[status] ?? ['error', 'Error']
    this.status = status
    this.type = options.type ?? `/problems/${slug}`
    this.title = options.title ?? title
    this.errors = options.errors
  }
}

export function problemTypeFor (status: number): { type: string, title: string } {
  const [slug, title] = TITLES[status] ?? (status >= 500 ? TITLES[500]! : TITLES[400]!)
  return { type: `/problems/${slug}`, title }
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

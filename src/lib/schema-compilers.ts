import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

// Fastify's own validator (Ajv) and serializer (fast-json-stringify) compilers, kept per process:
// compiling every route schema costs a few hundred milliseconds, and the tests build many app
// instances with identical schemas. A running server builds one app, so nothing changes there.
// Fastify hands the compilers fresh copies of the schema objects, so identity cannot serve as
// the key: a compiled function is keyed by the schema's JSON (with the set of shared schema $ids
// and the options), which also lets routes with equal schemas share one.

type RouteDefinition = { method: string, url: string, httpStatus: string, contentType?: string, schema?: unknown }
type Serializer = (doc: unknown) => string

const buildFastJsonStringify = SerializerSelector()
const serializers = new Map<string, Serializer>()

function externalsKey (externalSchemas: unknown): string {
  return Object.keys((externalSchemas ?? {}) as Record<string, unknown>).sort().join(',')
}

function buildSerializer (externalSchemas?: unknown, options?: unknown) {
  const compile = buildFastJsonStringify(externalSchemas, options as never)
  const prefix = `${externalsKey(externalSchemas)}\u0001${JSON.stringify(options ?? null)}`
  return (route: RouteDefinition): Serializer => {
    let compiled: Serializer | undefined
    // Compiled on first use: most error statuses of most routes are never sent, and start-up
    // should not pay for them. Routes with the same schema (every problem response, shared list
    // envelopes) share one compiled serializer, found by the schema's JSON.
    return (doc: unknown) => {
      if (compiled === undefined) {
        const key = `${prefix}\u0001${route.contentType ?? ''}\u0001${JSON.stringify(route.schema)}`
        compiled = serializers.get(key)
        if (compiled === undefined) serializers.set(key, compiled = compile(route as never) as Serializer)
      }
      return compiled(doc)
    }
  }
}

type Validator = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown, schemaEnv?: unknown }

const buildAjvValidator = AjvCompiler()

// Validators also compile on first use. Fastify reads `schemaEnv` (to let Ajv coerce a root
// value) and `errors` from the function, so both are forwarded to the compiled one.
const validators = new Map<string, Validator>()

// Query strings, path parameters and headers are text, so their validators coerce ("5" is a
// number where the schema says so, one value is an array of one). A JSON body has types of its
// own: there, 5 where a string belongs is an error, not "5".
function bodyOptions (options: unknown, allErrors: boolean): unknown {
  const given = (options ?? {}) as { customOptions?: Record<string, unknown> }
  return { ...given, customOptions: { ...given.customOptions, coerceTypes: false, allErrors } }
}

// A body fails first with one error (cheap whatever its size); then, if it is of an ordinary size,
// it is validated again for every failing field. A megabyte of wrong array items would otherwise
// cost seconds of the event loop to list a million errors nobody reads.
const ALL_ERRORS_BYTES = 64 * 1024

function ordinarySize (data: unknown): boolean {
  try {
    return JSON.stringify(data).length <= ALL_ERRORS_BYTES
  } catch {
    // Nested too deeply to serialise (the parser took it; the stack would not): not ordinary.
    return false
  }
}

function bodyValidator (first: Validator, compileAll: () => Validator): Validator {
  let errors: unknown = null
  // Compiled when a body first fails: most bodies are valid.
  let all: Validator | undefined
  const validate = ((data: unknown, context?: unknown) => {
    if (first(data, context) === true) {
      errors = null
      return true
    }
    if (!ordinarySize(data)) {
      errors = first.errors
      return false
    }
    all ??= compileAll()
    errors = all(data, context) === false ? all.errors : first.errors
    return false
  }) as Validator
  Object.defineProperty(validate, 'errors', { get: () => errors })
  Object.defineProperty(validate, 'schemaEnv', { get: () => first.schemaEnv })
  return validate
}

// Fastify asks for a compiler in every encapsulation context; creating it (an Ajv instance with
// all shared schemas) also waits until a request needs a validator. Like serializers, compiled
// validators are kept per process, keyed by the route and the part of the request.
function buildValidator (externalSchemas: unknown, options: unknown) {
  type Compile = (route: unknown) => Validator
  const compilers = new Map<string, Compile>()
  const compilerFor = (kind: 'text' | 'body-first' | 'body-all'): Compile => {
    let compile = compilers.get(kind)
    if (compile === undefined) {
      const ajvOptions = kind === 'text' ? options : bodyOptions(options, kind === 'body-all')
      compile = buildAjvValidator(externalSchemas as never, ajvOptions as never) as Compile
      compilers.set(kind, compile)
    }
    return compile
  }
  const compileFor = (route: unknown, httpPart: string | undefined): Validator => httpPart === 'body'
    ? bodyValidator(compilerFor('body-first')(route), () => compilerFor('body-all')(route))
    : compilerFor('text')(route)
  const prefix = `${externalsKey(externalSchemas)}\u0001${JSON.stringify(options ?? null)}`
  return (route: unknown): Validator => {
    const { schema, httpPart } = route as { schema?: unknown, httpPart?: string }
    let compiled: Validator | undefined
    const get = (): Validator => {
      if (compiled === undefined) {
        // The same schema (a shared params object, the same query) validates the same way on
        // every route: one compiled validator for it.
        const key = `${prefix}\u0001${httpPart ?? ''}\u0001${JSON.stringify(schema)}`
        compiled = validators.get(key)
        if (compiled === undefined) validators.set(key, compiled = compileFor(route, httpPart))
      }
      return compiled
    }
    const lazy = ((data: unknown, context?: unknown) => get()(data, context)) as Validator
    Object.defineProperty(lazy, 'errors', { get: () => get().errors })
    Object.defineProperty(lazy, 'schemaEnv', { get: () => get().schemaEnv })
    return lazy
  }
}

export const compilersFactory = {
  buildValidator: buildValidator as unknown as ReturnType<typeof AjvCompiler>,
  buildSerializer
}

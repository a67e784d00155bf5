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

// Fastify asks for a compiler in every encapsulation context; creating it (an Ajv instance with
// all shared schemas) also waits until a request needs a validator. Like serializers, compiled
// validators are kept per process, keyed by the route and the part of the request.
// Query strings, path parameters and headers are text, so their validators coerce ("5" is a
// number where the schema says so, one value is an array of one). A JSON body has types of its
// own: there, 5 where a string belongs is an error, not "5".
function withoutCoercion (options: unknown): unknown {
  const given = (options ?? {}) as { customOptions?: Record<string, unknown> }
  return { ...given, customOptions: { ...given.customOptions, coerceTypes: false } }
}

function buildValidator (externalSchemas: unknown, options: unknown) {
  let compileText: ((route: unknown) => Validator) | undefined
  let compileBody: ((route: unknown) => Validator) | undefined
  const compiler = (httpPart: string | undefined) => httpPart === 'body'
    ? (compileBody ??= buildAjvValidator(externalSchemas as never, withoutCoercion(options) as never) as (route: unknown) => Validator)
    : (compileText ??= buildAjvValidator(externalSchemas as never, options as never) as (route: unknown) => Validator)
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
        if (compiled === undefined) validators.set(key, compiled = compiler(httpPart)(route))
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

import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

// Fastify's own validator (Ajv) and serializer (fast-json-stringify) compilers, kept per process:
// compiling every route schema costs a few hundred milliseconds, and the tests build many app
// instances with identical schemas. A running server builds one app, so nothing changes there.
// Every route's schemas are module constants, so a compiled serializer is keyed by the route
// (method, URL, status, media type) and the set of shared schema $ids; fastify hands the compiler
// fresh copies of the schema objects, so identity cannot serve as the key.

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
    const key = `${prefix}\u0001${route.method} ${route.url} ${route.httpStatus} ${route.contentType ?? ''}`
    let serializer = serializers.get(key)
    if (serializer === undefined) {
      // Compiled on first use: most error statuses of most routes are never sent, and start-up
      // should not pay for them.
      let compiled: Serializer | undefined
      serializer = (doc: unknown) => (compiled ??= compile(route as never) as Serializer)(doc)
      serializers.set(key, serializer)
    }
    return serializer
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
function buildValidator (externalSchemas: unknown, options: unknown) {
  let compile: ((route: unknown) => Validator) | undefined
  const compiler = () => (compile ??= buildAjvValidator(externalSchemas as never, options as never) as (route: unknown) => Validator)
  const prefix = `${externalsKey(externalSchemas)}\u0001${JSON.stringify(options ?? null)}`
  return (route: unknown): Validator => {
    const { method, url, httpPart } = route as { method?: string, url?: string, httpPart?: string }
    const key = `${prefix}\u0001${method ?? ''} ${url ?? ''} ${httpPart ?? ''}`
    const get = (): Validator => {
      let compiled = validators.get(key)
      if (compiled === undefined) validators.set(key, compiled = compiler()(route))
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

import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

// Fastify's own validator (Ajv) and serializer (fast-json-stringify) compilers, kept per process:
// compiling every route schema costs a few hundred milliseconds, and the tests build many app
// instances with identical schemas. A running server builds one app, so nothing changes there.

type RouteDefinition = { httpStatus: string, contentType?: string, schema?: unknown }
type Serializer = (doc: unknown) => string

const buildFastJsonStringify = SerializerSelector()
const serializers = new Map<string, Serializer>()

function buildSerializer (externalSchemas?: unknown, options?: unknown) {
  const compile = buildFastJsonStringify(externalSchemas, options as never)
  const prefix = JSON.stringify([externalSchemas, options])
  return (route: RouteDefinition): Serializer => {
    const key = `${prefix}\u0000${route.httpStatus}\u0000${route.contentType ?? ''}\u0000${JSON.stringify(route.schema)}`
    let serializer = serializers.get(key)
    if (serializer === undefined) {
      serializer = compile(route as never) as Serializer
      serializers.set(key, serializer)
    }
    return serializer
  }
}

export const compilersFactory = {
  buildValidator: AjvCompiler(),
  buildSerializer
}

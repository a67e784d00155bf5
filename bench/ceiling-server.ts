import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

// The ceiling peer: a bare Fastify server that answers precomputed bytes (the exact body and
// caching headers our endpoint returned), so the gap to it is what our routing, validation,
// database and serialisation cost.

export interface CeilingRoute {
  path: string
  status: number
  headers: Record<string, string>
  bodyBase64: string
  // Served by the whole URL (path and query) from one catch-all route, answering If-None-Match
  // with the current ETag by 304 like ours (the soak's mix); otherwise a route of its own.
  byUrl?: boolean
}

const routes = JSON.parse(readFileSync(process.env.CEILING_ROUTES ?? '', 'utf8')) as CeilingRoute[]
const app = Fastify({ logger: false })
const byUrl = new Map<string, { route: CeilingRoute, body: Buffer }>()
for (const route of routes) {
  const body = Buffer.from(route.bodyBase64, 'base64')
  if (route.byUrl === true) {
    byUrl.set(route.path, { route, body })
    continue
  }
  app.get(route.path, (_request, reply) => {
    reply.code(route.status).headers(route.headers)
    return route.status === 304 ? reply.send() : reply.send(body)
  })
}
if (byUrl.size > 0) {
  app.get('/*', (request, reply) => {
    const found = byUrl.get(request.url)
    if (found === undefined) return reply.code(404).send()
    const { route, body } = found
    reply.headers(route.headers)
    if (route.headers.etag !== undefined && request.headers['if-none-match'] === route.headers.etag) return reply.code(304).send()
    return reply.code(route.status).send(body)
  })
}
app.get('/ready', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })

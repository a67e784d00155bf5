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
}

const routes = JSON.parse(readFileSync(process.env.CEILING_ROUTES ?? '', 'utf8')) as CeilingRoute[]
const app = Fastify({ logger: false })
for (const route of routes) {
  const body = Buffer.from(route.bodyBase64, 'base64')
  app.get(route.path, (_request, reply) => {
    reply.code(route.status).headers(route.headers)
    return route.status === 304 ? reply.send() : reply.send(body)
  })
}
app.get('/ready', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })

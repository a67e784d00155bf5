import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import cors from '@fastify/cors'

// Public reads are open to every origin; browsers may read the caching and paging headers.
export default fp(async function corsPolicy (app: FastifyInstance) {
  await app.register(cors, {
    origin: '*',
    methods: ['GET', 'HEAD', 'OPTIONS'],
    exposedHeaders: ['ETag', 'Last-Modified', 'Link', 'X-Total-Count'],
    maxAge: 86400
  })
}, { name: 'cors' })

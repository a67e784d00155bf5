import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createRepositories, type Repositories } from '../repositories/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    repos: Repositories
  }
}

export default fp(async function repositories (app: FastifyInstance) {
  app.decorate('repos', createRepositories(app.db))
}, { name: 'repositories', dependencies: ['database'] })

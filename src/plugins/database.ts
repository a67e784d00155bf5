import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { seedIfEmpty } from '../../seed/seed.ts'
import { migrateDatabase, openDatabase, type Db } from '../db/client.ts'
import { assertWritableLocation } from '../lib/sqlite-errors.ts'
import { ensureSearchIndex } from '../repositories/search-index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
  }
}

const START_UP_BUSY_TIMEOUT_MS = 30_000

export interface DatabaseOptions {
  path: string | Buffer
  seed: boolean
  synchronous?: 'normal' | 'full'
}

// Opens the embedded SQLite file, applies pending migrations and seeds an empty database, so the
// first start of a fresh clone serves the real directory. A database in a read-only place stops
// the start with one line naming the path and the cause (src/server.ts prints it): the service
// has no read-only mode, as every write would fail and migrations could not run.
export default fp(async function database (app: FastifyInstance, options: DatabaseOptions) {
  assertWritableLocation(options.path)
  const db = openDatabase(options.path, { synchronous: options.synchronous ?? 'normal' })
  // Migrations, the first seed and a rebuild of the search index may hold the write lock for
  // seconds on a large database: another process starting on the same file at the same moment
  // waits for them (up to 30 s) instead of failing after the second that requests wait.
  const requestTimeout = db.$client.pragma('busy_timeout', { simple: true }) as number
  db.$client.pragma(`busy_timeout = ${START_UP_BUSY_TIMEOUT_MS}`)
  try {
    migrateDatabase(db)
    if (options.seed) {
      const seeded = seedIfEmpty(db)
      if (seeded) app.log.info({ counts: seeded }, 'seeded empty database')
    }
    ensureSearchIndex(db)
  } finally {
    db.$client.pragma(`busy_timeout = ${requestTimeout}`)
  }
  app.decorate('db', db)
  app.addHook('onClose', async () => {
    db.$client.close()
  })
}, { name: 'database' })

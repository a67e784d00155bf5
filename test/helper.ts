import type { Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.ts'
import { migrateDatabase, openDatabase } from '../src/db/client.ts'
import { seedDatabase } from '../seed/seed.ts'

export interface TestAppOptions {
  // false: an empty, migrated database (for tests that build their own data)
  seed?: boolean
}

let seededImage: Buffer | undefined

// The seeded database is built once per test process and copied for every app.
function seededDatabaseImage (): Buffer {
  if (seededImage === undefined) {
    const db = openDatabase(':memory:')
    migrateDatabase(db)
    seedDatabase(db)
    seededImage = db.$client.serialize()
    db.$client.close()
  }
  return seededImage
}

// Builds the app on a fresh in-memory database, seeded with the real directory by default.
export async function buildTestApp (t: Test, options: TestAppOptions = {}): Promise<FastifyInstance> {
  const seed = options.seed ?? true
  const app = await buildApp({
    config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' },
    seed,
    ...(seed ? { databaseImage: seededDatabaseImage() } : {}),
    logger: false
  })
  t.teardown(() => app.close())
  return app
}

export async function getJson<T = any> (app: FastifyInstance, url: string, options: Omit<InjectOptions, 'url' | 'method'> = {}): Promise<{ res: LightMyRequestResponse, body: T }> {
  const res = await app.inject({ method: 'GET', url, ...options })
  return { res, body: res.json() as T }
}

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

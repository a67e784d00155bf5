import tap, { type Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.ts'
import { dataGeneration, migrateDatabase, openDatabase } from '../src/db/client.ts'
import { seedDatabase } from '../seed/seed.ts'
import { seedId } from '../src/lib/uuid.ts'
import { reindexFacilities } from '../src/repositories/search-index.ts'

export interface TestAppOptions {
  // false: an empty, migrated database (for tests that build their own data)
  seed?: boolean
  // Requests per minute per client; off (0) unless a test is about the limit.
  rateLimitMax?: number
  corsWriteOrigins?: string
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
  const app = await newTestApp(options)
  t.teardown(() => app.close())
  return app
}

async function newTestApp (options: TestAppOptions = {}): Promise<FastifyInstance> {
  const seed = options.seed ?? true
  return await buildApp({
    config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: options.rateLimitMax ?? 0, CORS_WRITE_ORIGINS: options.corsWriteOrigins ?? '' },
    seed,
    ...(seed ? { databaseImage: seededDatabaseImage() } : {}),
    logger: false
  })
}

interface SharedApp { app: Promise<FastifyInstance>, generation?: number, lastTest?: string }
let shared: SharedApp | undefined

async function sharedApp (): Promise<SharedApp> {
  if (shared === undefined) {
    const app = newTestApp()
    const entry: SharedApp = { app }
    shared = entry
    tap.teardown(async () => {
      const last = await app
      try {
        if (entry.generation !== undefined && dataGeneration(last.db.$client) !== entry.generation) {
          throw new Error(`the shared read-only app was written to by "${entry.lastTest ?? '?'}": give that test its own app (buildTestApp)`)
        }
      } finally {
        await last.close()
      }
    })
  }
  const entry = shared
  entry.generation ??= dataGeneration((await entry.app).db.$client)
  return entry
}

// One app on the seeded database, shared by the tests of a process that only read (building an
// app costs ~50 ms; the read suites would build almost 200). It must stay as seeded: when a test
// finds it changed, it fails naming the test that had it before (that one writes and needs its
// own app: buildTestApp) and gets a new one. The last holder is checked when the process ends.
export async function readOnlyApp (t: Test): Promise<FastifyInstance> {
  const entry = await sharedApp()
  const app = await entry.app
  if (dataGeneration(app.db.$client) !== entry.generation) {
    t.fail(`the shared read-only app was written to by "${entry.lastTest ?? '?'}": give that test its own app (buildTestApp)`)
    // Reported once: the check at exit skips this entry.
    entry.generation = undefined
    shared = undefined
    return await readOnlyApp(t)
  }
  entry.lastTest = t.fullname
  return app
}

export async function getJson<T = any> (app: FastifyInstance, url: string, options: Omit<InjectOptions, 'url' | 'method'> = {}): Promise<{ res: LightMyRequestResponse, body: T }> {
  const res = await app.inject({ method: 'GET', url, ...options })
  return { res, body: res.json() as T }
}

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

export interface TestFacility {
  slug: string
  name: string
  lat?: number | null
  lon?: number | null
  openingHours?: string | null
  ortsteil?: string | null
  description?: string | null
  updatedAt?: string
}

// Inserts a clearly synthetic facility (never part of the real seed) and indexes it for search.
export function insertTestFacility (app: FastifyInstance, facility: TestFacility): string {
  const id = seedId('test-facility', facility.slug)
  const now = facility.updatedAt ?? new Date().toISOString()
  app.db.$client.prepare(`insert into facilities (id, slug, name, alternate_names, city, ortsteil, lat, lon, opening_hours, description,
    partnership_status, partnership_evidence, status, notes, sources, created_at, updated_at)
    values (?, ?, ?, '[]', 'Berlin', ?, ?, ?, ?, ?, 'unknown', 'Testdatensatz', 'active', '[]', '[]', ?, ?)`)
    .run(id, facility.slug, facility.name, facility.ortsteil ?? null, facility.lat ?? null, facility.lon ?? null,
      facility.openingHours ?? null, facility.description ?? null, now, now)
  app.db.$client.prepare("insert into facility_types (facility_id, type) values (?, 'nachbarschaftstreff')").run(id)
  reindexFacilities(app.db, [id])
  return id
}

export function softDeleteFacility (app: FastifyInstance, id: string, at = new Date().toISOString()): void {
  app.db.$client.prepare('update facilities set deleted_at = ?, updated_at = ? where id = ?').run(at, at, id)
  reindexFacilities(app.db, [id])
}

// A valid body for POST /v1/services (a clearly synthetic offer).
export const testServiceInput = (facility = 'kreativhaus') => ({
  facility,
  name: 'Testangebot Zaubergarten',
  description: 'Ein Testdatensatz.',
  category: 'begegnung',
  scheduleNote: 'montags 10–12 Uhr',
  feeNote: null,
  asOf: '2025/2026',
  status: 'active',
  targetGroups: [{ targetGroup: 'senioren', originalWording: 'Ältere Menschen' }, { targetGroup: 'familien', originalWording: 'Familien' }],
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }]
})

// Creates an API key with these scopes directly in the app's database; returns the secret.
export function createKey (app: FastifyInstance, scopes: string[], name = `test ${scopes.join(' ')}`): { key: string, id: string } {
  const { key, info } = app.repos.apiKeys.create(name, scopes)
  return { key, id: info.id }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

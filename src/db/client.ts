import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { projectPath } from '../lib/paths.ts'
import * as schema from './schema.ts'

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database }

export const MIGRATIONS_FOLDER = projectPath('migrations')

// A path opens (or creates) that file; a Buffer from `serialize()` opens an in-memory copy.
// WAL lets readers continue while a write commits. With synchronous NORMAL (the default) a commit
// is in the WAL file before the answer, so it survives a crash of the process (kill -9), but the
// WAL is synced to the disk only at checkpoints: a power loss or a crash of the system can lose
// the last commits before it, never corrupting the file. FULL syncs the WAL at every commit
// (DATABASE_SYNCHRONOUS=full): durable against those too, each write a disk sync slower.
export function openDatabase (path: string | Buffer, options: { synchronous?: 'normal' | 'full' } = {}): Db {
  if (typeof path === 'string' && path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true })
  const sqlite = new Database(path)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  sqlite.pragma('foreign_keys = ON')
  // Another process (npm run backup, apikey, db:seed) holds the write lock only briefly; a
  // blocked write waits at most a second (better-sqlite3 is synchronous: the server waits with
  // it), then answers 503 storage-busy.
  sqlite.pragma('busy_timeout = 1000')
  // 32 MB of page cache (the default is 2 MB): indexes of a directory with 100,000 facilities
  // stay in memory; sorts of larger result sets stay off the disk.
  sqlite.pragma('cache_size = -32000')
  sqlite.pragma('temp_store = MEMORY')
  sqlite.function('distance_m', { deterministic: true }, distanceMetres)
  countWrites(sqlite)
  const db = drizzle(sqlite, { schema })
  reuseDrizzleStatements(db, sqlite)
  return db
}

const DRIZZLE_STATEMENTS = 1000

// Drizzle builds a query's SQL on every call and prepares it again (SQLite compiles it anew, a
// large share of a small read's time). The same text gets the statement prepared before; drizzle
// only runs statements (never iterates them), setting raw mode itself where it needs it. Its
// session uses nothing of the client but prepare and transaction.
function reuseDrizzleStatements (db: BetterSQLite3Database<typeof schema>, sqlite: Database.Database): void {
  const statements = new Map<string, Database.Statement>()
  const session = (db as unknown as { session: { client: Pick<Database.Database, 'prepare' | 'transaction'> } }).session
  session.client = {
    prepare: ((source: string) => {
      let statement = statements.get(source)
      if (statement === undefined) {
        statement = sqlite.prepare(source)
        if (statements.size >= DRIZZLE_STATEMENTS) statements.delete(statements.keys().next().value!)
        statements.set(source, statement)
      } else if (statement.reader) {
        statement.raw(false)
      }
      return statement
    }) as Database.Database['prepare'],
    transaction: sqlite.transaction.bind(sqlite)
  }
}

interface WriteCounter {
  // Statements that changed something.
  n: number
  // Of those, the ones outside the repositories' writes (tracked) that may change what answers
  // show: plain SQL, a seed run in this process, a search-index rebuild.
  untracked: number
  // Depth of the repositories' writes running now (trackedWrite).
  tracking: number
}

const writeCounts = new WeakMap<Database.Database, WriteCounter>()

// Tables whose rows no answer shows: bookkeeping of keys, retries and the writes' actor. Writes
// to them outside the repositories' writes (a key's last use, an Idempotency-Key's answer) are
// not untracked writes.
const BOOKKEEPING_TABLES = new Set(['api_keys', 'idempotency_keys', 'write_context'])
const WRITTEN_TABLE = /^\s*(?:insert|replace|update|delete)\b(?:\s+or\s+\w+)?\s+(?:into\s+|from\s+)?[`"[]?(\w+)/i

// Counts the statements that changed something on this connection, so that the response cache
// can tell in memory, without a query per request, whether the data may have changed. Every
// statement (drizzle's and raw SQL) is prepared through `prepare`; `exec` runs scripts.
function countWrites (sqlite: Database.Database): void {
  const counter: WriteCounter = { n: 0, untracked: 0, tracking: 0 }
  writeCounts.set(sqlite, counter)
  const prepare = sqlite.prepare.bind(sqlite)
  sqlite.prepare = ((source: string) => {
    const statement = prepare(source)
    if (statement.reader && !/\breturning\b/i.test(source)) return statement
    const table = WRITTEN_TABLE.exec(source)?.[1]?.toLowerCase()
    const bookkeeping = table !== undefined && BOOKKEEPING_TABLES.has(table)
    const count = () => countWrite(counter, bookkeeping)
    const { run, get, all } = statement
    statement.run = function (this: typeof statement, ...params: unknown[]) {
      const result = run.apply(this, params)
      if (result.changes > 0) count()
      return result
    } as typeof statement.run
    // INSERT/UPDATE/DELETE … RETURNING is read with get/all.
    statement.get = function (this: typeof statement, ...params: unknown[]) {
      try { return get.apply(this, params) } finally { count() }
    } as typeof statement.get
    statement.all = function (this: typeof statement, ...params: unknown[]) {
      try { return all.apply(this, params) } finally { count() }
    } as typeof statement.all
    return statement
  }) as typeof sqlite.prepare
  const exec = sqlite.exec.bind(sqlite)
  sqlite.exec = ((source: string) => {
    try { return exec(source) } finally { countWrite(counter, false) }
  }) as typeof sqlite.exec
}

function countWrite (counter: WriteCounter, bookkeeping: boolean): void {
  counter.n++
  if (counter.tracking === 0 && !bookkeeping) counter.untracked++
}

// Runs one of the repositories' writes: each changes records through their tables, whose change
// triggers say which (link tables are written with their record, which has a change of its own).
export function trackedWrite<T> (sqlite: Database.Database, fn: () => T): T {
  const counter = writeCounts.get(sqlite)
  if (counter === undefined) return fn()
  counter.tracking++
  try {
    return fn()
  } finally {
    counter.tracking--
  }
}

// Grows with every write the change feed cannot account for, so that the response cache keeps
// nothing from before it (ChangeLog in plugins/http-cache.ts): a write on this connection that is
// not one of the repositories' writes (and not bookkeeping: SQL to a link table has no change row,
// SQL may move and delete a service at once), or a commit of another process (a seed run may
// rewrite any record), noticed as in dataGeneration.
export function untrackedWrites (sqlite: Database.Database): number {
  const of = generationOf(sqlite)
  of.generation()
  return (writeCounts.get(sqlite)?.untracked ?? 0) + of.external()
}

const EXTERNAL_CHECK_MS = 250
const generations = new WeakMap<Database.Database, { generation: () => number, external: () => number }>()

// A number that grows whenever the data may have changed, known without a query: the count of
// changing statements on this connection (every API write, at once) plus the times SQLite's
// data_version moved, which happens when another process (`npm run db:seed`) commits; that one
// is read at most every 250 ms. The response cache and list totals key on it; the HSDS directory
// on app.dataVersion().key (plugins/http-cache.ts), which untrackedWrites moves.
export function dataGeneration (sqlite: Database.Database): number {
  return generationOf(sqlite).generation()
}

function generationOf (sqlite: Database.Database): { generation: () => number, external: () => number } {
  let of = generations.get(sqlite)
  if (of === undefined) {
    const externalVersion = sqlite.prepare('pragma data_version').pluck()
    let external = { value: externalVersion.get() as number, bumps: 0, checkedAt: Date.now() }
    of = {
      generation: () => {
        const now = Date.now()
        if (now - external.checkedAt >= EXTERNAL_CHECK_MS) {
          const value = externalVersion.get() as number
          external = { value, bumps: external.bumps + (value === external.value ? 0 : 1), checkedAt: now }
        }
        return (writeCounts.get(sqlite)?.n ?? 0) + external.bumps
      },
      external: () => external.bumps
    }
    generations.set(sqlite, of)
  }
  return of
}

// drizzle-kit's migrations, applied as drizzle's migrator does (the same journal table, hashes and
// order), but what is applied already is read under the write lock: drizzle reads it before its
// BEGIN, so a second process starting at the same moment waited for the first and then ran the
// same migrations again ('table already exists', or a data migration twice).
export function migrateDatabase (db: Db, migrationsFolder = MIGRATIONS_FOLDER): void {
  const sqlite = db.$client
  const migrations = readMigrationFiles({ migrationsFolder })
  sqlite.exec('CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)')
  sqlite.transaction(() => {
    const last = sqlite.prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1').pluck().get() as number | string | undefined
    for (const migration of migrations) {
      if (last !== undefined && Number(last) >= migration.folderMillis) continue
      for (const statement of migration.sql) sqlite.exec(statement)
      sqlite.prepare('INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)').run(migration.hash, migration.folderMillis)
    }
  }).immediate()
}

const EARTH_RADIUS_M = 6_371_008.8

// Great-circle (haversine) distance in metres; registered as the SQL function distance_m.
export function distanceMetres (lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown): number | null {
  if (typeof lat1 !== 'number' || typeof lon1 !== 'number' || typeof lat2 !== 'number' || typeof lon2 !== 'number') return null
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)))
}

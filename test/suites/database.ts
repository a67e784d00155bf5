import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { migrateDatabase, openDatabase } from '../../src/db/client.ts'
import { seedDatabase } from '../../seed/seed.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { PROJECT_ROOT } from '../../src/lib/paths.ts'

const TABLES = [
  'agreement_parties', 'agreements', 'categories', 'contacts', 'event_participants', 'events', 'facilities',
  'facility_target_groups', 'facility_types', 'organisation_sites', 'organisation_units', 'organisations',
  'service_target_groups', 'services', 'target_groups'
]
const OTHER_TABLES = ['api_keys', 'changes', 'contact_hidden_periods', 'contacts_ever_public', 'facility_contact_removals', 'facility_search', 'history', 'idempotency_keys', 'service_search', 'write_context']

function tempDbPath (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mpd-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'nested', 'directory.db')
}

t.test('migrating an empty database file creates every table', async (t) => {
  const db = openDatabase(tempDbPath(t))
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  const names = db.$client.prepare("select name from sqlite_master where type = 'table' and name not like '\\_\\_%' escape '\\' and name not like 'sqlite_%' order by name").pluck().all()
  for (const table of [...TABLES, ...OTHER_TABLES]) t.ok(names.includes(table), `table ${table} exists`)
  const triggers = db.$client.prepare("select count(*) from sqlite_master where type = 'trigger'").pluck().get()
  t.equal(triggers, 37, 'insert, update and delete triggers on the 11 entity tables write the change feed (those of contacts also keep contact_hidden_periods and hidden_at); 4 keep contacts_ever_public and facility_contact_removals')
  t.equal(db.$client.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.$client.pragma('foreign_keys', { simple: true }), 1)
  t.equal(db.$client.pragma('busy_timeout', { simple: true }), 1000)
  const schemaOf = () => db.$client.prepare('select type, name, sql from sqlite_master order by type, name').all()
  const migrationsOf = () => db.$client.prepare('select * from __drizzle_migrations order by id').all()
  const [schema, migrations] = [schemaOf(), migrationsOf()]
  migrateDatabase(db)
  t.same(schemaOf(), schema, 'migrating twice changes no table, index or trigger')
  t.same(migrationsOf(), migrations, 'and records no migration again')
})

t.test('foreign keys are enforced', async (t) => {
  const db = openDatabase(':memory:')
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  t.throws(() => db.$client.prepare(
    "insert into services (id, facility_id, name, category_id, status, sources, created_at, updated_at) values ('s', 'no-such-facility', 'x', 'no-such-category', 'active', '[]', 'now', 'now')"
  ).run(), /FOREIGN KEY constraint failed/)
})

t.test('seeding is idempotent: the second run changes nothing', async (t) => {
  const db = openDatabase(':memory:')
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  const first = seedDatabase(db, undefined, '2026-01-01T00:00:00.000Z')
  t.ok(first.inserted > 50, `first run inserts the directory (${first.inserted})`)
  t.equal(first.updated, 0)
  const snapshot = () => TABLES.map((table) => db.$client.prepare(`select * from ${table} order by 1, 2`).all())
  const before = JSON.stringify(snapshot())
  const second = seedDatabase(db, undefined, '2026-06-01T00:00:00.000Z')
  t.same(second, { inserted: 0, updated: 0, unchanged: first.inserted }, 'nothing inserted or updated')
  t.equal(JSON.stringify(snapshot()), before, 'not a byte of the database changed, updatedAt included')
})

t.test('seeded ids are deterministic across databases', async (t) => {
  const ids = () => {
    const db = openDatabase(':memory:')
    migrateDatabase(db)
    seedDatabase(db)
    const rows = db.$client.prepare('select id, slug from facilities order by slug').all()
    db.$client.close()
    return rows
  }
  const a = ids()
  t.ok(a.length >= 14)
  t.same(ids(), a)
})

t.test('a changed seed fact updates only that record and its updatedAt', async (t) => {
  const { loadSeedData } = await import('../../seed/seed.ts')
  const db = openDatabase(':memory:')
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  const data = loadSeedData()
  seedDatabase(db, data, '2026-01-01T00:00:00.000Z')
  const facility = data.facilities.find((f) => f.slug === 'kreativhaus')!
  facility.notes = [...facility.notes, 'Testnotiz']
  const counts = seedDatabase(db, data, '2026-02-01T00:00:00.000Z')
  t.equal(counts.updated, 1)
  t.equal(counts.inserted, 0)
  const row = db.$client.prepare("select notes, created_at, updated_at from facilities where slug = 'kreativhaus'").get() as Record<string, string>
  t.ok(JSON.parse(row.notes!).includes('Testnotiz'))
  t.equal(row.created_at, '2026-01-01T00:00:00.000Z')
  t.equal(row.updated_at, '2026-02-01T00:00:00.000Z')
})

t.test('a withdrawn seed record is deleted from databases seeded before, with a delete in the change feed', async (t) => {
  const { loadSeedData, WITHDRAWN_SERVICES } = await import('../../seed/seed.ts')
  t.same(WITHDRAWN_SERVICES, ['villa-luetzow/beratung-bildung-begegnung'])
  const db = openDatabase(':memory:')
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  // The seed as it was: Villa Lützow's motto as an offer.
  const earlier = loadSeedData()
  const villa = earlier.facilities.find((f) => f.slug === 'villa-luetzow')!
  villa.services.push({ ...villa.services[0]!, key: 'beratung-bildung-begegnung', name: 'Beratung, Bildung, Begegnung', targetGroups: [] })
  seedDatabase(db, earlier, '2026-01-01T00:00:00.000Z', [])
  const id = seedId('service', 'villa-luetzow/beratung-bildung-begegnung')
  const row = () => db.$client.prepare('select deleted_at AS deletedAt, updated_at AS updatedAt from services where id = ?').get(id) as { deletedAt: string | null, updatedAt: string }
  t.equal(row().deletedAt, null, 'seeded by the earlier seed')
  const counts = seedDatabase(db, undefined, '2026-02-01T00:00:00.000Z')
  t.equal(counts.inserted, 0)
  t.same(row(), { deletedAt: '2026-02-01T00:00:00.000Z', updatedAt: '2026-02-01T00:00:00.000Z' }, 'deleted by the current seed')
  const last = db.$client.prepare("select action from changes where entity_type = 'service' and entity_id = ? order by seq desc limit 1").pluck().get(id)
  t.equal(last, 'delete', 'copies learn of it from the change feed')
  t.same(seedDatabase(db, undefined, '2026-03-01T00:00:00.000Z').updated, 0, 'a second run changes nothing')
  t.equal(row().deletedAt, '2026-02-01T00:00:00.000Z')
})

t.test('start-up rebuilds a search index that does not hold every live facility (counted in FTS5 docsize)', async (t) => {
  const { buildApp } = await import('../../src/app.ts')
  const path = tempDbPath(t)
  const db = openDatabase(path)
  migrateDatabase(db)
  seedDatabase(db)
  const live = db.$client.prepare('select count(*) from facilities where deleted_at is null').pluck().get() as number
  t.equal(db.$client.prepare('select count(*) from facility_search_docsize').pluck().get(), live, 'one docsize row per indexed facility')
  // An index emptied behind the API's back.
  db.$client.prepare('delete from facility_search').run()
  t.equal(db.$client.prepare('select count(*) from facility_search_docsize').pluck().get(), 0)
  db.$client.close()
  const app = await buildApp({ config: { DATABASE_PATH: path, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0 }, logger: false })
  t.teardown(() => app.close())
  t.equal(app.db.$client.prepare('select count(*) from facility_search').pluck().get(), live, 'every live facility indexed again')
  const found = (await app.inject('/v1/facilities?q=kreativhaus')).json()
  t.ok(found.items.some((f: { slug: string }) => f.slug === 'kreativhaus'), 'search finds it')
})

// Another process (a second instance starting at the same moment, a backup) holds the write lock
// while this one starts and must rebuild its search index: the start waits instead of failing
// after the one second that requests wait.
t.test('start-up waits for another process\'s write lock (longer than a request would) before it rebuilds the search index', async (t) => {
  const { spawn } = await import('node:child_process')
  const { buildApp } = await import('../../src/app.ts')
  const path = tempDbPath(t)
  const db = openDatabase(path)
  migrateDatabase(db)
  seedDatabase(db)
  db.$client.prepare('delete from facility_search').run()
  db.$client.close()
  // A process that holds the write lock for 1.5 s.
  const holder = spawn(process.execPath, ['-e', `
    const Database = require('better-sqlite3')
    const db = new Database(process.argv[1])
    db.exec('BEGIN IMMEDIATE')
    console.log('locked')
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500)
    db.exec('COMMIT')
    db.close()`, path], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } })
  t.teardown(() => { holder.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('locked')) resolve() })
    holder.once('exit', (code) => reject(new Error(`the lock holder exited (${String(code)}) before it held the lock`)))
  })
  const app = await buildApp({ config: { DATABASE_PATH: path, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0 }, logger: false })
  t.teardown(() => app.close())
  // (Had the start given up after the requests' one second, buildApp would have thrown.)
  t.equal(holder.exitCode ?? (await new Promise((resolve) => holder.once('exit', resolve))), 0, 'the other process committed and ended')
  t.ok((app.db.$client.prepare('select count(*) from facility_search').pluck().get() as number) > 0, 'the index was built')
  t.equal(app.db.$client.pragma('busy_timeout', { simple: true }), 1000, 'requests wait one second again')
})

// Two processes starting on a database with a migration pending: the second must find it applied
// by the first, not apply it again (drizzle's migrator read what was applied before taking the
// lock: a second run of a data migration, or 'table already exists').
t.test('a migration that another process applies meanwhile is not applied again', async (t) => {
  const { spawn } = await import('node:child_process')
  const { readFileSync } = await import('node:fs')
  const { MIGRATIONS_FOLDER } = await import('../../src/db/client.ts')
  const path = tempDbPath(t)
  const db = openDatabase(path)
  migrateDatabase(db)
  // The newest migration pending again.
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: { when: number }[] }
  const newest = journal.entries.at(-1)!.when
  const appliedNewest = () => db.$client.prepare('select count(*) from __drizzle_migrations where created_at = ?').pluck().get(newest)
  db.$client.prepare('delete from __drizzle_migrations where created_at = ?').run(newest)
  // Another process takes the write lock, applies the pending migration 1 s later and commits.
  const other = spawn(process.execPath, ['--import', 'tsx', '-e', `
    (async () => {
      const client = await import(process.argv[2])
      const db = client.openDatabase(process.argv[1])
      db.$client.exec('BEGIN IMMEDIATE')
      console.log('locked')
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)
      client.migrateDatabase(db)
      db.$client.exec('COMMIT')
      db.$client.close()
    })()`, path, join(PROJECT_ROOT, 'src/db/client.ts')], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } })
  t.teardown(() => { other.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    other.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('locked')) resolve() })
    other.once('exit', (code) => reject(new Error(`the other process exited (${String(code)}) before it held the lock`)))
  })
  db.$client.pragma('busy_timeout = 20000')
  migrateDatabase(db)
  t.equal(appliedNewest(), 1, 'applied once, by the other process')
  t.same(db.$client.prepare('pragma integrity_check').pluck().all(), ['ok'])
  db.$client.close()
})

t.test('db:seed setting a vocabulary label back gives the facilities and services that show it a change (feed entries)', async (t) => {
  const db = openDatabase(':memory:')
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  seedDatabase(db, undefined, '2026-01-01T00:00:00.000Z')
  const sqlite = db.$client
  const group = seedId('target-group', 'senioren')
  const category = seedId('category', 'kultur')
  // As an API rename left them (its own feed entries aside).
  sqlite.prepare("UPDATE target_groups SET label_de = 'Ältere' WHERE id = ?").run(group)
  sqlite.prepare("UPDATE categories SET label_en = 'Culture (renamed)' WHERE id = ?").run(category)
  const before = sqlite.prepare('SELECT max(seq) FROM changes').pluck().get() as number
  seedDatabase(db, undefined, '2026-02-01T00:00:00.000Z')
  const feed = sqlite.prepare('SELECT entity_type AS type, entity_id AS id FROM changes WHERE seq > ?').all(before) as { type: string, id: string }[]
  const ids = (type: string) => [...new Set(feed.filter((c) => c.type === type).map((c) => c.id))].sort()
  const showingGroup = {
    facility: sqlite.prepare(`SELECT facility_id FROM facility_target_groups WHERE target_group_id = @group
      UNION SELECT s.facility_id FROM service_target_groups l JOIN services s ON s.id = l.service_id WHERE l.target_group_id = @group AND s.deleted_at IS NULL`).pluck().all({ group }) as string[],
    service: sqlite.prepare('SELECT service_id FROM service_target_groups WHERE target_group_id = ?').pluck().all(group) as string[]
  }
  const showingCategory = {
    facility: sqlite.prepare('SELECT DISTINCT facility_id FROM services WHERE category_id = ? AND deleted_at IS NULL').pluck().all(category) as string[],
    service: sqlite.prepare('SELECT id FROM services WHERE category_id = ? AND deleted_at IS NULL').pluck().all(category) as string[]
  }
  t.same(ids('target_group'), [group])
  t.same(ids('category'), [category])
  t.same(ids('facility'), [...new Set([...showingGroup.facility, ...showingCategory.facility])].sort(), 'each facility that shows either')
  t.same(ids('service'), [...new Set([...showingGroup.service, ...showingCategory.service])].sort(), 'each service that shows either')
  t.ok(ids('service').length > 0)
  const after = sqlite.prepare('SELECT max(seq) FROM changes').pluck().get() as number
  const again = seedDatabase(db, undefined, '2026-03-01T00:00:00.000Z')
  t.same([again.inserted, again.updated], [0, 0], 'a further run changes nothing')
  t.equal(sqlite.prepare('SELECT max(seq) FROM changes').pluck().get(), after, 'and writes no feed entry')
})
